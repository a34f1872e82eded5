// "One job engine for every kind of work" (docs/decisions/0005-job-engine.md), end to end on the
// lab's real disk files: a worker process killed -9 in the middle of a multi-VM job, proxy task
// limits under four workers, a stop that ends a running VM within seconds, and a second console
// on one SQLite data folder. Worker processes (`npm run worker`) need PostgreSQL; on SQLite the
// console's own engine (this test process's) is the one worker.
//
// Reads are slowed down with the lab's simulated link speed (STRONGROOM_LAB_READ_MIB_PER_SECOND),
// so a VM is still being read when a worker dies or a stop comes, and proxy slots overlap.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { PrismaClientKnownRequestError } from "@prisma/client/runtime/client";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { env } from "@/lib/config/env";
import { db } from "@/lib/db/client";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import { WORKER_DEAD_AFTER_MS, workerIsAlive } from "@/lib/jobs/worker-liveness";
import { startChild, startWorker, stopAllChildren, killChild, waitFor, waitForOutput, type ChildHandle } from "@/lib/testing/child-processes";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { ensureJobEngine } from "@/lib/testing/run-jobs";
import { createTestDatabase } from "@/lib/testing/test-database";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import { runGuestWrites } from "@/lib/services/vms/run-guest-writes";
import { createBackupRepository } from "../create-repository";
import { getJobSession } from "../get-job-session";
import { runBackupJobNow, stopJobSession } from "../run-backup-job";
import { createBackupJob } from "../save-backup-job";
import { runRepositoryVerify } from "./run-repository-verify";

const PG = inject("strongroomTestProvider") === "postgresql";
const PG_ONLY = "[PostgreSQL only: on SQLite the console is the one process that runs work, and `npm run worker` refuses to start]";
const SQLITE_ONLY = "[SQLite only: on PostgreSQL several consoles and workers share the work by design]";
const PASSWORD = "correct-horse-battery-staple-42";

let admin: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;
let repositoryId: string;
const savedLimits = new Map<string, number>();

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-job-engine-"));
  repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("engine-repo"), path: path.join(tmp, "repo") })).id;
}, 60_000);

const ownReadRate = env.STRONGROOM_LAB_READ_MIB_PER_SECOND;
afterEach(async () => {
  await stopAllChildren();
  setOwnReadRate(ownReadRate);
  for (const [id, maxTasks] of savedLimits) await db.proxy.update({ where: { id }, data: { maxTasks } });
  savedLimits.clear();
}, 60_000);

