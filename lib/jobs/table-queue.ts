// The queue on a table of our own database (QueueJob, QueueSchedule): the embedded default on
// SQLite, where the console's process is the one worker. Claims are conditional updates (a job
// moves from "created" to "active" once, whoever races for it); an active job holds a lease that
// its worker extends while the handler runs; a lease that runs out (the process died) puts the
// job back for another try, up to its retry limit. Schedules fire once per slot: the instance that
// moves `nextRunAt` forward enqueues.
import type { Db, DbTx } from "@/lib/db/client";
import { nextCronTime } from "./cron";
import type { JobKind } from "./kinds";
import type { ClaimedJob, EnqueueRequest, JobHandler, JobQueue, QueueJobState, ScheduleRequest, WorkOptions } from "./queue";

export interface TableQueueOptions {
  workerId: string;
  /** How often the queue looks for work, expired leases and due schedules. */
  pollMs?: number;
  /** How long a claim holds without being renewed. */
  leaseMs?: number;
  /** Delay before a failed job's next try. */
  retryDelayMs?: number;
  /** Keeps this queue's jobs and schedules apart from another queue's on the same tables (tests). */
  namespace?: string;
}

interface Worker {
  concurrency: number;
  handler: JobHandler;
  running: Map<string, AbortController>;
}

export class TableQueue implements JobQueue {
  readonly implementation = "in-process" as const;
  readonly #workers = new Map<JobKind, Worker>();
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #retryDelayMs: number;
  readonly #ns: string;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #housekept = -Infinity;
  #stopped = false;
  #crashed = false;
  readonly #renewals = new Set<NodeJS.Timeout>();

  constructor(
    private readonly db: Db,
    private readonly options: TableQueueOptions,
  ) {
    this.#pollMs = options.pollMs ?? 500;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#retryDelayMs = options.retryDelayMs ?? 1_000;
    this.#ns = options.namespace ? `${options.namespace}:` : "";
  }

