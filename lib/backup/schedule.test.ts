import { describe, expect, it } from "vitest";
import { describeSchedule, nextRunAfter } from "./schedule";

const at = (s: string) => new Date(s);

describe("nextRunAfter", () => {
  it("manual jobs never run on their own", () => {
    expect(nextRunAfter({ kind: "manual" }, at("2026-11-22T10:00:00"))).toBeNull();
  });
  it("daily: later today when the time is still ahead, else the next allowed day", () => {
    const every = [0, 1, 2, 3, 4, 5, 6];
    expect(nextRunAfter({ kind: "daily", time: "22:00", days: every }, at("2026-11-22T10:00:00"))).toEqual(at("2026-11-22T22:00:00"));
    expect(nextRunAfter({ kind: "daily", time: "22:00", days: every }, at("2026-11-22T22:00:00"))).toEqual(at("2026-11-23T22:00:00"));
    // 2026-11-22 is a Sunday: weekdays → Monday
    expect(nextRunAfter({ kind: "daily", time: "01:30", days: [1, 2, 3, 4, 5] }, at("2026-11-21T23:00:00"))).toEqual(at("2026-11-23T01:30:00"));
  });
  it("hourly: the next hour that is a multiple of the interval", () => {
    expect(nextRunAfter({ kind: "hourly", everyHours: 1 }, at("2026-11-22T10:15:00"))).toEqual(at("2026-11-22T11:00:00"));
    expect(nextRunAfter({ kind: "hourly", everyHours: 6 }, at("2026-11-22T10:15:00"))).toEqual(at("2026-11-22T12:00:00"));
    expect(nextRunAfter({ kind: "hourly", everyHours: 6 }, at("2026-11-22T12:00:00"))).toEqual(at("2026-11-22T18:00:00"));
  });
});

describe("describeSchedule", () => {
  it("reads like an administrator would say it", () => {
    expect(describeSchedule({ kind: "daily", time: "22:00", days: [0, 1, 2, 3, 4, 5, 6] })).toBe("Daily at 22:00");
    expect(describeSchedule({ kind: "daily", time: "22:00", days: [5, 1, 2, 3, 4] })).toBe("Weekdays at 22:00");
    expect(describeSchedule({ kind: "daily", time: "07:00", days: [6, 0] })).toBe("Sun, Sat at 07:00");
    expect(describeSchedule({ kind: "hourly", everyHours: 4 })).toBe("Every 4 hours");
  });
});
