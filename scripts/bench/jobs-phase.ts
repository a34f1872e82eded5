// One phase of `npm run bench:jobs` (scripts/bench-jobs.ts), in a child process of its own:
// lib/config/env.ts reads DATABASE_URL, STRONGROOM_DATA_DIR and the lab's size once, at import, so
// each database and data folder gets a fresh process. Progress goes to stdout as it happens; the
// phase's figures come last, as one line "@@result <json>" that the parent reads.
//
//   node --conditions=react-server --import tsx scripts/bench/jobs-phase.ts <phase> '<json args>'
//
//   setup     (PostgreSQL) start the queue (pg-boss's schema and queues, before any worker starts),
//             sync the lab's inventory, pick the job's VMs (powered on; unencrypted or on a native
//             key provider, since a tenant's KMS is not registered here) and let their guests write
//             their first data; the daily compliance run, so it is not due while the workers run.
//   run       a backup job of those VMs, timed from "Run now" to the session's end, with the
//             Sessions page's service polled every 500 ms meanwhile. On PostgreSQL this process
//             only enqueues (the workers are the parent's `scripts/worker.ts` children); on SQLite
//             it is the console and runs the work itself, with the console's job engine.
//   overhead  (SQLite, its own data folder) bench:transports's measurement, then a full backup
//             session of one encrypted VM and an incremental one after 1% of its blocks changed,
//             through the console's job engine.
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import type { Actor } from "@/lib/auth/actor";
import { env } from "@/lib/config/env";
import { db, isPostgres } from "@/lib/db/client";
import { jobQueue } from "@/lib/jobs";
import { startJobEngine } from "@/lib/jobs/engine";
import { PROXY_TASK_LEASE_MS } from "@/lib/jobs/proxy-tasks";
import { VM_DONE, type VmRunProgress } from "@/lib/jobs/session-progress";
import { measureLabTransports } from "@/lib/platform/lab/bench-transports";
import { createBackupRepository } from "@/lib/services/backup/create-repository";
import { runBackupJobNow } from "@/lib/services/backup/run-backup-job";
import { createBackupJob } from "@/lib/services/backup/save-backup-job";
import { runDailyCompliance } from "@/lib/services/compliance/run-compliance";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import { JOB_HANDLERS, JOB_SCHEDULES } from "@/lib/services/job-handlers";
import { listSessions } from "@/lib/services/jobs/list-sessions";
import { powerVm } from "@/lib/services/vms/power-vm";
import { runGuestWrites } from "@/lib/services/vms/run-guest-writes";
import { makeActor } from "@/lib/testing/factories";
import { percentile } from "./measure";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => console.log(line);
const PASSWORD = "bench: correct horse battery staple";
const PAGE_POLL_MS = 500;

// ---------------------------------------------------------------- results (read by the parent)

export interface Stats {
  n: number;
  median: number;
  p95: number;
  max: number;
}

export interface ProxyPeak {
  externalId: string;
  name: string;
  limit: number;
  peak: number;
  /** Task slot numbers seen (each must be below the limit). */
  maxSlot: number;
  /** When the peak was first reached above the limit, and by whom (only when it was). */
  violation: string | null;
  /** A slot's next holder starting before its previous holder's end event (see slotHandovers). */
  overlaps: number;
  worstOverlap: string | null;
  /** Overlaps whose earlier holder held the slot for at least a lease: its slot may really have been taken over. */
  possibleTakeovers: number;
}

export interface RunResult {
  database: "postgresql" | "sqlite";
  vmCount: number;
  diskCount: number;
  state: string;
  error: string | null;
  vmStates: Record<string, number>;
  failures: string[];
  wallMs: number;
  /** queuedAt → startedAt of the session (the backup-session job's pick-up) and → endedAt. */
  sessionQueueMs: number | null;
  sessionDbMs: number | null;
  bytesRead: number;
  bytesStored: number;
  /** backup-vm jobs: enqueue → start, from the queue's rows (pg-boss's job table / QueueJob). */
  queueLatencyMs: Stats;
  retriedVmJobs: number;
  page: Stats;
  proxies: ProxyPeak[];
  vmsByWorker: Array<{ workerId: string; vms: number }>;
  /** Mean start → end of one VM, for the first and the last tenth of the VMs by start (does a VM get slower as the session goes on?). */
  vmMsFirstTenth: number;
  vmMsLastTenth: number;
  warmUpMs: number;
  /** The last VM's end → the session's end (retention, the session's closing). */
  closeMs: number | null;
}

