// The queue on PostgreSQL: pg-boss (docs/decisions/0005-job-engine.md). The console and every
// worker process (`npm run worker`) start one; pg-boss claims with SKIP LOCKED, so a job goes to
// one worker; handlers heartbeat while they run and a job whose heartbeat stops (kill -9) is
// failed by whichever instance supervises next and retried on another worker; cron schedules fire
// once however many instances run. Enqueueing goes through the service's own Prisma transaction.
import { PgBoss, fromPrisma, type JobWithMetadata } from "pg-boss";
import pg from "pg";
import type { DbTx } from "@/lib/db/client";
import { JOB_KINDS, type JobKind } from "./kinds";
import type { EnqueueRequest, JobHandler, JobQueue, QueueJobState, ScheduleRequest, WorkOptions } from "./queue";

export interface PgBossQueueOptions {
  connectionString: string;
  /** Seconds without a heartbeat after which a job is taken back from its worker (pg-boss: ≥ 10). */
  heartbeatSeconds?: number;
  /** How often this instance looks for jobs whose heartbeat stopped. */
  superviseSeconds?: number;
  /** pg-boss's tables live in this schema ("pgboss"); tests keep theirs apart. */
  schema?: string;
  /** How often due cron schedules are looked at (1–45 s). */
  cronSeconds?: number;
  /** Connections of this instance's pool (STRONGROOM_QUEUE_POOL_SIZE; default 4). */
  poolSize?: number;
}

export class PgBossQueue implements JobQueue {
  readonly implementation = "pg-boss" as const;
  readonly boss: PgBoss;
  #started: Promise<void> | undefined;
  readonly #heartbeatSeconds: number;
  readonly #pool: pg.Pool;
  readonly #schema: string;
  #crashed = false;

  constructor(options: PgBossQueueOptions) {
    this.#heartbeatSeconds = Math.max(10, options.heartbeatSeconds ?? 10);
    this.#schema = options.schema ?? "pgboss";
    if (!/^[a-z_][a-z0-9_]*$/.test(this.#schema)) throw new Error("the pg-boss schema must be a plain lower-case identifier");
    const superviseIntervalSeconds = Math.max(1, options.superviseSeconds ?? 5);
    // Our own pool behind pg-boss's database interface, so crash() can cut it off as a killed
    // process would be cut off (stop() would fail the running jobs politely instead).
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: Math.max(2, options.poolSize ?? 4), application_name: "strongroom-jobs" });
    this.#pool.on("error", () => undefined);
    const db = {
      executeSql: async (text: string, values?: unknown[]) => {
        if (this.#crashed) throw new Error("this worker has crashed");
        return this.#pool.query(text, values as unknown[]);
      },
    };
    // pg-boss fails a job whose heartbeat stopped only in its monitor pass: the pass must come round
    // within half a heartbeat, or a dead worker's jobs wait up to a whole monitor interval longer
    // (30 s here before: a kill -9 took ~40 s instead of ~15 s to be taken over). Passes are per
    // queue across all instances, and their statistics query is cheap at our queue sizes.
    const monitorIntervalSeconds = Math.min(30, Math.max(superviseIntervalSeconds, Math.floor(this.#heartbeatSeconds / 2)));
    this.boss = new PgBoss({ db, schema: options.schema ?? "pgboss", superviseIntervalSeconds, monitorIntervalSeconds, application_name: "strongroom", cronWorkerIntervalSeconds: options.cronSeconds ?? 5, cronMonitorIntervalSeconds: options.cronSeconds ?? 5 } as ConstructorParameters<typeof PgBoss>[0]);
    this.boss.on("error", (e: unknown) => {
      if (!this.#crashed) console.error("[jobs] pg-boss:", e instanceof Error ? e.message : e);
    });
  }

  start(): Promise<void> {
    this.#started ??= (async () => {
      await this.boss.start();
      for (const kind of JOB_KINDS) {
        const options = { retryLimit: 2, retryDelay: 1, heartbeatSeconds: this.#heartbeatSeconds, expireInSeconds: 24 * 3600, deleteAfterSeconds: 7 * 86_400 };
        if (await this.boss.getQueue(kind)) await this.boss.updateQueue(kind, options);
        else await this.boss.createQueue(kind, options);
      }
    })();
    return this.#started;
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (!this.#started) return;
    await this.#started.catch(() => undefined);
    if (!this.#crashed) await this.boss.stop({ graceful: true, timeout: graceMs, close: false }).catch(() => undefined);
    this.#started = undefined;
    await this.#pool.end().catch(() => undefined);
  }

  /** For tests: dies as a killed process does — no more heartbeats, claims or settlements. */
  async crash(): Promise<void> {
    this.#crashed = true;
  }

  async enqueue(tx: DbTx, r: EnqueueRequest): Promise<string | null> {
    // The queues must exist before the caller's transaction took its snapshot (pg-boss's insert
    // reads its queue table through that transaction): start() belongs at process start.
    if (!this.#started) throw new Error("the job queue has not been started in this process (start the job engine, or jobQueue().start(), before enqueueing)");
    await this.#started;
    // pg-boss's singleton keys bind only on its singleton queue policies; ours means "one queued or
    // active job with this key", checked in the caller's transaction.
    if (r.singletonKey) {
      const open = await tx.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM ${this.#schema}.job WHERE name = $1 AND singleton_key = $2 AND state IN ('created', 'retry', 'active') LIMIT 1`, r.kind, r.singletonKey);
      if (open.length) return null;
    }
    // pg-boss checks options by presence: pass only those that are set.
    const options: Record<string, unknown> = { db: fromPrisma(tx as unknown as Parameters<typeof fromPrisma>[0]) };
    if (r.singletonKey) options.singletonKey = r.singletonKey;
    if (r.startAfter) options.startAfter = r.startAfter;
    if (r.retryLimit !== undefined) options.retryLimit = r.retryLimit;
    return this.boss.send(r.kind, r.payload, options);
  }

  async work(kind: JobKind, options: WorkOptions, handler: JobHandler): Promise<void> {
    await this.start();
    await this.boss.work<Record<string, unknown>>(
      kind,
      { batchSize: 1, includeMetadata: true, localConcurrency: Math.max(1, options.concurrency), pollingIntervalSeconds: 0.5, heartbeatRefreshSeconds: Math.max(1, Math.floor(this.#heartbeatSeconds / 3)) },
      async ([job]) => {
        await handler({ id: job.id, kind, payload: job.data, attempt: job.retryCount, retryLimit: (job as unknown as JobWithMetadata).retryLimit, signal: job.signal });
      },
    );
  }

  async schedule(s: ScheduleRequest): Promise<void> {
    await this.start();
    await this.boss.schedule(s.kind, s.cron, s.payload ?? {}, { tz: s.tz, key: s.name });
  }

  async cancel(kind: JobKind, id: string): Promise<void> {
    await this.start();
    await this.boss.cancel(kind, id);
  }

  async state(kind: JobKind, id: string): Promise<QueueJobState | null> {
    await this.start();
    const [job] = await this.boss.findJobs(kind, { id });
    if (!job) return null;
    return job.state === "retry" ? "created" : (job.state as QueueJobState);
  }
}
