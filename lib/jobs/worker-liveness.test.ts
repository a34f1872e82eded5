import { describe, expect, it } from "vitest";
import { WORKER_DEAD_AFTER_MS, WORKER_HEARTBEAT_MS, workerIsAlive } from "./worker-liveness";

describe("workerIsAlive", () => {
  const now = Date.parse("2026-03-01T10:00:00Z");
  it("is alive within three heartbeats and dead after", () => {
    expect(WORKER_HEARTBEAT_MS).toBe(5000);
    expect(WORKER_DEAD_AFTER_MS).toBe(15_000);
    expect(workerIsAlive(new Date(now - 1000), now)).toBe(true);
    expect(workerIsAlive(new Date(now - 15_000), now)).toBe(true);
    expect(workerIsAlive(new Date(now - 15_001), now)).toBe(false);
  });
  it("takes dates, ISO strings and milliseconds; a missing or unreadable heartbeat is dead", () => {
    expect(workerIsAlive(new Date(now - 2000).toISOString(), new Date(now))).toBe(true);
    expect(workerIsAlive(now - 60_000, now)).toBe(false);
    expect(workerIsAlive(null, now)).toBe(false);
    expect(workerIsAlive("not a date", now)).toBe(false);
  });
  it("a heartbeat slightly in the future (clock skew between hosts) is alive", () => {
    expect(workerIsAlive(now + 2000, now)).toBe(true);
  });
});