export interface SetupResult {
  estateVms: number;
  selected: number;
  disks: number;
  bytesWritten: number;
  syncMs: number;
  guestWritesMs: number;
}

export interface SessionTiming {
  state: string;
  error: string | null;
  wallMs: number;
  /** CPU seconds of the console's process (engine, codec threads, the lab's host side) during the session. */
  cpuSeconds: number;
  bytesRead: number;
  bytesStored: number;
  mode: string | null;
  proxy: string | null;
  incremental: boolean | null;
  /** Where the time went, from the session's and its VM's rows (ms). */
  phases: { queued: number; prepare: number; vm: number; close: number } | null;
}

export interface OverheadResult {
  vmName: string;
  dataBytes: number;
  changedBytes: number;
  transports: Array<{ mode: string; disk: string; bytes: number; seconds: number; cpuSeconds: number }>;
  full: SessionTiming;
  incremental: SessionTiming;
}

// ---------------------------------------------------------------- helpers

function stats(values: number[]): Stats {
  if (values.length === 0) return { n: 0, median: NaN, p95: NaN, max: NaN };
  return { n: values.length, median: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) };
}

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/** A repository and a password job whose selection names these VMs. */
async function makeJob(admin: Actor, label: string, repoDir: string, vms: Array<{ id: string; name: string }>): Promise<string> {
  const repository = await createBackupRepository(admin, { name: `bench ${label}`, path: repoDir });
  const items = vms.map((v) => ({ kind: "vm" as const, id: v.id, label: v.name }));
  // The job form takes at most 500 selection items, and no folder, site or tenant of the lab
  // holds only VMs this bench can read (every one mixes in VMs on a tenant's KMS). So the job is
  // made through the service with its first 500 VMs, then its selection names all of them: the
  // session resolves a selection of any length the same way (resolveSelection).
  const created = await createBackupJob(admin, {
    name: `bench ${label}`,
    selection: items.slice(0, 500),
    repositoryId: repository.id,
    retentionPoints: 3,
    proxyMode: "automatic",
    failoverToNetwork: true,
    encryptionMode: "password",
    password: PASSWORD,
    passwordConfirm: PASSWORD,
    passwordHint: "the bench's",
    schedule: { kind: "manual" },
  });
  if (items.length > 500) await db.backupJob.update({ where: { id: created.id }, data: { selection: JSON.stringify(items) } });
  return created.id;
}

interface Timed {
  sessionId: string;
  wallMs: number;
  /** CPU seconds of this process (all its threads) from "Run now" to the end. */
  cpuSeconds: number;
  page: number[];
}

/**
 * "Run now", then waits for the session's end (looking every `pollMs`). With `pagePoll` the
 * Sessions page's service (what the page and /api/jobs/sessions call) is timed every 500 ms while
 * it runs; its answer also gives the progress line every 15 s.
 */
async function runAndWait(admin: Actor, jobId: string, o: { pagePoll: boolean; pollMs: number; label: string; timeoutMs: number }): Promise<Timed> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { sessionId } = await runBackupJobNow(admin, { jobId });
  const page: number[] = [];
  let ended = false;
  let lastSaid = t0;
  const poller = (async () => {
    if (!o.pagePoll) return;
    while (!ended) {
      const started = performance.now();
      const answer = await listSessions(admin, {});
      const ms = performance.now() - started;
      page.push(ms);
      if (started - lastSaid >= 15_000) {
        lastSaid = started;
        const row = answer.rows.find((r) => r.id === sessionId);
        if (row) say(`  ${o.label}: ${((started - t0) / 1000).toFixed(0)} s, ${row.vms.success + row.vms.warning + row.vms.failed + row.vms.skipped}/${row.vms.total} VMs done (${row.vms.running} running, ${row.vms.failed} failed); page ${ms.toFixed(0)} ms`);
      }
      await sleep(Math.max(0, PAGE_POLL_MS - ms));
    }
  })();
  let lastDone = -1;
  let lastCheck = performance.now();
  let lastChange = lastCheck;
  try {
    for (;;) {
      const s = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId }, select: { state: true } });
      if (s.state !== "queued" && s.state !== "running") break;
      await sleep(o.pollMs);
      // A session that stops moving for long is a broken run, not a slow one.
      if (performance.now() - lastCheck > 5_000) {
        lastCheck = performance.now();
        const done = await db.sessionVm.count({ where: { sessionId, state: { in: [...VM_DONE] } } });
        if (done !== lastDone) [lastDone, lastChange] = [done, lastCheck];
        else if (lastCheck - lastChange > o.timeoutMs) throw new Error(`${o.label}: no VM of session ${sessionId} ended for ${(o.timeoutMs / 1000).toFixed(0)} s (${done} done)`);
      }
    }
  } finally {
    ended = true;
    await poller;
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { sessionId, wallMs, cpuSeconds: (cpu.user + cpu.system) / 1e6, page };
}

