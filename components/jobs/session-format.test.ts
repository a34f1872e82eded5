import { describe, expect, it } from "vitest";
import { describeVms, describeWait, kindName } from "./session-format";
import { sessionFilterErrors, sessionSearch, sessionViewFrom } from "./session-search";

const counts = (c: Partial<Record<"pending" | "running" | "success" | "warning" | "failed" | "skipped", number>>) => {
  const v = { pending: 0, running: 0, success: 0, warning: 0, failed: 0, skipped: 0, ...c };
  return { ...v, total: Object.values(v).reduce((a, b) => a + b, 0) };
};

describe("session words", () => {
  it("says how far a session's VMs are, in words", () => {
    expect(describeVms(counts({}))).toBe("");
    expect(describeVms(counts({ success: 1 }))).toBe("1 of 1 VM done");
    expect(describeVms(counts({ pending: 3 }))).toBe("0 of 3 VMs done");
    expect(describeVms(counts({ success: 1, running: 2, pending: 1, failed: 1 }))).toBe("2 of 5 VMs done · 2 running · 1 waiting · 1 failed");
  });
  it("names kinds, known or new", () => {
    expect(kindName("verify")).toBe("Repository verify");
    expect(kindName("failback")).toBe("Failback");
    expect(kindName("tape-copy")).toBe("Tape copy");
  });
  it("says how long a session waited for a worker", () => {
    expect(describeWait("2026-03-01T10:00:00Z", 2500, null)).toBe("waited 2.5 s for a worker");
    expect(describeWait("2026-03-01T10:00:00Z", null, Date.parse("2026-03-01T10:01:05Z"))).toBe("waiting for a worker for 1 min 05 s");
  });
});

describe("the Sessions page's address", () => {
  it("round-trips the filters and the page cursor, leaving out what is blank", () => {
    const v = sessionViewFrom({ kind: "backup", state: "done", q: "nightly web", before: "1760000000000.abc", junk: "x" });
    expect(sessionSearch(v)).toBe("kind=backup&state=done&q=nightly+web&before=1760000000000.abc");
    expect(sessionSearch(sessionViewFrom({}))).toBe("");
  });
  it("says what is wrong with a filter, by field", () => {
    expect(sessionFilterErrors(sessionViewFrom({ state: "exploded" }))).toHaveProperty("state");
    expect(sessionFilterErrors(sessionViewFrom({ from: "2026-03-02", to: "2026-03-01" }))).toEqual({ to: "To is before From: pick a To at or after From" });
    expect(sessionFilterErrors(sessionViewFrom({ from: "2026-03-01T10:15", kind: "verify" }))).toEqual({});
  });
});
