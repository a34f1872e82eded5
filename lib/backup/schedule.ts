// When a job runs next (BKP-1 schedule). Pure: the runner's scheduler and the job pages use it.
// Times are the server's local time, as an administrator reads "daily at 22:00".
import type { Schedule } from "@/lib/schemas/backup";

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** The first run strictly after `from`, or null for a manual job. */
export function nextRunAfter(schedule: Schedule, from: Date): Date | null {
  if (schedule.kind === "manual") return null;
  if (schedule.kind === "hourly") {
    const next = new Date(from);
    next.setMinutes(0, 0, 0);
    do next.setHours(next.getHours() + 1);
    while (next.getHours() % schedule.everyHours !== 0 || next <= from);
    return next;
  }
  const [h, m] = schedule.time.split(":").map(Number);
  for (let d = 0; d <= 7; d++) {
    const candidate = new Date(from);
    candidate.setDate(candidate.getDate() + d);
    candidate.setHours(h, m, 0, 0);
    if (candidate > from && schedule.days.includes(candidate.getDay())) return candidate;
  }
  return null;
}

export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === "manual") return "Manual only";
  if (schedule.kind === "hourly") return schedule.everyHours === 1 ? "Every hour" : `Every ${schedule.everyHours} hours`;
  const days = [...schedule.days].sort();
  const which = days.length === 7 ? "Daily" : days.join(",") === "1,2,3,4,5" ? "Weekdays" : days.map((d) => DAY_NAMES[d]).join(", ");
  return `${which} at ${schedule.time}`;
}
