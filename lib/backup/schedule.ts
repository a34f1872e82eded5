// When a job runs next (BKP-1 schedule). Pure: the runner's scheduler and the job pages use it.
// Times are the server's local time (or STRONGROOM_TIME_ZONE), as an administrator reads "daily at 22:00".
import type { Schedule } from "@/lib/schemas/backup";
import { nextCronTime, serverTimeZone } from "@/lib/jobs/cron";

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** The schedule as a five-field cron expression, or null for a manual job. */
export function scheduleCron(schedule: Schedule): string | null {
  if (schedule.kind === "manual") return null;
  if (schedule.kind === "hourly") return schedule.everyHours === 1 ? "0 * * * *" : `0 */${schedule.everyHours} * * *`;
  const [h, m] = schedule.time.split(":").map(Number);
  return `${m} ${h} * * ${[...schedule.days].sort().join(",")}`;
}

/**
 * The first run strictly after `from`, or null for a manual job, read in time zone `tz` (the
 * server's by default) through cron-parser: on a spring-forward day a time that does not exist is
 * skipped, and on a fall-back day a time that exists twice runs once.
 */
export function nextRunAfter(schedule: Schedule, from: Date, tz: string = serverTimeZone()): Date | null {
  const cron = scheduleCron(schedule);
  return cron ? nextCronTime(cron, tz, from) : null;
}

export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === "manual") return "Manual only";
  if (schedule.kind === "hourly") return schedule.everyHours === 1 ? "Every hour" : `Every ${schedule.everyHours} hours`;
  const days = [...schedule.days].sort();
  const which = days.length === 7 ? "Daily" : days.join(",") === "1,2,3,4,5" ? "Weekdays" : days.map((d) => DAY_NAMES[d]).join(", ");
  return `${which} at ${schedule.time}`;
}
