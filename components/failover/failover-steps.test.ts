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

  it("a failback as run-failback.ts logs it: powered off, blocks shipped, powered on at production", () => {
    const log = [
      line("web_replica powered off at the DR site: everything it wrote is failed back."),
      line("12 block(s) shipped (changes only); the failed-back VM is keyed with k-1 of kp-prod."),
      line("The failed-back VM (vm-7) powered on at the production site. Commit the failback to make it production for good, or undo it."),
    ];
    expect(failbackAll("failback", log, "success")).toEqual(["done", "done", "done"]);
    expect(failbackAll("failback", log.slice(1, 2), "failed")).toEqual(["skipped", "done", "failed"]);
  });

  it("an undone failback of the original: the power-off is done, the power-on not needed when the replica was on", () => {
    const log = [line("The failed-back VM vm-7 powered off at the production site."), line("web_replica is failed over again; fail it back again when production is ready.")];
    expect(failbackAll("undo-failback", log, "success")).toEqual(["done", "skipped", "done"]);
  });

  it("a committed failback", () => {
    expect(failbackAll("commit-failback", [line("web is production again; web_replica is Ready.")], "success")).toEqual(["done"]);
  });
});

const failbackAll = (a: string, log: ReturnType<typeof line>[], state: string) => failoverSteps(a, log, state).map((s) => s.state);
