import "server-only";
import { env } from "@/lib/config/env";
import { db, isPostgres } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { jobQueue } from "./index";
import type { JobKind } from "./kinds";
import type { ClaimedJob, JobQueue, ScheduleRequest } from "./queue";
import { checkConnectionBudget } from "./connection-budget";
import { processWorkerId } from "./process-id";
import { WorkerRegistration } from "./worker-registry";
import { WORKER_HEARTBEAT_MS, workerIsAlive } from "./worker-liveness";

// Starts this process as a worker of the job engine: the console (in-process on SQLite, and on
// PostgreSQL unless STRONGROOM_CONSOLE_WORKER=off) or a worker process (`npm run worker`). The
// kinds' handlers are handed in from above (lib/services/job-handlers.ts), so lib/jobs never
// imports a use case.

export type JobHandlers = Partial<Record<JobKind, { handler: (job: ClaimedJob) => Promise<void>; concurrency: number }>>;

export interface JobEngine {
  queue: JobQueue;
  worker: WorkerRegistration;
  stop(): Promise<void>;
}

export class JobEngineRefused extends Error {}

const g = globalThis as { __strongroomJobEngine?: JobEngine };

/** The worker registration of this process, when its engine runs (for the tasks list). */
export function currentWorker(): WorkerRegistration | undefined {
  return g.__strongroomJobEngine?.worker;
}

export async function startJobEngine(o: { role: "console" | "worker"; handlers: JobHandlers; schedules: ScheduleRequest[]; startupKinds?: JobKind[] }): Promise<JobEngine> {
  if (g.__strongroomJobEngine) return g.__strongroomJobEngine;
  const postgres = isPostgres(env.databaseUrl);
  if (!postgres && o.role === "worker") {
    throw new JobEngineRefused("A separate worker needs PostgreSQL (DATABASE_URL=postgresql://…). On the embedded SQLite database the console runs all work itself.");
  }
  const worker = new WorkerRegistration(o.role);
  if (!postgres) await claimSqliteRunner(worker.id);
  else await reportConnectionBudget(worker.id);
  await worker.start();
  const queue = jobQueue();
  await queue.start();
  for (const [kind, h] of Object.entries(o.handlers) as Array<[JobKind, NonNullable<JobHandlers[JobKind]>]>) {
    await queue.work(kind, { concurrency: h.concurrency }, async (job) => {
      try {
        await h.handler(job);
      } catch (e) {
        console.error(`[jobs] ${kind} ${job.id} (attempt ${job.attempt + 1}) failed:`, e instanceof Error ? e.message : e);
        throw e;
      }
    });
  }
  for (const s of o.schedules) await queue.schedule(s);
  for (const kind of o.startupKinds ?? []) await queue.enqueue(db, { kind, payload: {}, singletonKey: `startup:${kind}` });
  const engine: JobEngine = {
    queue,
    worker,
    async stop() {
      await queue.stop();
      await worker.stop();
      g.__strongroomJobEngine = undefined;
    },
  };
  g.__strongroomJobEngine = engine;
  return engine;
}

/**
 * On SQLite one console runs the work of a data folder. A second console on the same folder would
 * race the first (and its start-up would take the first one's running work for dead), so it
 * refuses, naming the process that holds the folder.
 */
async function claimSqliteRunner(workerId: string): Promise<void> {
  const now = new Date();
  const holder = await serializableTransaction(async (tx) => {
    const live = (await tx.jobWorker.findMany({ where: { role: "console", stoppedAt: null, id: { not: workerId } } })).filter((w) => workerIsAlive(w.heartbeatAt, now));
    if (live.length) return live[0];
    await tx.jobWorker.upsert({
      where: { id: workerId },
      create: { id: workerId, role: "console", host: (await import("node:os")).hostname(), pid: process.pid, heartbeatAt: now },
      update: { heartbeatAt: now, stoppedAt: null },
    });
    return null;
  });
  if (holder) {
    throw new JobEngineRefused(
      `Another Strongroom console (process ${holder.pid} on ${holder.host}, heartbeat ${holder.heartbeatAt.toISOString()}) already runs the work of this data folder. Stop it first, or give this console its own STRONGROOM_DATA_DIR. To run several processes on one database, use PostgreSQL and \`npm run worker\`.`,
    );
  }
}

export { WORKER_HEARTBEAT_MS, processWorkerId };

/**
 * PostgreSQL: whether the console and the worker processes, with their pools, fit the server's
 * max_connections (lib/jobs/connection-budget.ts). The planned workers (STRONGROOM_WORKER_PROCESSES)
 * or the live ones, whichever are more. Said once at start; a server that cannot be asked is not
 * a reason to refuse to start.
 */
async function reportConnectionBudget(workerId: string): Promise<void> {
  try {
    const [limits] = await db.$queryRawUnsafe<Array<{ max: number; reserved: number }>>(
      `SELECT current_setting('max_connections')::int AS max, (current_setting('superuser_reserved_connections')::int + COALESCE(current_setting('reserved_connections', true), '0')::int) AS reserved`,
    );
    const now = new Date();
    const live = (await db.jobWorker.findMany({ where: { stoppedAt: null, id: { not: workerId } }, select: { heartbeatAt: true } })).filter((w) => workerIsAlive(w.heartbeatAt, now)).length;
    const processes = Math.max(1 + env.STRONGROOM_WORKER_PROCESSES, live + 1);
    const verdict = checkConnectionBudget({ processes, dbPool: env.STRONGROOM_DB_POOL_SIZE, queuePool: env.STRONGROOM_QUEUE_POOL_SIZE }, { maxConnections: Number(limits.max), reserved: Number(limits.reserved) });
    if (verdict.fits) console.log(`[jobs] ${verdict.message}`);
    else console.warn(`[jobs] WARNING: ${verdict.message}`);
  } catch (e) {
    console.warn(`[jobs] could not check PostgreSQL's connection limit: ${e instanceof Error ? e.message : String(e)}`);
  }
}
