import { describe, expect, it } from "vitest";
import { checkItems, checkKey, initialForm, stepProblem, type WizardReplica } from "./failover-wizard-form";

const replica = (id: string, state = "Ready", points = 2): WizardReplica => ({
  id,
  replicaVmName: `${id}_replica`,
  sourceVmName: id,
  jobId: "j1",
  jobName: "DR",
  state,
  keyMode: "re-key",
  points: Array.from({ length: points }, (_, i) => ({ id: `${id}-p${i}`, createdAt: `2026-12-0${i + 1}T10:00:00.000Z`, keyIds: ["k1"], keyMode: "re-key" })),
});
const result = (go: boolean, reasons: string[] = []) => ({ replicaId: "a", replicaVmName: "a_replica", sourceVmName: "a", point: null, go, reasons, notes: [] });

describe("failover wizard form", () => {
  it("preselects a Ready replica with its newest point, never one that is not Ready", () => {
    const rs = [replica("a"), replica("b", "Failover")];
    expect(initialForm(rs, "a").replicaIds).toEqual(["a"]);
    expect(initialForm(rs, "a").points.a).toBe("a-p1");
    expect(initialForm(rs, "b").replicaIds).toEqual([]);
    expect(initialForm(rs, null, "planned").kind).toBe("planned");
  });

  it("blocks Next with the reason: no replica, no point, the check not run, a no-go, no reason", () => {
    const rs = [replica("a")];
    const form = initialForm(rs, "a");
    expect(stepProblem(0, { ...form, replicaIds: [] }, rs, null)).toMatch(/Choose at least one Ready replica/);
    expect(stepProblem(1, { ...form, points: { a: "gone" } }, rs, null)).toMatch(/Choose a restore point for a_replica/);
    expect(stepProblem(2, form, rs, null)).toMatch(/running/);
    expect(stepProblem(2, form, rs, { key: "other", results: [result(true)], error: null })).toMatch(/running/);
    expect(stepProblem(2, form, rs, { key: checkKey(form), results: [result(false, ["x"])], error: null })).toMatch(/No-go for a_replica: fix what the check says/);
    expect(stepProblem(2, form, rs, { key: checkKey(form), results: [result(true)], error: null })).toBeUndefined();
    expect(stepProblem(4, form, rs, null)).toMatch(/Say why/);
    expect(stepProblem(4, { ...form, reason: "DR test" }, rs, null)).toBeUndefined();
  });

  it("sorts the check's reasons under what was checked", () => {
    const items = checkItems(result(false, ["The DR site cannot reach key provider DR KMS (timeout): the replica could not be unlocked and would not power on. Repair its KMS connection under Key providers, then check again."]), true);
    expect(items.find((i) => i.label.includes("key provider"))!.state).toBe("failed");
    expect(items.find((i) => i.label.includes("keys of the point"))!.state).toBe("ok");
    expect(checkItems(result(true), false).find((i) => i.label.includes("keys of the point"))!.state).toBe("not-needed");
  });
});
