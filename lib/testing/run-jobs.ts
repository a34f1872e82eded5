// db tests run sessions the way the console does: through the job engine (the table queue on
// SQLite, pg-boss on PostgreSQL) with this product's handlers, waiting until the session ends.
import { db } from "@/lib/db/client";
import { startJobEngine } from "@/lib/jobs/engine";
import { JOB_HANDLERS } from "@/lib/services/job-handlers";

let started: Promise<unknown> | undefined;

/** Starts this test process's job engine once (no schedules, no start-up chores). */
export function ensureJobEngine(): Promise<unknown> {
  started ??= startJobEngine({ role: "console", handlers: JOB_HANDLERS, schedules: [] });
  return started;
}

/** Waits until the session has ended (it was queued by a service); answers its row. */
export async function runBackupSession(sessionId: string, timeoutMs = 120_000) {
  await ensureJobEngine();
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId } });
    if (!["queued", "running"].includes(s.state)) return s;
    if (Date.now() > end) {
      const vms = await db.sessionVm.findMany({ where: { sessionId }, select: { vmExternalId: true, state: true, workerId: true, attempt: true } });
      const events = await db.sessionEvent.findMany({ where: { sessionId }, orderBy: { id: "asc" }, select: { type: true, text: true } });
      const queue = await db.$queryRawUnsafe<unknown[]>("SELECT name, state::text, retry_count, start_after::text, singleton_key FROM pgboss.job").catch((e: unknown) => String(e));
      throw new Error(`queue ${JSON.stringify(queue)} session ${sessionId} did not end within ${timeoutMs} ms (state ${s.state}); VMs ${JSON.stringify(vms)}; events ${JSON.stringify(events).slice(0, 3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