afterAll(async () => {
  await stopAllChildren();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ───────────────────────────── helpers ─────────────────────────────

/** This process's simulated link speed (asked at each disk's open; lib/services/inventory/platform.ts). */
function setOwnReadRate(mib: number | undefined) {
  env.STRONGROOM_LAB_READ_MIB_PER_SECOND = mib;
}

/** What a worker process needs besides the inherited run settings (DATABASE_URL, STRONGROOM_DATA_DIR). */
function workerEnv(o: { readMiBPerSecond?: number; concurrency?: number }) {
  return {
    STRONGROOM_LAB_READ_MIB_PER_SECOND: o.readMiBPerSecond ? String(o.readMiBPerSecond) : undefined,
    STRONGROOM_WORKER_CONCURRENCY: String(o.concurrency ?? 4),
    // The shortest lease pg-boss allows: a killed worker's VMs are taken back after ~10–15 s.
    STRONGROOM_JOB_HEARTBEAT_SECONDS: "10",
  };
}

async function vmsNamed(names: string[]) {
  const rows = await db.vm.findMany({ where: { name: { in: names } }, include: { site: true, disks: true } });
  expect(rows.map((r) => r.name).sort()).toEqual([...names].sort());
  return rows;
}

/** Gives a running VM's disks data (the first call fills 16 MiB per disk; later ones rewrite `percent` of it). */
async function guestWrites(vms: Array<{ id: string; powerState: string }>, percent = 100) {
  for (const vm of vms) if (vm.powerState === "poweredOn") await runGuestWrites(admin, { vmId: vm.id, percent });
}

async function passwordJob(vms: Array<{ id: string; name: string }>, proxies?: string[]) {
  return createBackupJob(admin, {
    name: uniqueEmail("engine-job"),
    selection: vms.map((v) => ({ kind: "vm" as const, id: v.id, label: v.name })),
    repositoryId,
    retentionPoints: 5,
    proxyMode: proxies ? "manual" : "automatic",
    proxyIds: proxies ?? [],
    failoverToNetwork: true,
    encryptionMode: "password",
    password: PASSWORD,
    passwordConfirm: PASSWORD,
    passwordHint: "the usual one",
    schedule: { kind: "manual" },
  });
}

/** The session's state, its VMs and the tail of its log, for assertion messages. */
async function describeSession(sessionId: string, children: ChildHandle[] = []): Promise<string> {
  const s = await getJobSession(admin, { sessionId }).catch((e: unknown) => ({ error: String(e) }));
  const vms = await db.sessionVm.findMany({ where: { sessionId }, select: { vmExternalId: true, state: true, workerId: true, attempt: true } });
  const tails = children.map((c) => `--- ${c.label} (pid ${c.pid}):\n${c.output().slice(-2000)}`).join("\n");
  return `${JSON.stringify({ state: (s as { state?: string }).state, error: (s as { error?: string }).error, vms, vmErrors: "progress" in s ? s.progress.vms.map((v) => v.error).filter(Boolean) : [], log: "log" in s ? s.log.slice(-25).map((l) => l.text) : [] }, null, 1)}\n${tails}`;
}

async function waitForEnd(sessionId: string, timeoutMs: number, children: ChildHandle[] = []) {
  return waitFor(
    `session ${sessionId} to end`,
    async () => {
      const s = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId } });
      return s.state !== "queued" && s.state !== "running" ? s : null;
    },
    { timeoutMs, intervalMs: 250, describe: () => describeSession(sessionId, children) },
  );
}

/** VM rows of the session that are running and whose disks have been read from (progress is saved every second). */
async function vmsBeingRead(sessionId: string, workerId?: string) {
  const rows = await db.sessionVm.findMany({ where: { sessionId, state: "running", ...(workerId ? { workerId } : {}) } });
  return rows.filter((r) => (JSON.parse(r.progress) as VmRunProgress).disks.some((d) => d.bytesRead > 0));
}

interface Interval {
  workerId: string;
  start: number;
  end: number;
}

/** Per VM, the span of time each worker wrote events about it (what it did to the VM, start to end). */
async function workerSpans(sessionId: string): Promise<Map<string, Interval[]>> {
  const events = await db.sessionEvent.findMany({ where: { sessionId, vmExternalId: { not: null } }, orderBy: { id: "asc" }, select: { vmExternalId: true, workerId: true, at: true } });
  const spans = new Map<string, Map<string, Interval>>();
  for (const e of events) {
    const byWorker = spans.get(e.vmExternalId!) ?? new Map<string, Interval>();
    spans.set(e.vmExternalId!, byWorker);
    const w = e.workerId ?? "?";
    const t = e.at.getTime();
    const i = byWorker.get(w);
    if (i) [i.start, i.end] = [Math.min(i.start, t), Math.max(i.end, t)];
    else byWorker.set(w, { workerId: w, start: t, end: t });
  }
  return new Map([...spans].map(([vm, m]) => [vm, [...m.values()].sort((a, b) => a.start - b.start)]));
}

/**
 * The most tasks each proxy ran at once, from the task-start / task-end events (reported after a
 * slot is taken and before it is given back, so the events' intervals lie inside the slots').
 * At equal timestamps an end counts before a start: the end really happened first.
 */
