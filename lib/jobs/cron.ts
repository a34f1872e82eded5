// Cron in a time zone, through cron-parser (DST-safe: 02:30 on a spring-forward day does not
// exist and is skipped; on a fall-back day it fires once). Pure.
import { CronExpressionParser } from "cron-parser";

/** The first fire time strictly after `from`. Throws on a malformed expression or unknown zone. */
export function nextCronTime(cron: string, tz: string, from: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: from, tz }).next().toDate();
}

/** The server's own time zone (what "daily at 22:00" means on the job page). */
export function serverTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
