// The queue contract (lib/jobs): one interface, two implementations, one contract suite
// (testing/queue-contract.ts).
//  - pg-boss-queue.ts on PostgreSQL: pg-boss on SKIP LOCKED, shared by the console and any number
//    of worker processes (`npm run worker`), heartbeats and cron schedules that fire once.
//  - table-queue.ts: the same behaviour on one table of our own database, in the console's process
//    (the embedded SQLite default needs nothing else running).
// Services call enqueue() inside their own transaction, so the work exists exactly when the change
// that asked for it commits.
import type { DbTx } from "@/lib/db/client";
import type { JobKind } from "./kinds";

export interface EnqueueRequest {
  kind: JobKind;
  payload: Record<string, unknown>;
  /** At most one queued-or-active job with this key. */
  singletonKey?: string;
  startAfter?: Date;
  /** Retries after a failure or a lost lease (default 2). */
  retryLimit?: number;
}

export interface ClaimedJob {
  id: string;
  kind: JobKind;
  payload: unknown;
  /** 0 on the first try, then 1, 2… after a failure or a lease taken back from a dead worker. */
  attempt: number;
  /** Retries the queue grants after a failure: a handler on attempt ≥ retryLimit has no next try. */
  retryLimit: number;
  /** Aborted when this worker lost the job (its lease went to another) or the queue stops. */
  signal: AbortSignal;
}

export type JobHandler = (job: ClaimedJob) => Promise<void>;

export interface WorkOptions {
  /** Jobs of this kind this process runs at once. */
  concurrency: number;
}

export interface ScheduleRequest {
  /** Unique name of the schedule ("compliance-daily"). */
  name: string;
  /** Five-field cron ("0 3 * * *"), read in `tz`. */
  cron: string;
  tz: string;
  kind: JobKind;
  payload?: Record<string, unknown>;
}

export interface JobQueue {
  readonly implementation: "pg-boss" | "in-process";
  start(): Promise<void>;
  /** Stops claiming; waits up to `graceMs` for running handlers (their signals are aborted first). */
  stop(graceMs?: number): Promise<void>;
  enqueue(tx: DbTx, request: EnqueueRequest): Promise<string | null>;
  work(kind: JobKind, options: WorkOptions, handler: JobHandler): Promise<void>;
  schedule(request: ScheduleRequest): Promise<void>;
  cancel(kind: JobKind, id: string): Promise<void>;
  /** The job's state as the queue sees it (tests, the jobs view). */
  state(kind: JobKind, id: string): Promise<QueueJobState | null>;
}

export type QueueJobState = "created" | "active" | "completed" | "failed" | "cancelled";
