import "server-only";
import { env } from "@/lib/config/env";
import { isPostgres } from "@/lib/db/client";
import { JobEngineRefused, startJobEngine, type JobEngine } from "@/lib/jobs/engine";
import { JOB_HANDLERS, JOB_SCHEDULES, STARTUP_KINDS } from "./job-handlers";

// How the console and `npm run worker` start the job engine with this product's handlers.

/** The console: runs work itself on SQLite, and on PostgreSQL unless STRONGROOM_CONSOLE_WORKER=off. */
export async function startConsoleJobEngine(): Promise<JobEngine | null> {
  const postgres = isPostgres(env.databaseUrl);
  try {
    if (postgres && env.STRONGROOM_CONSOLE_WORKER === "off") {
      // Still the scheduler's and the queue's home (schedules fire once whoever holds them), without handlers for the heavy kinds.
      const { "backup-schedule": schedule, "recovery-keysets": keysets, "compliance-daily": compliance, "audit-checkpoint": checkpoint } = JOB_HANDLERS;
      return await startJobEngine({ role: "console", handlers: { "backup-schedule": schedule, "recovery-keysets": keysets, "compliance-daily": compliance, "audit-checkpoint": checkpoint }, schedules: JOB_SCHEDULES, startupKinds: STARTUP_KINDS });
    }
    return await startJobEngine({ role: "console", handlers: JOB_HANDLERS, schedules: JOB_SCHEDULES, startupKinds: STARTUP_KINDS });
  } catch (e) {
    if (e instanceof JobEngineRefused) {
      console.error(`[jobs] The console does not run backups: ${e.message}`);
      return null;
    }
    throw e;
  }
}

/** A worker process (a proxy host): every kind, no start-up chores (the console does those). */
export async function startWorkerJobEngine(): Promise<JobEngine> {
  return startJobEngine({ role: "worker", handlers: JOB_HANDLERS, schedules: JOB_SCHEDULES });
}