async function taskPeaks(sessionId: string) {
  const events = await db.sessionEvent.findMany({ where: { sessionId, type: { in: ["task-start", "task-end"] } }, orderBy: { id: "asc" } });
  const points = events.map((e) => {
    const d = JSON.parse(e.data) as { proxyExternalId: string; vmExternalId: string; deviceKey: number; slot: number };
    return { t: e.at.getTime(), delta: e.type === "task-start" ? 1 : -1, ...d };
  });
  const open = new Map<string, number>();
  for (const p of points) {
    const k = `${p.vmExternalId}/${p.deviceKey}/${p.proxyExternalId}/${p.slot}`;
    open.set(k, (open.get(k) ?? 0) + p.delta);
  }
  points.sort((a, b) => a.t - b.t || a.delta - b.delta);
  const now = new Map<string, number>();
  const peaks = new Map<string, number>();
  const slots = new Map<string, Set<number>>();
  for (const p of points) {
    const n = (now.get(p.proxyExternalId) ?? 0) + p.delta;
    now.set(p.proxyExternalId, n);
    peaks.set(p.proxyExternalId, Math.max(peaks.get(p.proxyExternalId) ?? 0, n));
    if (p.delta > 0) slots.set(p.proxyExternalId, (slots.get(p.proxyExternalId) ?? new Set()).add(p.slot));
  }
  return { peaks, slots, starts: points.filter((p) => p.delta > 0).length, unmatched: [...open].filter(([, n]) => n !== 0).map(([k]) => k) };
}

async function setProxyLimits(limit: (p: { kind: string; name: string }) => number) {
  for (const p of await db.proxy.findMany()) {
    if (!savedLimits.has(p.id)) savedLimits.set(p.id, p.maxTasks);
    await db.proxy.update({ where: { id: p.id }, data: { maxTasks: limit(p) } });
  }
  return new Map((await db.proxy.findMany()).map((p) => [p.externalId, { name: p.name, maxTasks: p.maxTasks }]));
}

// ───────────────────────────── 1. kill -9 ─────────────────────────────

