// One contract for every JobQueue (like the repository store's store-contract.ts): the table
// queue runs it on SQLite and PostgreSQL, pg-boss on PostgreSQL. Each test makes fresh queue
// instances — two of them stand for two processes sharing one database.
import { afterEach, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import type { ClaimedJob, JobQueue } from "../queue";

export interface QueueUnderTest {
  queue: JobQueue;
  /** Dies like a killed process: stops renewing leases and claiming, settles nothing. */
  crash(): Promise<void>;
}

export interface ContractOptions {
  db: Db;
  make(workerId: string): QueueUnderTest;
  /** How long a crashed worker's job takes to come back, at most (lease or heartbeat + supervision). */
  recoveryMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export function queueContract(name: string, o: ContractOptions): void {
  describe(`job queue contract: ${name}`, () => {
    const live: QueueUnderTest[] = [];
    const make = async (id: string) => {
      const q = o.make(`${id}-${Math.random().toString(36).slice(2, 8)}`);
      live.push(q);
      await q.queue.start();
      return q.queue;
    };
    afterEach(async () => {
      for (const q of live.splice(0)) await q.queue.stop(2_000).catch(() => undefined);
    });

    it("hands each job to exactly one of two workers", async () => {
      const a = await make("a");
      const b = await make("b");
      const seen: string[] = [];
      const handler = async (job: ClaimedJob) => {
        seen.push((job.payload as { n: number }).n.toString());
        await sleep(20);
      };
      await a.work("backup-vm", { concurrency: 3 }, handler);
      await b.work("backup-vm", { concurrency: 3 }, handler);
      const tag = Math.random().toString(36).slice(2);
      for (let n = 0; n < 24; n++) await a.enqueue(o.db, { kind: "backup-vm", payload: { n, tag } });
      await until("24 jobs", () => seen.length >= 24, 30_000);
      await sleep(500);
      expect(seen.length).toBe(24);
      expect(new Set(seen).size).toBe(24);
    }, 60_000);

    it("gives the job of a worker that died to another worker, as the next attempt", async () => {
      const dying = o.make(`dying-${Math.random().toString(36).slice(2, 8)}`);
      live.push(dying);
      await dying.queue.start();
      const attempts: Array<{ worker: string; attempt: number }> = [];
      let started = false;
      await dying.queue.work("backup-session", { concurrency: 1 }, async (job) => {
        attempts.push({ worker: "dying", attempt: job.attempt });
        started = true;
        await new Promise(() => undefined); // hangs, as a process stopped by SIGKILL never returns
      });
      const id = await dying.queue.enqueue(o.db, { kind: "backup-session", payload: { sessionId: "lease-test" } });
      expect(id).toBeTruthy();
      await until("the first worker to start", () => started, 20_000);
      await dying.crash();
      const other = await make("other");
      let finished = false;
      await other.work("backup-session", { concurrency: 1 }, async (job) => {
        attempts.push({ worker: "other", attempt: job.attempt });
        finished = true;
      });
      await until("the job to come back", () => finished, o.recoveryMs);
      expect(attempts).toEqual([
        { worker: "dying", attempt: 0 },
        { worker: "other", attempt: 1 },
      ]);
      await until("completed", async () => (await other.state("backup-session", id!)) === "completed", 10_000);
    }, 90_000);

    it("retries a failed handler up to the limit, then marks the job failed", async () => {
      const q = await make("retry");
      const tries: number[] = [];
      await q.work("repository-verify", { concurrency: 1 }, async (job) => {
        tries.push(job.attempt);
        throw new Error("the repository folder is not mounted");
      });
      const id = await q.enqueue(o.db, { kind: "repository-verify", payload: { sessionId: "s", repositoryId: "r" }, retryLimit: 1 });
      await until("failed", async () => (await q.state("repository-verify", id!)) === "failed", 30_000);
      expect(tries).toEqual([0, 1]);
    }, 60_000);

    it("never runs a cancelled job", async () => {
      const q = await make("cancel");
      let ran = false;
      await q.work("recovery-keysets", { concurrency: 1 }, async () => {
        ran = true;
      });
      const id = await q.enqueue(o.db, { kind: "recovery-keysets", payload: {}, startAfter: new Date(Date.now() + 1_500) });
      await q.cancel("recovery-keysets", id!);
      await sleep(3_000);
      expect(ran).toBe(false);
      expect(await q.state("recovery-keysets", id!)).toBe("cancelled");
    }, 30_000);

    it("keeps one queued job per singleton key", async () => {
      const q = await make("single");
      const key = `single-${Math.random()}`;
      const first = await q.enqueue(o.db, { kind: "compliance-daily", payload: {}, singletonKey: key, startAfter: new Date(Date.now() + 60_000) });
      const second = await q.enqueue(o.db, { kind: "compliance-daily", payload: {}, singletonKey: key, startAfter: new Date(Date.now() + 60_000) });
      expect(first).toBeTruthy();
      expect(second).toBeNull();
      await q.cancel("compliance-daily", first!);
    });

    it("fires a schedule once per slot however many processes hold it", async () => {
      const a = await make("cron-a");
      const b = await make("cron-b");
      const fired: number[] = [];
      const handler = async () => {
        fired.push(Date.now());
      };
      await a.work("backup-schedule", { concurrency: 2 }, handler);
      await b.work("backup-schedule", { concurrency: 2 }, handler);
      // Every 4 seconds; both processes declare the same schedule, as every process does at start.
      const schedule = { name: "contract-every-4s", cron: "*/4 * * * * *", tz: "Europe/Amsterdam", kind: "backup-schedule" as const };
      await a.schedule(schedule);
      await b.schedule(schedule);
      // pg-boss sends at most one job a minute for an expression finer than that; the table queue
      // one per 4-second slot. Either way: some fire, and no slot fires twice.
      const t0 = Date.now();
      await until("the schedule to fire", () => fired.length >= 1, 75_000);
      await sleep(5_000);
      const elapsedSlots = Math.ceil((Date.now() - t0) / 4_000) + 1;
      expect(fired.length).toBeGreaterThanOrEqual(1);
      expect(fired.length).toBeLessThanOrEqual(elapsedSlots);
      // No slot fired twice: consecutive fires are at least most of a period apart.
      const sorted = [...fired].sort((x, y) => x - y);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i] - sorted[i - 1]).toBeGreaterThan(1_500);
    }, 100_000);
  });
}
