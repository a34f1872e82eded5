import "server-only";
import { env } from "@/lib/config/env";
import { db, isPostgres, type DbTx } from "@/lib/db/client";
import { PgBossQueue } from "./pg-boss-queue";
import { processWorkerId } from "./process-id";
import type { EnqueueRequest, JobQueue } from "./queue";
import { TableQueue } from "./table-queue";

// The job engine's entry for services: enqueue long work inside your own transaction. The queue
// is chosen by the database: pg-boss on PostgreSQL, the table queue on SQLite.

const g = globalThis as { __strongroomJobQueue?: JobQueue };

export function jobQueue(): JobQueue {
  g.__strongroomJobQueue ??= isPostgres(env.databaseUrl)
    ? new PgBossQueue({ connectionString: env.databaseUrl, heartbeatSeconds: env.STRONGROOM_JOB_HEARTBEAT_SECONDS, poolSize: env.STRONGROOM_QUEUE_POOL_SIZE })
    : new TableQueue(db, { workerId: processWorkerId() });
  return g.__strongroomJobQueue;
}

/** Queues work as part of the caller's transaction: it exists exactly when the transaction commits. */
export function enqueue(tx: DbTx, request: EnqueueRequest): Promise<string | null> {
  return jobQueue().enqueue(tx, request);
}

export type { EnqueueRequest, JobQueue } from "./queue";
export type { JobKind } from "./kinds";
