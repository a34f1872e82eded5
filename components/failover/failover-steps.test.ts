import { describe, expect, it } from "vitest";
import { failoverSteps } from "./failover-steps";

const line = (text: string) => ({ at: "2026-12-04T10:00:00.000Z", level: "info" as const, text });

describe("failover session steps", () => {
  it("a failover that succeeded: every step done, the networks skipped when the VM has no adapter", () => {
    const log = [line("Check: go."), line("Reverted web_replica to its point of 2026-12-04T09:00:00.000Z (s1)."), line("web_replica powered on at the DR site 1.2 s after the action. The source VM is left as it is.")];
    expect(failoverSteps("failover", log, "success").map((s) => s.state)).toEqual(["done", "done", "skipped", "done"]);
  });

  it("a refused check: the first step failed, the rest not run", () => {
    expect(failoverSteps("failover", [line("Check: The DR site cannot reach key provider DR KMS")], "failed").map((s) => s.state)).toEqual(["failed", "pending", "pending", "pending"]);
  });

  it("an undo while it runs: the step after the last done one is running", () => {
    expect(failoverSteps("undo", [line("web_replica powered off.")], "running").map((s) => s.state)).toEqual(["done", "running", "pending"]);
  });
});
