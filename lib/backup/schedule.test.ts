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

describe("nextRunAfter across daylight-saving changes (Europe/Amsterdam)", () => {
  const tz = "Europe/Amsterdam";
  const daily = (time: string) => ({ kind: "daily" as const, time, days: [0, 1, 2, 3, 4, 5, 6] });
  it("a time that does not exist on the spring-forward day is not run twice nor at a shifted hour the next day", () => {
    // 2026-03-29 02:00 CET → 03:00 CEST: 02:30 does not exist that day.
    const next = nextRunAfter(daily("02:30"), new Date("2026-03-29T00:00:00Z"), tz)!;
    const after = nextRunAfter(daily("02:30"), next, tz)!;
    expect(after.toISOString()).toBe("2026-03-30T00:30:00.000Z"); // 02:30 CEST on the 30th
    expect(after.getTime() - next.getTime()).toBeGreaterThan(12 * 3_600_000);
  });
  it("a time that exists twice on the fall-back day runs once", () => {
    // 2026-10-25 03:00 CEST → 02:00 CET: 02:30 happens twice.
    const first = nextRunAfter(daily("02:30"), new Date("2026-10-24T23:00:00Z"), tz)!;
    const second = nextRunAfter(daily("02:30"), first, tz)!;
    expect(second.getTime() - first.getTime()).toBeGreaterThan(20 * 3_600_000);
  });
  it("22:00 stays 22:00 local on both sides of the change", () => {
    expect(nextRunAfter(daily("22:00"), new Date("2026-03-28T12:00:00Z"), tz)!.toISOString()).toBe("2026-03-28T21:00:00.000Z");
    expect(nextRunAfter(daily("22:00"), new Date("2026-03-29T12:00:00Z"), tz)!.toISOString()).toBe("2026-03-29T20:00:00.000Z");
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
