import { describe, expect, it } from "vitest";
import { allowedFailoverActions, failbackRefusal, failoverRefusal } from "./failover-rules";

describe("failover actions by replica state (FOV-1)", () => {
  it("allows failover only when Ready, undo and permanent only when failed over", () => {
    expect(allowedFailoverActions("Ready")).toEqual(["failover", "planned"]);
    expect(allowedFailoverActions("Failover")).toEqual(["undo", "permanent", "failback"]);
    expect(allowedFailoverActions("PermanentFailover")).toEqual([]);
    expect(allowedFailoverActions("Failback")).toEqual(["commit-failback", "undo-failback"]);
  });
  it("says why, in plain words, for every refused pair", () => {
    expect(failoverRefusal("failover", "Ready", "web_replica")).toBeNull();
    expect(failoverRefusal("undo", "Ready", "web_replica")).toMatch(/not failed over: there is nothing to undo/);
    expect(failoverRefusal("permanent", "Ready", "web_replica")).toMatch(/fail it over first/);
    expect(failoverRefusal("failover", "Failover", "web_replica")).toMatch(/already failed over/);
    expect(failoverRefusal("planned", "Failover", "web_replica")).toMatch(/already failed over/);
    for (const a of ["failover", "planned", "undo", "permanent"] as const) expect(failoverRefusal(a, "PermanentFailover", "web_replica")).toMatch(/production VM by a permanent failover/);
    for (const a of ["failover", "planned", "undo", "permanent"] as const) expect(failoverRefusal(a, "Failback", "web_replica")).toMatch(/failing back/);
  });

  it("failback only from Failover; commit and undo failback only in Failback (FBK-1)", () => {
    expect(failbackRefusal("failback", "Failover", "web_replica")).toBeNull();
    expect(failbackRefusal("commit-failback", "Failback", "web_replica")).toBeNull();
    expect(failbackRefusal("undo-failback", "Failback", "web_replica")).toBeNull();
    expect(failbackRefusal("failback", "Ready", "web_replica")).toMatch(/not failed over .* only a failed-over replica can be failed back/);
    expect(failbackRefusal("failback", "Failback", "web_replica")).toMatch(/already failed back/);
    expect(failbackRefusal("commit-failback", "Failover", "web_replica")).toMatch(/fail it back first, then commit/);
    expect(failbackRefusal("undo-failback", "Ready", "web_replica")).toMatch(/no failback to undo/);
    for (const a of ["failback", "commit-failback", "undo-failback"] as const) expect(failbackRefusal(a, "PermanentFailover", "web_replica")).toMatch(/permanent failover: there is nothing to fail back/);
  });
});
