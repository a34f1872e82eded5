import "server-only";
import { env } from "@/lib/config/env";
import { serverTimeZone } from "@/lib/jobs/cron";

/** The time zone backup schedules are read in: STRONGROOM_TIME_ZONE, else the server's. */
export function scheduleTimeZone(): string {
  return env.STRONGROOM_TIME_ZONE ?? serverTimeZone();
}