describe("a worker process killed -9 in the middle of a multi-VM backup job", () => {
  it.skipIf(!PG)(
    `its VMs are taken over and the session completes on another worker: every point verifies, taken-over VMs show attempt 2, no VM ran on two workers at once, the earlier point is intact ${PG_ONLY}`,
    async () => {
      // Unencrypted and native-key VMs (the worker opens the native provider's keys from the shared data folder).
      const vms = await vmsNamed(["acme-web-01", "globex-web-01", "acme-web-02", "globex-hl7-01", "prov-dc-01"]);
      await guestWrites(vms);
      const job = await passwordJob(vms);
      // The victim claims every VM at once and reads at 1 MiB/s per disk (~16 s a disk), so its VMs
      // are still being read when the taker, started once they are claimed, is ready.
      const victim = await startWorker("victim", workerEnv({ readMiBPerSecond: 1, concurrency: 8 }));

      // The earlier session, whose points must come through untouched.
      const earlier = await runBackupJobNow(admin, { jobId: job.id });
      const earlierEnd = await waitForEnd(earlier.sessionId, 300_000, [victim]);
      expect(earlierEnd.state, await describeSession(earlier.sessionId, [victim])).toBe("success");
      const earlierPoints = await db.restorePoint.findMany({ where: { sessionId: earlier.sessionId } });
      expect(earlierPoints).toHaveLength(vms.length);

      await guestWrites(vms, 100); // every written block changes: the incremental reads as much as the full did
      const { sessionId } = await runBackupJobNow(admin, { jobId: job.id });
      await waitFor("a VM being read on the victim", () => vmsBeingRead(sessionId, victim.workerId).then((r) => r.length > 0), {
        timeoutMs: 120_000,
        describe: () => describeSession(sessionId, [victim]),
      });
      const taker = await startWorker("taker", workerEnv({ concurrency: 8 }));
      const killedAt = Date.now();
      await killChild(victim);
      // After its death nothing changes the victim's rows until its leases run out: these are the VMs it held.
      const held = await db.sessionVm.findMany({ where: { sessionId, workerId: victim.workerId, state: "running" } });
      const heldIds = new Set(held.map((r) => r.vmExternalId));
      expect(heldIds.size, `the victim had finished its VMs before the taker was ready (slow its reads down)\n${await describeSession(sessionId, [victim, taker])}`).toBeGreaterThan(0);
      expect(held.every((r) => r.attempt === 1)).toBe(true);

      const ended = await waitForEnd(sessionId, 240_000, [taker]);
      const story = await describeSession(sessionId, [victim, taker]);
      expect(ended.state, story).toBe("success");

      const rows = await db.sessionVm.findMany({ where: { sessionId } });
      expect(rows).toHaveLength(vms.length);
      for (const r of rows) {
        expect(r.state, `${r.name}\n${story}`).toBe("success");
        if (heldIds.has(r.vmExternalId)) {
          expect(r.attempt, r.name).toBe(2);
          expect(r.workerId, r.name).not.toBe(victim.workerId);
        } else {
          expect(r.attempt, r.name).toBe(1);
        }
      }
      const takeovers = await db.sessionEvent.findMany({ where: { sessionId, type: "taken-over" } });
      expect(new Set(takeovers.map((e) => e.vmExternalId))).toEqual(heldIds);
      for (const e of takeovers) {
        expect(JSON.parse(e.data)).toMatchObject({ from: victim.workerId, attempt: 2 });
        // Recovery by lease: the heartbeat timeout (10 s), a monitor pass (≤ 5 s), a supervise tick
        // (≤ 5 s), the retry delay (1 s) and a poll — about 20 s, never the 40 s of a 30 s monitor.
        expect(e.at.getTime() - killedAt, `${e.vmExternalId} taken over`).toBeLessThan(30_000);
      }

      // One worker at a time per VM: each worker's span of events about a VM ends before the next one's begins,
      // and a taken-over VM's second worker began after the kill.
      const spans = await workerSpans(sessionId);
      for (const [vm, list] of spans) {
        for (let i = 1; i < list.length; i++) expect(list[i].start, `${vm}: ${JSON.stringify(list)}`).toBeGreaterThan(list[i - 1].end);
        if (heldIds.has(vm)) {
          expect(list.map((s) => s.workerId)[0], vm).toBe(victim.workerId);
          expect(list).toHaveLength(2);
          expect(list[1].start).toBeGreaterThan(killedAt);
        } else {
          expect(list, vm).toHaveLength(1);
        }
      }

      // Every VM has its point of this session (an incremental on the earlier one), and everything verifies.
      const points = await db.restorePoint.findMany({ where: { sessionId } });
      expect(points.map((p) => p.vmExternalId).sort()).toEqual(vms.map((v) => v.externalId).sort());
      expect(points.every((p) => p.incremental)).toBe(true);
      const report = (await runRepositoryVerify(repositoryId))!;
      expect(report.outcome, `${report.summary} ${report.problems.join(" | ")}`).toBe("clean");
      for (const p of [...earlierPoints, ...points]) {
        const checked = report.points.find((x) => x.pointId === p.id);
        expect(checked?.ok, `${p.vmName} ${p.id}: ${JSON.stringify(checked)}`).toBe(true);
      }
      const earlierNow = await db.restorePoint.findMany({ where: { id: { in: earlierPoints.map((p) => p.id) } } });
      expect(earlierNow.map((p) => p.status)).toEqual(earlierPoints.map(() => "ok"));
    },
    600_000,
  );
});

// ───────────────────────────── 2. proxy limits ─────────────────────────────