  async start(): Promise<void> {
    if (this.#timer) return;
    this.#stopped = false;
    this.#timer = setInterval(() => void this.tick(), this.#pollMs);
    this.#timer.unref();
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const w of this.#workers.values()) for (const c of w.running.values()) c.abort(new Error("the worker is stopping"));
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  /** For tests: dies as a killed process does — no more renewals, claims or settlements. */
  async crash(): Promise<void> {
    this.#crashed = true;
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const t of this.#renewals) clearInterval(t);
    this.#renewals.clear();
  }

  async enqueue(tx: DbTx, r: EnqueueRequest): Promise<string | null> {
    if (r.singletonKey) {
      const existing = await tx.queueJob.findFirst({ where: { singletonKey: this.#ns + r.singletonKey, state: { in: ["created", "active"] } }, select: { id: true } });
      if (existing) return null;
    }
    const row = await tx.queueJob.create({
      data: { kind: this.#ns + r.kind, payload: JSON.stringify(r.payload), singletonKey: r.singletonKey ? this.#ns + r.singletonKey : null, startAfter: r.startAfter ?? new Date(), retryLimit: r.retryLimit ?? 2 },
      select: { id: true },
    });
    setImmediate(() => void this.tick());
    return row.id;
  }

  async work(kind: JobKind, options: WorkOptions, handler: JobHandler): Promise<void> {
    this.#workers.set(kind, { concurrency: Math.max(1, options.concurrency), handler, running: new Map() });
    setImmediate(() => void this.tick());
  }

  async schedule(s: ScheduleRequest): Promise<void> {
    const payload = JSON.stringify(s.payload ?? {});
    const name = this.#ns + s.name;
    const existing = await this.db.queueSchedule.findUnique({ where: { name } });
    if (existing && existing.cron === s.cron && existing.tz === s.tz && existing.kind === s.kind && existing.payload === payload) return;
    const nextRunAt = nextCronTime(s.cron, s.tz, new Date());
    await this.db.queueSchedule.upsert({ where: { name }, create: { name, cron: s.cron, tz: s.tz, kind: s.kind, payload, nextRunAt }, update: { cron: s.cron, tz: s.tz, kind: s.kind, payload, nextRunAt } });
  }

  async cancel(_kind: JobKind, id: string): Promise<void> {
    await this.db.queueJob.updateMany({ where: { id, state: { in: ["created", "active"] } }, data: { state: "cancelled", completedAt: new Date() } });
    for (const w of this.#workers.values()) w.running.get(id)?.abort(new Error("the job was cancelled"));
  }

  async state(_kind: JobKind, id: string): Promise<QueueJobState | null> {
    const row = await this.db.queueJob.findUnique({ where: { id }, select: { state: true } });
    return (row?.state as QueueJobState | undefined) ?? null;
  }

  /** One pass: leases that ran out, due schedules, then work for every kind with room (exported for tests). */
  async tick(): Promise<void> {
    if (this.#ticking || this.#stopped) return;
    this.#ticking = true;
    try {
      // Leases and schedules at most once a second (a lease lasts 30 s, a cron slot a minute);
      // each pass asks only whether any kind with room has work, with one query, not one per kind:
      // an idle console's queue costs a query or two a second, not twenty.
      const now = Date.now();
      if (now - this.#housekept >= Math.max(this.#pollMs, 1_000) - 5) {
        this.#housekept = now;
        await this.#reclaimExpired();
        await this.#fireSchedules();
      }
      const room = [...this.#workers].filter(([, w]) => w.running.size < w.concurrency).map(([kind]) => this.#ns + kind);
      if (room.length === 0) return;
      const due = await this.db.queueJob.findMany({ where: { kind: { in: room }, state: "created", startAfter: { lte: new Date() } }, select: { kind: true }, distinct: ["kind"] });
      const ready = new Set(due.map((d) => d.kind));
      for (const [kind, w] of this.#workers) {
        if (!ready.has(this.#ns + kind)) continue;
        while (!this.#stopped && w.running.size < w.concurrency) {
          const job = await this.#claim(kind);
          if (!job) break;
          this.#run(kind, w, job);
        }
      }
    } catch (e) {
      console.error("[jobs] queue pass failed:", e instanceof Error ? e.message : e);
    } finally {
      this.#ticking = false;
    }
  }

  async #claim(kind: JobKind): Promise<{ id: string; payload: string; attempt: number; retryLimit: number } | null> {
    for (let tries = 0; tries < 5; tries++) {
      const next = await this.db.queueJob.findFirst({ where: { kind: this.#ns + kind, state: "created", startAfter: { lte: new Date() } }, orderBy: { createdAt: "asc" }, select: { id: true, payload: true, attempt: true, retryLimit: true } });
      if (!next) return null;
      const now = new Date();
      const won = await this.db.queueJob.updateMany({
        where: { id: next.id, state: "created" },
        data: { state: "active", workerId: this.options.workerId, startedAt: now, leaseUntil: new Date(now.getTime() + this.#leaseMs) },
      });
      if (won.count === 1) return next;
    }
    return null;
  }

  #run(kind: JobKind, w: Worker, row: { id: string; payload: string; attempt: number; retryLimit: number }): void {
    const controller = new AbortController();
    w.running.set(row.id, controller);
    const mine = { id: row.id, state: "active", workerId: this.options.workerId };
    // Renew the lease while the handler runs; a renewal that finds the job no longer ours (taken
    // back after a stall, or cancelled) aborts the handler.
    const renew = setInterval(() => {
      void this.db.queueJob
        .updateMany({ where: mine, data: { leaseUntil: new Date(Date.now() + this.#leaseMs) } })
        .then((r) => {
          if (r.count === 0) controller.abort(new Error("this worker no longer holds the job (its lease ran out or it was cancelled)"));
        })
        .catch(() => undefined);
    }, Math.max(50, Math.floor(this.#leaseMs / 3)));
    renew.unref();
    this.#renewals.add(renew);
    let payload: unknown;
    try {
      payload = JSON.parse(row.payload);
    } catch {
      payload = null;
    }
    const job: ClaimedJob = { id: row.id, kind, payload, attempt: row.attempt, retryLimit: row.retryLimit, signal: controller.signal };
    const done = (async () => {
      try {
        await w.handler(job);
        if (this.#crashed) return;
        await this.db.queueJob.updateMany({ where: mine, data: { state: "completed", completedAt: new Date(), leaseUntil: null } });
      } catch (e) {
        if (this.#crashed) return;
        const message = (e instanceof Error ? e.message : String(e)).slice(0, 2000);
        try {
          const current = await this.db.queueJob.findUnique({ where: { id: row.id }, select: { attempt: true, retryLimit: true } });
          const retry = current && current.attempt < current.retryLimit;
          await this.db.queueJob.updateMany({
            where: mine,
            data: retry ? { state: "created", attempt: { increment: 1 }, startAfter: new Date(Date.now() + this.#retryDelayMs), workerId: null, leaseUntil: null, error: message } : { state: "failed", completedAt: new Date(), leaseUntil: null, error: message },
          });
        } catch (settle) {
          // The database that failed the handler may refuse this too: the job stays active, its
          // lease runs out and the expired-lease pass gives it its next try (or fails it).
          console.error(`[jobs] could not record the failure of ${kind} ${row.id}; its lease will run out:`, settle instanceof Error ? settle.message : settle);
        }
      } finally {
        clearInterval(renew);
        this.#renewals.delete(renew);
        w.running.delete(row.id);
      }
    })();
    this.#inFlight.add(done);
    void done.finally(() => {
      this.#inFlight.delete(done);
      if (!this.#stopped) setImmediate(() => void this.tick());
    });
  }

  /** Active jobs whose lease ran out belong to a dead worker: another try, or failed past the limit. */
  async #reclaimExpired(): Promise<void> {
    const expired = await this.db.queueJob.findMany({ where: { state: "active", leaseUntil: { lt: new Date() }, kind: this.#ns ? { startsWith: this.#ns } : { not: { contains: ":" } } }, select: { id: true, attempt: true, retryLimit: true, leaseUntil: true, workerId: true } });
    for (const j of expired) {
      const where = { id: j.id, state: "active", leaseUntil: j.leaseUntil };
      const error = `the worker ${j.workerId ?? "?"} stopped renewing its lease (it died or lost the database)`;
      await this.db.queueJob.updateMany({
        where,
        data: j.attempt < j.retryLimit ? { state: "created", attempt: { increment: 1 }, workerId: null, leaseUntil: null, startAfter: new Date(), error } : { state: "failed", completedAt: new Date(), leaseUntil: null, error },
      });
    }
  }

  async #fireSchedules(): Promise<void> {
    const now = new Date();
    const due = (await this.db.queueSchedule.findMany({ where: { nextRunAt: { lte: now } } })).filter((s) => (this.#ns ? s.name.startsWith(this.#ns) : !s.name.includes(":")));
    for (const s of due) {
      let next: Date;
      try {
        next = nextCronTime(s.cron, s.tz, now);
      } catch (e) {
        console.error(`[jobs] schedule ${s.name} has a bad cron expression:`, e instanceof Error ? e.message : e);
        continue;
      }
      const won = await this.db.queueSchedule.updateMany({ where: { name: s.name, nextRunAt: s.nextRunAt }, data: { nextRunAt: next, lastRunAt: now } });
      if (won.count !== 1) continue; // another process fired this slot
      await this.enqueue(this.db, { kind: s.kind as JobKind, payload: JSON.parse(s.payload), singletonKey: `schedule:${s.name.slice(this.#ns.length)}` });
    }
  }
}
