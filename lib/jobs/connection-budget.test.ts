import { describe, expect, it } from "vitest";
import { checkConnectionBudget, headroomOf } from "./connection-budget";

describe("checkConnectionBudget", () => {
  it("fits the defaults — the console and 4 workers at 5 + 4 connections — into PostgreSQL's default 100", () => {
    const v = checkConnectionBudget({ processes: 5, dbPool: 5, queuePool: 4 }, { maxConnections: 100, reserved: 3 });
    expect(v).toMatchObject({ fits: true, planned: 45, headroom: 10, available: 87 });
    expect(v.message).toMatch(/may open 45 of the 87 the server leaves/);
  });

  it("says clearly when the old pools (10 + 6) of 5 processes and a bench process do not fit, and what would", () => {
    const v = checkConnectionBudget({ processes: 6, dbPool: 10, queuePool: 6 }, { maxConnections: 100, reserved: 3 });
    expect(v.fits).toBe(false);
    expect(v.planned).toBe(96);
    expect(v.suggestion).toEqual({ dbPool: 8, queuePool: 6 });
    expect(v.message).toContain("do not fit");
    expect(v.message).toContain("too many clients");
    expect(v.message).toContain("STRONGROOM_DB_POOL_SIZE=8 and STRONGROOM_QUEUE_POOL_SIZE=6");
    // The suggestion fits.
    expect(checkConnectionBudget({ processes: 6, ...v.suggestion! }, { maxConnections: 100, reserved: 3 }).fits).toBe(true);
  });

  it("suggests no pools when even the smallest do not fit, and asks for fewer workers", () => {
    const v = checkConnectionBudget({ processes: 40, dbPool: 2, queuePool: 2 }, { maxConnections: 100, reserved: 3 });
    expect(v.fits).toBe(false);
    expect(v.suggestion).toBeNull();
    expect(v.message).toMatch(/Run fewer worker processes or raise max_connections/);
  });

  it("keeps a tenth of the server's connections free, at least 5", () => {
    expect(headroomOf(20)).toBe(5);
    expect(headroomOf(100)).toBe(10);
    expect(headroomOf(1000)).toBe(100);
    // Exactly at the limit fits; one more does not.
    expect(checkConnectionBudget({ processes: 1, dbPool: 80, queuePool: 7 }, { maxConnections: 100, reserved: 3 }).fits).toBe(true);
    expect(checkConnectionBudget({ processes: 1, dbPool: 81, queuePool: 7 }, { maxConnections: 100, reserved: 3 }).fits).toBe(false);
  });
});