/** Peak concurrent tasks per proxy, from the session's task-start/task-end events (a sweep in time order). */
async function proxyPeaks(sessionId: string): Promise<ProxyPeak[]> {
  const [events, proxies] = await Promise.all([
    db.sessionEvent.findMany({ where: { sessionId, type: { in: ["task-start", "task-end"] } }, select: { at: true, type: true, data: true, workerId: true } }),
    db.proxy.findMany({ select: { externalId: true, name: true, maxTasks: true } }),
  ]);
  const byProxy = new Map<string, Array<{ at: number; delta: 1 | -1; slot: number; who: string }>>();
  for (const e of events) {
    const d = JSON.parse(e.data) as { proxyExternalId: string; slot: number; vmExternalId: string; deviceKey: number };
    const list = byProxy.get(d.proxyExternalId) ?? [];
    list.push({ at: e.at.getTime(), delta: e.type === "task-start" ? 1 : -1, slot: d.slot, who: `${d.vmExternalId}:${d.deviceKey} on ${e.workerId ?? "?"}` });
    byProxy.set(d.proxyExternalId, list);
  }
  const out: ProxyPeak[] = [];
  for (const p of proxies) {
    const list = byProxy.get(p.externalId);
    if (!list) continue;
    // At the same millisecond an end goes first: a slot is taken only after its holder let it go.
    list.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let now = 0;
    let peak = 0;
    let violation: string | null = null;
    const holders = new Set<string>();
    for (const e of list) {
      now += e.delta;
      if (e.delta === 1) holders.add(e.who);
      else holders.delete(e.who);
      if (now > peak) peak = now;
      if (now > p.maxTasks && !violation) violation = `${now} tasks at ${new Date(e.at).toISOString()}: ${[...holders].join(", ")}`;
    }
    out.push({ externalId: p.externalId, name: p.name, limit: p.maxTasks, peak, maxSlot: Math.max(...list.map((e) => e.slot)), violation, ...slotHandovers(list) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * One slot's holders in event order: a next holder's task-start before the previous holder's
 * task-end on the same slot. The table's key (proxy, slot) lets a slot's next holder in only
 * after the previous one's row is gone — unless that lease ran out (PROXY_TASK_LEASE_MS, renewed
 * while held), which needs a hold at least that long. So an overlap by a holder that held the
 * slot for less than the lease is a handover whose end was recorded late, not a second task.
 */
function slotHandovers(list: Array<{ at: number; delta: 1 | -1; slot: number; who: string }>): Pick<ProxyPeak, "overlaps" | "worstOverlap" | "possibleTakeovers"> {
  const bySlot = new Map<number, typeof list>();
  for (const e of list) (bySlot.get(e.slot) ?? bySlot.set(e.slot, []).get(e.slot)!).push(e);
  let overlaps = 0;
  let possibleTakeovers = 0;
  let worst: { ms: number; text: string } | null = null;
  for (const [slot, events] of bySlot) {
    const open = new Map<string, number>();
    for (const e of events) {
      if (e.delta === 1) {
        for (const [who, since] of open) {
          overlaps++;
          const end = events.find((x) => x.delta === -1 && x.who === who && x.at >= since);
          const ms = (end?.at ?? Infinity) - e.at;
          const held = (end?.at ?? Infinity) - since;
          if (held >= PROXY_TASK_LEASE_MS) possibleTakeovers++;
          if (!worst || ms > worst.ms) worst = { ms, text: `slot ${slot}: ${e.who} started ${ms} ms before ${who} recorded its end (held ${(held / 1000).toFixed(2)} s, lease ${PROXY_TASK_LEASE_MS / 1000} s)` };
        }
        open.set(e.who, e.at);
      } else open.delete(e.who);
    }
  }
  return { overlaps, worstOverlap: worst?.text ?? null, possibleTakeovers };
}

/** Enqueue → start of the session's backup-vm jobs, from the queue's own rows. */
async function vmQueueLatency(sessionId: string): Promise<{ latency: number[]; retried: number }> {
  if (isPostgres(env.databaseUrl)) {
    const rows = await db.$queryRawUnsafe<Array<{ ms: number; retries: number }>>(
      `SELECT (EXTRACT(EPOCH FROM (started_on - created_on)) * 1000)::float8 AS ms, retry_count AS retries FROM pgboss.job WHERE name = 'backup-vm' AND data->>'sessionId' = $1 AND started_on IS NOT NULL`,
      sessionId,
    );
    return { latency: rows.map((r) => Number(r.ms)), retried: rows.filter((r) => Number(r.retries) > 0).length };
  }
  const rows = await db.queueJob.findMany({ where: { kind: "backup-vm", payload: { contains: `"sessionId":"${sessionId}"` } }, select: { createdAt: true, startedAt: true, attempt: true } });
  return { latency: rows.flatMap((r) => (r.startedAt ? [r.startedAt.getTime() - r.createdAt.getTime()] : [])), retried: rows.filter((r) => r.attempt > 0).length };
}

async function sessionTiming(t: Timed): Promise<SessionTiming> {
  const s = await db.jobSession.findUniqueOrThrow({ where: { id: t.sessionId } });
  const vms = await db.sessionVm.findMany({ where: { sessionId: t.sessionId }, select: { startedAt: true, endedAt: true, progress: true } });
  const planned = await db.sessionEvent.findFirst({ where: { sessionId: t.sessionId, type: "disk-planned" }, select: { data: true } });
  const plan = planned ? (JSON.parse(planned.data) as { mode: string; proxyName: string }) : null;
  const progress = vms[0] ? (JSON.parse(vms[0].progress) as VmRunProgress) : null;
  const vmStart = Math.min(...vms.map((v) => v.startedAt?.getTime() ?? Infinity));
  const vmEnd = Math.max(...vms.map((v) => v.endedAt?.getTime() ?? -Infinity));
  const phases =
    s.startedAt && s.endedAt && Number.isFinite(vmStart) && Number.isFinite(vmEnd)
      ? { queued: s.startedAt.getTime() - s.queuedAt.getTime(), prepare: vmStart - s.startedAt.getTime(), vm: vmEnd - vmStart, close: s.endedAt.getTime() - vmEnd }
      : null;
  return { state: s.state, error: s.error, wallMs: t.wallMs, cpuSeconds: t.cpuSeconds, bytesRead: Number(s.bytesRead), bytesStored: Number(s.bytesStored), mode: plan?.mode ?? null, proxy: plan?.proxyName ?? null, incremental: progress?.incremental ?? null, phases };
}

function result(value: unknown): void {
  console.log(`@@result ${JSON.stringify(value)}`);
}

// ---------------------------------------------------------------- phases

async function setup(a: { vms: number; selectionFile: string }): Promise<SetupResult> {
  await jobQueue().start();
  const admin = await makeActor("BACKUP_ADMIN");
  let t = performance.now();
  const synced = await syncInventoryFromPlatform();
  const syncMs = performance.now() - t;
  say(`  setup: lab inventory synced: ${synced.vms} VMs in ${(syncMs / 1000).toFixed(1)} s`);
  const vms = await db.vm.findMany({
    where: { powerState: "poweredOn", OR: [{ encrypted: false }, { keyProvider: { kind: "NATIVE" } }] },
    orderBy: { name: "asc" },
    take: a.vms,
    select: { id: true, externalId: true, name: true, diskCount: true },
  });
  if (vms.length < a.vms) throw new Error(`the lab of ${synced.vms} VMs has only ${vms.length} powered-on VMs that are unencrypted or on a native key provider; ${a.vms} were asked for`);
  t = performance.now();
  let bytes = 0;
  let done = 0;
  await pool(vms, 4, async (vm) => {
    const r = await runGuestWrites(admin, { vmId: vm.id, percent: 1 });
    bytes += r.bytesWritten;
    if (++done % 250 === 0) say(`  setup: guest writes ${done}/${vms.length} VMs`);
  });
  const guestWritesMs = performance.now() - t;
  say(`  setup: ${vms.length} VMs wrote their first data (${(bytes / 2 ** 20).toFixed(0)} MiB) in ${(guestWritesMs / 1000).toFixed(1)} s`);
  await runDailyCompliance();
  fs.writeFileSync(a.selectionFile, JSON.stringify(vms.map((v) => v.externalId)));
  await jobQueue().stop();
  return { estateVms: synced.vms, selected: vms.length, disks: vms.reduce((s, v) => s + v.diskCount, 0), bytesWritten: bytes, syncMs, guestWritesMs };
}

async function run(a: { label: string; selectionFile: string; repoDir: string; timeoutS: number; warmUpVms: number }): Promise<RunResult> {
  const postgres = isPostgres(env.databaseUrl);
  if (!postgres) {
    // The console's own database: the same lab folder, its own inventory rows.
    const synced = await syncInventoryFromPlatform();
    say(`  ${a.label}: lab inventory synced: ${synced.vms} VMs`);
    await runDailyCompliance();
  }
  // PostgreSQL: this process only enqueues; pg-boss must be started before a service enqueues.
  if (postgres) await jobQueue().start();
  const admin = await makeActor("BACKUP_ADMIN");
  const externalIds = JSON.parse(fs.readFileSync(a.selectionFile, "utf8")) as string[];
  // No orderBy: with one, Prisma cannot split the 1,000 ids over several statements (SQLite binds at most 999).
  const vms = (await db.vm.findMany({ where: { externalId: { in: externalIds } }, select: { id: true, name: true, diskCount: true } })).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  if (vms.length !== externalIds.length) throw new Error(`${externalIds.length - vms.length} of the selected VMs are not in this database's inventory`);
  const jobId = await makeJob(admin, a.label, a.repoDir, vms);
  const engine = postgres ? null : await startJobEngine({ role: "console", handlers: JOB_HANDLERS, schedules: JOB_SCHEDULES });
  say(`  ${a.label}: ${vms.length} VMs; ${postgres ? "this process enqueues only, the worker processes run the work" : `the console's engine runs the work in this process (${engine!.queue.implementation} queue)`}`);
  // Workers and the console are long-running processes: a first, small job of its own (into a
  // repository of its own) loads their code paths and connections before anything is timed.
  let warmUpMs = 0;
  if (a.warmUpVms > 0) {
    const warmJob = await makeJob(admin, `${a.label} warm-up`, `${a.repoDir}-warm-up`, vms.slice(0, a.warmUpVms));
    const warm = await runAndWait(admin, warmJob, { pagePoll: false, pollMs: 200, label: `${a.label} warm-up`, timeoutMs: a.timeoutS * 1000 });
    warmUpMs = warm.wallMs;
    fs.rmSync(`${a.repoDir}-warm-up`, { recursive: true, force: true });
    say(`  ${a.label}: warm-up job of ${a.warmUpVms} VMs took ${(warmUpMs / 1000).toFixed(1)} s (not counted)`);
  }
  const timed = await runAndWait(admin, jobId, { pagePoll: true, pollMs: 200, label: a.label, timeoutMs: a.timeoutS * 1000 });
  const s = await db.jobSession.findUniqueOrThrow({ where: { id: timed.sessionId } });
  const [states, byWorker, failed, proxies, latency, spans] = await Promise.all([
    db.sessionVm.groupBy({ by: ["state"], where: { sessionId: timed.sessionId }, _count: { _all: true } }),
    db.sessionVm.groupBy({ by: ["workerId"], where: { sessionId: timed.sessionId }, _count: { _all: true } }),
    db.sessionVm.findMany({ where: { sessionId: timed.sessionId, state: { notIn: ["success", "warning"] } }, take: 5, select: { name: true, state: true, progress: true } }),
    proxyPeaks(timed.sessionId),
    vmQueueLatency(timed.sessionId),
    db.sessionVm.findMany({ where: { sessionId: timed.sessionId, startedAt: { not: null }, endedAt: { not: null } }, orderBy: { startedAt: "asc" }, select: { startedAt: true, endedAt: true } }),
  ]);
  const tenth = Math.max(1, Math.floor(spans.length / 10));
  const meanMs = (list: typeof spans) => list.reduce((sum, v) => sum + (v.endedAt!.getTime() - v.startedAt!.getTime()), 0) / Math.max(1, list.length);
  await engine?.stop();
  if (postgres) await jobQueue().stop();
  return {
    database: postgres ? "postgresql" : "sqlite",
    vmCount: vms.length,
    diskCount: vms.reduce((n, v) => n + v.diskCount, 0),
    state: s.state,
    error: s.error,
    vmStates: Object.fromEntries(states.map((g) => [g.state, g._count._all])),
    failures: failed.map((v) => `${v.name} ${v.state}: ${(JSON.parse(v.progress) as VmRunProgress).error ?? "?"}`),
    wallMs: timed.wallMs,
    sessionQueueMs: s.startedAt ? s.startedAt.getTime() - s.queuedAt.getTime() : null,
    sessionDbMs: s.endedAt ? s.endedAt.getTime() - s.queuedAt.getTime() : null,
    bytesRead: Number(s.bytesRead),
    bytesStored: Number(s.bytesStored),
    queueLatencyMs: stats(latency.latency),
    retriedVmJobs: latency.retried,
    page: stats(timed.page),
    proxies,
    vmsByWorker: byWorker.map((g) => ({ workerId: g.workerId ?? "(none)", vms: g._count._all })).sort((x, y) => y.vms - x.vms),
    vmMsFirstTenth: meanMs(spans.slice(0, tenth)),
    vmMsLastTenth: meanMs(spans.slice(-tenth)),
    warmUpMs,
    closeMs: s.endedAt && spans.length ? s.endedAt.getTime() - Math.max(...spans.map((v) => v.endedAt!.getTime())) : null,
  };
}

async function overhead(a: { sessionMiB: number; transportRepeat: number; repoDir: string }): Promise<OverheadResult> {
  say(`  overhead: bench:transports's measurement, ${a.sessionMiB} MiB disks`);
  const transports = await measureLabTransports(a.sessionMiB, { blockBytes: 1024 * 1024, depth: 4, repeat: a.transportRepeat }, (line) => say(`  overhead: ${line.trim()}`));
  await syncInventoryFromPlatform();
  await runDailyCompliance();
  const admin = await makeActor("BACKUP_ADMIN");
  // One encrypted VM on a native key provider with one disk, so its data is what the lab writes into one disk.
  const vm = await db.vm.findFirst({ where: { encrypted: true, keyProvider: { kind: "NATIVE" }, diskCount: 1, guestOsEncrypted: false }, orderBy: [{ vtpm: "asc" }, { name: "asc" }] });
  if (!vm) throw new Error("the lab has no VM encrypted with a native key provider that has a single disk");
  if (vm.powerState !== "poweredOn") await powerVm(admin, { vmId: vm.id, action: "on" });
  await startJobEngine({ role: "console", handlers: JOB_HANDLERS, schedules: JOB_SCHEDULES });
  // A warm-up session of the same VM before its guest writes (nothing to read yet): the console's
  // code paths, the lab host's TLS and the repository code are loaded before anything is timed.
  const warm = await runAndWait(admin, await makeJob(admin, "overhead warm-up", `${a.repoDir}-warm-up`, [vm]), { pagePoll: false, pollMs: 20, label: "overhead warm-up", timeoutMs: 600_000 });
  say(`  overhead: warm-up session (empty disk) took ${(warm.wallMs / 1000).toFixed(2)} s (not counted)`);
  let t = performance.now();
  const fill = await runGuestWrites(admin, { vmId: vm.id, percent: 1 });
  say(`  overhead: ${vm.name} (encrypted, native key provider) wrote ${(fill.bytesWritten / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const jobId = await makeJob(admin, "overhead", a.repoDir, [vm]);
  const full = await sessionTiming(await runAndWait(admin, jobId, { pagePoll: false, pollMs: 20, label: "overhead full", timeoutMs: 600_000 }));
  say(`  overhead: full session ${full.state} in ${(full.wallMs / 1000).toFixed(2)} s (${full.mode} via ${full.proxy})`);
  t = performance.now();
  const change = await runGuestWrites(admin, { vmId: vm.id, percent: 1 });
  say(`  overhead: the guest rewrote 1% of its blocks (${(change.bytesWritten / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const incremental = await sessionTiming(await runAndWait(admin, jobId, { pagePoll: false, pollMs: 20, label: "overhead incremental", timeoutMs: 600_000 }));
  say(`  overhead: incremental session ${incremental.state} in ${(incremental.wallMs / 1000).toFixed(2)} s`);
  return {
    vmName: vm.name,
    dataBytes: fill.bytesWritten,
    changedBytes: change.bytesWritten,
    transports: transports.map((r) => ({ ...r })),
    full,
    incremental,
  };
}

async function main(): Promise<void> {
  const [phase, json] = process.argv.slice(2);
  const args = JSON.parse(json ?? "{}");
  if (phase === "setup") result(await setup(args));
  else if (phase === "run") result(await run(args));
  else if (phase === "overhead") result(await overhead(args));
  else throw new Error(`unknown phase ${phase}`);
}

main()
  .then(async () => {
    await db.$disconnect();
    process.exit(0);
  })
  .catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