describe("proxy task limits (TRN-6)", () => {
  it(
    `are never exceeded by four workers (${PG ? "four worker processes" : "the console's in-process engine, four VMs at once"}), and the limit is reached`,
    async () => {
      const vms = await vmsNamed([
        "acme-web-01", "globex-web-01", "acme-files-01", "globex-web-02", "prov-log-01", "acme-web-02", "globex-hl7-01",
        "prov-mon-01", "prov-ipam-01", "acme-edi-01", // powered off: empty disks, short tasks
        "prov-mon-02", "acme-web-03", // the DR site's proxies
      ]);
      await guestWrites(vms);
      // Each site's physical proxy (Direct storage first for unencrypted disks) runs 2 tasks, its
      // NBD appliance 1: three slots per site for four or more VMs that want one at once.
      const limits = await setProxyLimits((p) => (p.kind === "physical" ? 2 : 1));
      const chosen = await db.proxy.findMany({ where: { name: { in: ["ams-proxy-phys-01", "ams-proxy-nbd-01", "rtm-proxy-phys-01", "rtm-proxy-nbd-01"] } } });
      expect(chosen).toHaveLength(4);
      const job = await passwordJob(vms, chosen.map((p) => p.id));
      let children: ChildHandle[] = [];
      if (PG) {
        children = await Promise.all([1, 2, 3, 4].map((n) => startWorker(`worker ${n}`, workerEnv({ readMiBPerSecond: 8, concurrency: 4 }))));
      } else {
        expect(env.STRONGROOM_WORKER_CONCURRENCY).toBe(4);
        setOwnReadRate(8);
        await ensureJobEngine();
      }
      const { sessionId } = await runBackupJobNow(admin, { jobId: job.id });
      const ended = await waitForEnd(sessionId, 300_000, children);
      const story = await describeSession(sessionId, children);
      expect(ended.state, story).toBe("success");

      const { peaks, slots, starts, unmatched } = await taskPeaks(sessionId);
      expect(starts, "every disk held a slot").toBe(vms.reduce((n, v) => n + v.disks.length, 0));
      expect(unmatched, "every task-start has its task-end").toEqual([]);
      const table = [...peaks].map(([id, peak]) => ({ proxy: limits.get(id)?.name ?? id, peak, limit: limits.get(id)?.maxTasks, slots: [...(slots.get(id) ?? [])] }));
      for (const row of table) {
        expect(row.peak, JSON.stringify(table)).toBeLessThanOrEqual(row.limit!);
        for (const s of row.slots) expect(s, JSON.stringify(row)).toBeLessThan(row.limit!);
      }
      // Able to fail: a proxy with room for two ran two at once, and disks had to wait for a slot.
      expect(table.some((r) => r.limit === 2 && r.peak === 2), JSON.stringify(table)).toBe(true);
      expect(await db.sessionEvent.count({ where: { sessionId, type: "waiting" } })).toBeGreaterThan(0);
      expect(await db.proxyTask.count({ where: { sessionId } }), "every slot was given back").toBe(0);
      if (PG) {
        const workers = new Set((await db.sessionVm.findMany({ where: { sessionId }, select: { workerId: true } })).map((r) => r.workerId));
        expect(workers.size, `the VMs ran on several processes: ${[...workers].join(", ")}`).toBeGreaterThanOrEqual(2);
      }
    },
    420_000,
  );
});

// ───────────────────────────── 3. stop ─────────────────────────────

describe("stopping a running session (BKP-6)", () => {
  it(`ends a running VM within seconds, with no partial point, and the repository verifies clean (${PG ? "PostgreSQL" : "SQLite"})`, async () => {
    const vms = await vmsNamed(["acme-web-01", "acme-web-02"]);
    await guestWrites(vms);
    const job = await passwordJob(vms);
    await ensureJobEngine();
    const earlier = await runBackupJobNow(admin, { jobId: job.id });
    expect((await waitForEnd(earlier.sessionId, 120_000)).state, await describeSession(earlier.sessionId)).toBe("success");
    const before = await db.restorePoint.findMany({ where: { repositoryId, status: { not: "removed" } }, select: { id: true } });
    const chainsBefore = await db.jobVmState.findMany({ where: { jobId: job.id }, orderBy: { vmExternalId: "asc" } });

    await guestWrites(vms, 100);
    setOwnReadRate(1); // a disk now takes ~16 s: a VM left alone would run well past the 10 s allowed
    const { sessionId } = await runBackupJobNow(admin, { jobId: job.id });
    const reading = await waitFor("a VM being read", () => vmsBeingRead(sessionId).then((r) => (r.length ? r : null)), { timeoutMs: 90_000, describe: () => describeSession(sessionId) });
    const requested = Date.now();
    await stopJobSession(admin, { sessionId });
    const ended = await waitForEnd(sessionId, 60_000);
    const story = await describeSession(sessionId);
    expect(ended.state, story).toBe("stopped");
    expect(ended.endedAt!.getTime() - requested, story).toBeLessThan(10_000);
    const rows = await db.sessionVm.findMany({ where: { sessionId } });
    for (const r of rows) {
      expect(r.state, r.name).toBe("skipped");
      expect(r.endedAt!.getTime() - requested, r.name).toBeLessThan(10_000);
    }
    const cut = rows.find((r) => r.id === reading[0].id)!;
    expect((JSON.parse(cut.progress) as VmRunProgress).error).toMatch(/stopped by a user while it ran; its partial data never became a restore point/);

    // No point of the stopped session, in the catalogue or in the folder; the chains still end at the earlier points.
    expect(await db.restorePoint.count({ where: { sessionId } })).toBe(0);
    expect(await db.jobVmState.findMany({ where: { jobId: job.id }, orderBy: { vmExternalId: "asc" } })).toEqual(chainsBefore);
    const report = (await runRepositoryVerify(repositoryId))!;
    expect(report.outcome, `${report.summary} ${report.problems.join(" | ")}`).toBe("clean");
    expect(report.points.map((p) => p.pointId).sort()).toEqual(before.map((p) => p.id).sort());

    // Nothing was left behind (snapshot, lock, slot): the next run makes its points.
    setOwnReadRate(ownReadRate);
    expect(await db.proxyTask.count({ where: { sessionId } })).toBe(0);
    const next = await runBackupJobNow(admin, { jobId: job.id });
    expect((await waitForEnd(next.sessionId, 120_000)).state, await describeSession(next.sessionId)).toBe("success");
    expect(await db.restorePoint.count({ where: { sessionId: next.sessionId, incremental: true } })).toBe(vms.length);
  }, 300_000);
});

// ───────────────────────────── 4. a transient database error ─────────────────────────────

describe("a transient database error inside a VM's backup", () => {
  it(`hands the VM back to the queue, which runs it again after its back-off: the VM finishes with its point instead of failing (${PG ? "PostgreSQL" : "SQLite"})`, async () => {
    const vms = await vmsNamed(["acme-web-03"]);
    await guestWrites(vms);
    const job = await passwordJob(vms);
    await ensureJobEngine();
    // What Prisma throws when the server drops the connection (P1017) — once, in the middle of the VM's handler.
    const dropped = new PrismaClientKnownRequestError("Server has closed the connection.", { code: "P1017", clientVersion: "test" });
    const spy = vi.spyOn(db.jobVmState, "findUnique").mockRejectedValueOnce(dropped);
    try {
      const { sessionId } = await runBackupJobNow(admin, { jobId: job.id });
      const ended = await waitForEnd(sessionId, 120_000);
      const story = await describeSession(sessionId);
      expect(spy, "the error was injected").toHaveBeenCalledTimes(2);
      expect(ended.state, story).toBe("success");
      const [row] = await db.sessionVm.findMany({ where: { sessionId } });
      expect(row.state, story).toBe("success");
      expect(row.attempt, "the VM ran a second time").toBe(2);
      expect((JSON.parse(row.progress) as VmRunProgress).error).toBeNull();
      // The queue retried the VM's job (not the handler looping on its own).
      const tries = PG
        ? await db.$queryRawUnsafe<Array<{ retries: number }>>(`SELECT retry_count AS retries FROM pgboss.job WHERE name = 'backup-vm' AND data->>'sessionId' = $1`, sessionId)
        : await db.queueJob.findMany({ where: { kind: "backup-vm", payload: { contains: sessionId } }, select: { attempt: true } }).then((r) => r.map((j) => ({ retries: j.attempt })));
      expect(tries.map((t) => Number(t.retries))).toEqual([1]);
      const log = await db.sessionEvent.findMany({ where: { sessionId, type: "log", level: "warning" }, select: { text: true } });
      expect(log.map((l) => l.text).join("\n")).toMatch(/the database failed while this VM was backed up \(Server has closed the connection\.\); it is tried again \(try 2 of 4\)/);
      const points = await db.restorePoint.findMany({ where: { sessionId } });
      expect(points).toHaveLength(1);
      const report = (await runRepositoryVerify(repositoryId))!;
      expect(report.points.find((p) => p.pointId === points[0].id)?.ok, JSON.stringify(report.problems)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  }, 180_000);

  it("is not retried when it is not transient: the VM fails at once with the error", async () => {
    const vms = await vmsNamed(["acme-web-03"]);
    const job = await passwordJob(vms);
    await ensureJobEngine();
    const spy = vi.spyOn(db.jobVmState, "findUnique").mockRejectedValueOnce(new PrismaClientKnownRequestError("The column `x` does not exist in the current database.", { code: "P2022", clientVersion: "test" }));
    try {
      const { sessionId } = await runBackupJobNow(admin, { jobId: job.id });
      const ended = await waitForEnd(sessionId, 120_000);
      expect(ended.state, await describeSession(sessionId)).toBe("failed");
      const [row] = await db.sessionVm.findMany({ where: { sessionId } });
      expect([row.state, row.attempt]).toEqual(["failed", 1]);
      expect((JSON.parse(row.progress) as VmRunProgress).error).toMatch(/does not exist in the current database/);
    } finally {
      spy.mockRestore();
    }
  }, 180_000);
});

// ───────────────────────────── 5. two consoles, one SQLite folder ─────────────────────────────

const CONSOLE_CHILD = "lib/testing/console-engine-child.ts";

async function consoleResult(c: ChildHandle): Promise<{ started: boolean; workerId: string | null; pid: number }> {
  const line = await waitForOutput(c, /\[console-child\] \{.*\}/, 120_000);
  return JSON.parse(line.slice(line.indexOf("{")));
}

describe("two consoles on one SQLite data folder", () => {
  it.skipIf(PG)(`the second refuses to run work, naming the first (this test process) ${SQLITE_ONLY}`, async () => {
    await ensureJobEngine();
    const second = startChild("second console", CONSOLE_CHILD);
    const result = await consoleResult(second);
    expect(await second.exited, second.output()).toBe(0);
    expect(result.started, second.output()).toBe(false);
    expect(second.output()).toContain(`[jobs] The console does not run backups: Another Strongroom console (process ${process.pid} on ${os.hostname()}`);
    expect(second.output()).toContain("Stop it first, or give this console its own STRONGROOM_DATA_DIR. To run several processes on one database, use PostgreSQL and `npm run worker`.");
    expect(await db.jobWorker.count({ where: { pid: second.pid } }), "the refused console registered no worker").toBe(0);
  }, 180_000);

  it.skipIf(PG)(`a console killed -9 holds the folder only until its heartbeat is stale; then the next console starts ${SQLITE_ONLY}`, async () => {
    // A folder of its own, so this test's consoles never meet the test process's.
    const database = await createTestDatabase(undefined);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-two-consoles-"));
    const own = { DATABASE_URL: database.url, STRONGROOM_DATA_DIR: dataDir };
    const raw = new Database(database.url.slice("file:".length), { readonly: true, fileMustExist: true });
    try {
      const first = startChild("first console", CONSOLE_CHILD, own, ["--hold"]);
      expect((await consoleResult(first)).started, first.output()).toBe(true);
      const second = startChild("second console", CONSOLE_CHILD, own);
      expect((await consoleResult(second)).started, second.output()).toBe(false);
      expect(second.output()).toContain(`Another Strongroom console (process ${first.pid} on ${os.hostname()}`);

      await killChild(first);
      // Refused for as long as the dead console's last heartbeat looks alive; then free.
      await waitFor(
        "the killed console's heartbeat to go stale",
        async () => {
          const row = raw.prepare(`SELECT "heartbeatAt" AS beat FROM "JobWorker" WHERE "pid" = ?`).get(first.pid) as { beat: string | number } | undefined;
          return row !== undefined && !workerIsAlive(new Date(row.beat));
        },
        { timeoutMs: WORKER_DEAD_AFTER_MS + 30_000, intervalMs: 500 },
      );
      const third = startChild("third console", CONSOLE_CHILD, own);
      expect((await consoleResult(third)).started, third.output()).toBe(true);
      expect(await third.exited, third.output()).toBe(0);
    } finally {
      raw.close();
      await stopAllChildren();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
