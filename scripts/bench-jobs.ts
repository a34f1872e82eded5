// `npm run bench:jobs [-- --vms 1000 --workers 1,2,4 --disk-mib 2 --session-mib 2048 --transport-repeat 3]`
//
// The job engine (docs/decisions/0005-job-engine.md) under one large lab backup job, in one run:
//
//  1. PostgreSQL: a fresh database (created here, dropped at the end) and one lab folder. A backup
//     job of --vms VMs whose disks hold --disk-mib MiB each, run with 1, 2 and 4 worker processes
//     (`scripts/worker.ts` children; the process that presses "Run now" only enqueues). Per run:
//     wall time from "Run now" to the session's end, VMs per minute, the peak of concurrent tasks
//     per proxy against its limit (a sweep over the session's task-start/task-end events), the
//     backup-vm jobs' enqueue → start latency (pg-boss's job rows), and the response time of the
//     Sessions page's service (listSessions, what the page and /api/jobs/sessions serve) polled
//     every 500 ms while the job runs. Each run is a new job into a new repository (a full backup),
//     after an untimed warm-up job of a few VMs (workers are long-running processes: their first
//     VMs would otherwise time module loading and connection set-up).
//  2. SQLite: the same job, same lab folder, on a fresh SQLite database with the console's own
//     in-process engine (the table queue) in the process that also serves the polled page.
//  3. Session overhead: bench:transports's measurement (lib/platform/lab/bench-transports.ts) at
//     --session-mib, then, through the console's job engine, a full backup session of one VM
//     encrypted with a native key provider holding that much data, and an incremental session
//     after its guest rewrote 1% of its blocks. Targets: the full session reads at ≥ 75% of the
//     transport's rate in the mode it used; the incremental costs < 1 s beyond reading its data at
//     that rate.
//
// The lab is the estate generator's (lib/platform/lab/estate.ts), made just big enough to hold
// --vms powered-on VMs that are unencrypted or on a native key provider (a tenant's KMS is not
// registered here, so its VMs could not be read). Everything lives in a temporary folder that is
// removed at the end, as are the databases. Not part of `npm test`.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { generateEstate, MAX_VM_COUNT } from "../lib/platform/lab/estate";
import { formatBenchTable, type BenchRow } from "../lib/platform/lab/transport/bench";
import { transportModeName } from "../lib/platform/transport-policy";
import type { TransportMode } from "../lib/platform/connector";
import { createTestDatabase, type TestDatabase } from "../lib/testing/test-database";
import { columns } from "./bench/measure";
import type { OverheadResult, RunResult, SetupResult, SessionTiming } from "./bench/jobs-phase";

const MiB = 2 ** 20;
const TARGETS = { sessionShare: 0.75, incrementalOverheadS: 1 } as const;
const LAB_STATE_MAX_VMS = 50_000; // STRONGROOM_LAB_VMS's limit (lib/config/env.ts)

const options = {
  vms: { type: "string", default: "1000" },
  workers: { type: "string", default: "1,2,4" },
  "disk-mib": { type: "string", default: "2" }, // the lab writes 1 MiB blocks by kind: 2 MiB = a zero block and a random one
  "session-mib": { type: "string", default: "2048" },
  "transport-repeat": { type: "string", default: "3" },
  parts: { type: "string", default: "pg,sqlite,overhead" },
  pg: { type: "string", default: "postgresql://postgres@127.0.0.1:5432/postgres" },
  "timeout-s": { type: "string", default: "300" }, // a run with no VM ending for this long is broken
  "warm-up-vms": { type: "string", default: "auto" }, // auto: 2 × (processes × STRONGROOM_WORKER_CONCURRENCY)
} as const;
function usage(message: string): never {
  console.error(`bench:jobs: ${message}`);
  process.exit(2);
}
const { values: args } = (() => {
  try {
    return parseArgs({ options });
  } catch (e) {
    return usage((e as Error).message);
  }
})();
const whole = (name: keyof typeof args, min: number) => {
  const n = Number(args[name]);
  return Number.isInteger(n) && n >= min ? n : usage(`--${name} must be a whole number ≥ ${min}, got "${args[name]}"`);
};
const vmCount = whole("vms", 1);
const diskMiB = whole("disk-mib", 1);
const sessionMiB = whole("session-mib", 16);
const transportRepeat = whole("transport-repeat", 1);
const timeoutS = whole("timeout-s", 30);
const warmUpVms = args["warm-up-vms"] === "auto" ? -1 : whole("warm-up-vms", 0);
const workerCounts = args.workers.split(",").map((w) => (/^\d+$/.test(w.trim()) && Number(w) >= 1 ? Number(w) : usage(`--workers must be counts like 1,2,4, got "${args.workers}"`)));
const parts = new Set(args.parts.split(",").map((p) => p.trim()));
for (const p of parts) if (!["pg", "sqlite", "overhead"].includes(p)) usage(`--parts takes pg, sqlite and overhead, got "${p}"`);

const root = path.resolve(__dirname, "..");
const PHASE = path.join(root, "scripts/bench/jobs-phase.ts");
const WORKER = path.join(root, "scripts/worker.ts");
const concurrency = process.env.STRONGROOM_WORKER_CONCURRENCY ?? "4";
const secs = (ms: number) => (ms / 1000).toFixed(1);

// ---------------------------------------------------------------- the lab's size

/** The smallest estate (in steps of 100) with `wanted` powered-on VMs this bench can read. */
function estateFor(wanted: number): { size: number; eligible: number } {
  for (let size = Math.max(100, Math.ceil((wanted * 2.4) / 100) * 100); size <= Math.min(MAX_VM_COUNT, LAB_STATE_MAX_VMS); size += 100) {
    const e = generateEstate({ vmCount: size });
    const native = new Set(e.keyProviders.filter((k) => k.kind === "native").map((k) => k.externalId));
    const eligible = e.vms.filter((v) => v.powerState === "poweredOn" && (!v.encrypted || native.has(v.keyProviderExternalId ?? ""))).length;
    if (eligible >= wanted) return { size, eligible };
  }
  return usage(`no lab estate up to ${LAB_STATE_MAX_VMS} VMs holds ${wanted} VMs this bench can read`);
}

// ---------------------------------------------------------------- child processes

const children = new Set<ChildProcess>();

function spawnTs(script: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // node with tsx's loader (not the tsx CLI, which would put a second process in between), and the
  // react-server condition like `npm run worker`, so server-only modules load.
  // BENCH_JOBS_CPU_PROFILE=<folder>: every child writes a V8 CPU profile there (finding where the time goes).
  const profile = process.env.BENCH_JOBS_CPU_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(process.env.BENCH_JOBS_CPU_PROFILE)}`] : [];
  const child = spawn(process.execPath, [...profile, "--conditions=react-server", "--import", "tsx", script, ...argv], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = "";
  stream.on("data", (d: Buffer) => {
    const parts = (rest + d.toString()).split("\n");
    rest = parts.pop() ?? "";
    for (const l of parts) onLine(l);
  });
  stream.on("end", () => rest && onLine(rest));
}

/** Runs one phase in a child; its progress lines are shown as they come, its result is returned. */
function phase<T>(name: string, phaseArgs: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawnTs(PHASE, [name, JSON.stringify(phaseArgs)], env);
    let value: T | undefined;
    const errors: string[] = [];
    let shown = 0;
    lines(child.stdout!, (l) => {
      if (l.startsWith("@@result ")) value = JSON.parse(l.slice(9)) as T;
      else if (l.trim()) console.log(l);
    });
    lines(child.stderr!, (l) => {
      if (!l.trim()) return;
      errors.push(l);
      if (shown++ < 10) console.log(`  [${name} stderr] ${l}`);
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (errors.length > 10) console.log(`  [${name} stderr] … ${errors.length - 10} more line(s)`);
      if (code === 0 && value !== undefined) resolve(value);
      else reject(new Error(`phase ${name} exited with ${code ?? signal}:\n${errors.slice(-30).join("\n")}`));
    });
  });
}

interface Workers {
  stop(): Promise<void>;
  errorLines(): string[];
}

/** `count` worker processes (`scripts/worker.ts`), resolved once each one said it runs work. */
async function startWorkers(count: number, env: NodeJS.ProcessEnv, logDir: string): Promise<Workers> {
  const procs: ChildProcess[] = [];
  const errors: string[] = [];
  const ready = Array.from({ length: count }, (_, i) => {
    const child = spawnTs(WORKER, [], env);
    procs.push(child);
    const log = fs.createWriteStream(path.join(logDir, `worker-${count}-${i + 1}.log`));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${i + 1} did not start within 120 s`)), 120_000);
      lines(child.stdout!, (l) => {
        log.write(l + "\n");
        if (l.includes("[worker]") && l.includes("runs work")) {
          clearTimeout(timer);
          resolve();
        }
      });
      lines(child.stderr!, (l) => {
        log.write(l + "\n");
        if (l.trim()) errors.push(`worker ${i + 1}: ${l}`);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`worker ${i + 1} exited with ${code} before it ran work: ${errors.slice(-5).join(" | ")}`));
      });
    });
  });
  const workers: Workers = { stop: () => stopAll(procs), errorLines: () => errors };
  try {
    await Promise.all(ready);
  } catch (e) {
    await workers.stop();
    throw e;
  }
  return workers;
}

/** SIGTERM (a worker hands its running work back and exits), then SIGKILL after 20 s. */
async function stopAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          const kill = setTimeout(() => p.kill("SIGKILL"), 20_000);
          p.once("exit", () => {
            clearTimeout(kill);
            resolve();
          });
          p.kill("SIGTERM");
        }),
    ),
  );
}

// ---------------------------------------------------------------- main

interface Run {
  label: string;
  workers: number | null;
  result: RunResult;
  workerErrors: number;
  /** The machine's 1-minute load average before and after (it is shared: the runs compete with other work). */
  load: [number, number];
}

const load1 = () => os.loadavg()[0];
/** VMs of the untimed warm-up job: two rounds of every process's backup slots (--warm-up-vms 0: none). */
const warmUpFor = (processes: number) => (warmUpVms >= 0 ? warmUpVms : Math.min(vmCount, processes * Number(concurrency) * 2));

const databases: TestDatabase[] = [];
let work: string | undefined;

let cleaning: Promise<void> | undefined;
/** Once, whoever asks first (the end of main, or Ctrl-C while a phase runs): both wait for the same cleanup. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll([...children]);
    for (const d of databases.splice(0)) await d.drop().catch((e: unknown) => console.error(`could not drop ${d.label}: ${(e as Error).message}`));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}

async function main(): Promise<void> {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-bench-jobs-"));
  process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));
  process.once("SIGTERM", () => void cleanup().finally(() => process.exit(143)));
  try {
    await bench(work);
  } finally {
    await cleanup();
  }
  console.log(`  cleaned up: the bench's databases dropped, ${work} removed`);
}

async function bench(dir: string): Promise<void> {
  const started = performance.now();
  const estate = estateFor(vmCount);
  const dataDir = path.join(dir, "data");
  const logs = path.join(dir, "logs");
  fs.mkdirSync(dataDir);
  fs.mkdirSync(logs);
  const selectionFile = path.join(dir, "selection.json");
  // The environment lib/config/env.ts reads in every child: one data folder (one lab) for the
  // PostgreSQL and SQLite runs; DATABASE_URL per database.
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    STRONGROOM_DATA_DIR: dataDir,
    STRONGROOM_LAB_VMS: String(estate.size),
    STRONGROOM_LAB_DISK_DATA_MIB: String(diskMiB),
    STRONGROOM_WORKER_CONCURRENCY: concurrency,
  };
  delete base.DATABASE_URL;
  console.log(`bench:jobs — a lab backup job of ${vmCount} VMs (${diskMiB} MiB of data per disk) in a lab of ${estate.size} VMs; ${os.cpus().length} cores, node ${process.version}`);
  console.log(`  ${concurrency} backup VMs at once per process (STRONGROOM_WORKER_CONCURRENCY); work folder ${dir}`);

  const runs: Run[] = [];
  let setupResult: SetupResult | undefined;
  const ensureSetup = async (url: string) => {
    setupResult ??= await phase<SetupResult>("setup", { vms: vmCount, selectionFile }, { ...base, DATABASE_URL: url });
  };

  if (parts.has("pg")) {
    const pg = await createTestDatabase(args.pg, { prefix: "strongroom_bench" });
    databases.push(pg);
    console.log(`  PostgreSQL: ${pg.label}`);
    const env = { ...base, DATABASE_URL: pg.url, STRONGROOM_CONSOLE_WORKER: "off" };
    await ensureSetup(pg.url);
    for (const count of workerCounts) {
      const label = `PostgreSQL, ${count} worker${count === 1 ? "" : "s"}`;
      console.log(`  ${label}: starting ${count} worker process(es)`);
      const workers = await startWorkers(count, env, logs);
      const loadBefore = load1();
      let result: RunResult;
      try {
        result = await phase<RunResult>("run", { label, selectionFile, repoDir: path.join(dir, `repo-pg-${count}`), timeoutS, warmUpVms: warmUpFor(count) }, env);
      } finally {
        await workers.stop();
      }
      fs.rmSync(path.join(dir, `repo-pg-${count}`), { recursive: true, force: true });
      runs.push({ label, workers: count, result, workerErrors: workers.errorLines().length, load: [loadBefore, load1()] });
      console.log(`  ${label}: ${result.state} in ${secs(result.wallMs)} s`);
      for (const l of workers.errorLines().slice(0, 5)) console.log(`    ${l}`);
    }
    await pg.drop();
    databases.splice(databases.indexOf(pg), 1);
  }

  if (parts.has("sqlite")) {
    const sqlite = await createTestDatabase(undefined, { prefix: "strongroom_bench" });
    databases.push(sqlite);
    if (!setupResult) {
      // Without the PostgreSQL runs, the lab is prepared through this database instead.
      await ensureSetup(sqlite.url);
    }
    const label = "SQLite, console in-process";
    const loadBefore = load1();
    const result = await phase<RunResult>("run", { label, selectionFile, repoDir: path.join(dir, "repo-sqlite"), timeoutS, warmUpVms: warmUpFor(1) }, { ...base, DATABASE_URL: sqlite.url });
    fs.rmSync(path.join(dir, "repo-sqlite"), { recursive: true, force: true });
    runs.push({ label, workers: null, result, workerErrors: 0, load: [loadBefore, load1()] });
    console.log(`  ${label}: ${result.state} in ${secs(result.wallMs)} s`);
    await sqlite.drop();
    databases.splice(databases.indexOf(sqlite), 1);
  }

  let overhead: OverheadResult | undefined;
  let overheadLoad = 0;
  if (parts.has("overhead")) {
    const sqlite = await createTestDatabase(undefined, { prefix: "strongroom_bench" });
    databases.push(sqlite);
    const overheadData = path.join(dir, "overhead-data");
    fs.mkdirSync(overheadData);
    // The lab fills about 90% of a disk's data prefix (the rest stays holes): the VM's disk gets
    // a prefix that makes --session-mib of written data.
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: sqlite.url, STRONGROOM_DATA_DIR: overheadData, STRONGROOM_LAB_DISK_DATA_MIB: String(Math.ceil(sessionMiB / 0.9)) };
    delete env.STRONGROOM_LAB_VMS;
    overheadLoad = load1();
    overhead = await phase<OverheadResult>("overhead", { sessionMiB, transportRepeat, repoDir: path.join(dir, "repo-overhead") }, env);
    await sqlite.drop();
    databases.splice(databases.indexOf(sqlite), 1);
  }

  report(runs, setupResult, overhead && { ...overhead, load: [overheadLoad, load1()] }, performance.now() - started);
}

// ---------------------------------------------------------------- report

function report(runs: Run[], setup: SetupResult | undefined, overhead: (OverheadResult & { load: [number, number] }) | undefined, totalMs: number): void {
  let allPass = true;
  console.log("");
  if (setup) {
    console.log(`  Lab: ${setup.estateVms} VMs; the job's ${setup.selected} VMs have ${setup.disks} disks holding ${(setup.bytesWritten / MiB).toFixed(0)} MiB (inventory sync ${secs(setup.syncMs)} s, first guest writes ${secs(setup.guestWritesMs)} s)`);
  }
  if (runs.length) {
    console.log(`  wall = "Run now" → the session's end; VM queue = a backup-vm job's enqueue → start (queue rows); session pick-up = its queuedAt → startedAt;`);
    console.log(`  close = the last VM's end → the session's end (retention); page = listSessions (the Sessions page), every 500 ms during the run`);
    console.log(`  load = the machine's 1-minute load average before → after the run (${os.cpus().length} cores, shared with other work)`);
    const rows = [["run", "session", "VMs ok/failed", "wall s", "VMs/min", "MB read", "VM queue p50 s", "p95 s", "session pick-up s", "close s", "page p50 ms", "p95 ms", "n", "load"]];
    for (const r of runs) {
      const x = r.result;
      const ok = (x.vmStates.success ?? 0) + (x.vmStates.warning ?? 0);
      const bad = x.vmCount - ok;
      if (bad > 0 || x.state === "failed") allPass = false;
      rows.push([
        r.label,
        x.state,
        `${ok}/${bad}`,
        secs(x.wallMs),
        ((x.vmCount / x.wallMs) * 60_000).toFixed(0),
        (x.bytesRead / 1e6).toFixed(0),
        (x.queueLatencyMs.median / 1000).toFixed(1),
        (x.queueLatencyMs.p95 / 1000).toFixed(1),
        x.sessionQueueMs === null ? "—" : (x.sessionQueueMs / 1000).toFixed(2),
        x.closeMs === null ? "—" : (x.closeMs / 1000).toFixed(2),
        x.page.median.toFixed(0),
        x.page.p95.toFixed(0),
        String(x.page.n),
        `${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}`,
      ]);
    }
    console.log(columns(rows));
    const one = runs.find((r) => r.workers === 1);
    const four = runs.find((r) => r.workers === 4);
    if (one && four) console.log(`\n  scaling, 4 workers / 1 worker: ${(one.result.wallMs / four.result.wallMs).toFixed(2)}× the VMs per minute`);
    for (const r of runs) {
      const notes: string[] = [];
      if (r.result.vmsByWorker.length > 1 || r.workers) notes.push(`VMs per worker ${r.result.vmsByWorker.map((w) => w.vms).join(" / ")}`);
      if (r.result.warmUpMs) notes.push(`an untimed warm-up job of ${warmUpFor(r.workers ?? 1)} VMs first (${secs(r.result.warmUpMs)} s)`);
      notes.push(`one VM took ${(r.result.vmMsFirstTenth / 1000).toFixed(2)} s on average among the first tenth of the VMs to start, ${(r.result.vmMsLastTenth / 1000).toFixed(2)} s among the last tenth`);
      if (r.result.retriedVmJobs) notes.push(`${r.result.retriedVmJobs} backup-vm job(s) retried`);
      if (r.workerErrors) notes.push(`${r.workerErrors} line(s) on the workers' stderr`);
      if (r.result.error) notes.push(`session error: ${r.result.error}`);
      for (const f of r.result.failures) notes.push(`failed: ${f}`);
      if (notes.length) console.log(`  ${r.label}: ${notes.join("; ")}`);
    }

    // Proxy task limits across every run.
    console.log(`\n  proxy tasks: peak of concurrent tasks per proxy (a sweep over the session's task-start/task-end events) against its limit`);
    const names = [...new Set(runs.flatMap((r) => r.result.proxies.map((p) => p.name)))].sort();
    const head = ["proxy", "limit", ...runs.map((r) => (r.workers ? `pg ×${r.workers}` : "sqlite")), "result"];
    const prow = [head];
    const violations: string[] = [];
    for (const name of names) {
      const limit = runs.flatMap((r) => r.result.proxies.filter((p) => p.name === name))[0].limit;
      const cells = runs.map((r) => {
        const p = r.result.proxies.find((q) => q.name === name);
        if (p?.violation) violations.push(`${name} in ${r.label}: ${p.violation}`);
        if (p && p.maxSlot >= p.limit) violations.push(`${name} in ${r.label}: slot ${p.maxSlot} used, limit ${p.limit}`);
        return p ? String(p.peak) : "—";
      });
      const above = runs.some((r) => r.result.proxies.some((p) => p.name === name && (p.peak > p.limit || p.maxSlot >= p.limit)));
      prow.push([name, String(limit), ...cells, above ? "ABOVE" : "never above"]);
    }
    console.log(columns(prow));
    for (const r of runs)
      for (const p of r.result.proxies)
        if (p.overlaps)
          console.log(`  ${p.name} in ${r.label}: ${p.overlaps} same-slot overlap(s) in the events, ${p.possibleTakeovers} with a hold as long as a lease; the largest: ${p.worstOverlap}`);
    if (violations.length) {
      allPass = false;
      for (const v of violations) console.log(`  VIOLATION: ${v}`);
    } else {
      console.log(`  every proxy stayed at or below its task limit in every run`);
    }
  }

  if (overhead) {
    console.log(`\n  session overhead: bench:transports in this run (${sessionMiB} MiB disks, every block written, median of ${transportRepeat}):`);
    console.log(
      formatBenchTable(overhead.transports as BenchRow[])
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
    const f = overhead.full;
    const i = overhead.incremental;
    const rate = (mode: string | null) => {
      const row = overhead.transports.find((r) => r.mode === mode && r.disk === "encrypted");
      return row ? row.bytes / row.seconds : NaN;
    };
    const modeName = (m: string | null) => (m ? (/\(([^)]+)\)/.exec(transportModeName(m as TransportMode))?.[1] ?? m) : "?");
    const transportRate = rate(f.mode);
    const fullRate = f.bytesRead / (f.wallMs / 1000);
    const share = fullRate / transportRate;
    const dataS = i.bytesRead / rate(i.mode);
    const incrOverheadS = i.wallMs / 1000 - dataS;
    const sharePass = f.state === "success" && share >= TARGETS.sessionShare;
    const incrPass = i.state === "success" && i.incremental === true && incrOverheadS < TARGETS.incrementalOverheadS;
    allPass &&= sharePass && incrPass;
    const phases = (t: SessionTiming) => (t.phases ? `queued ${t.phases.queued} ms, prepare ${t.phases.prepare} ms, VM ${t.phases.vm} ms, close ${t.phases.close} ms` : "no phase times");
    console.log(`\n  ${overhead.vmName}: encrypted (native key provider), one disk with ${(overhead.dataBytes / MiB).toFixed(0)} MiB written; password job, console's engine on SQLite`);
    const rows = [
      ["session", "state", "mode", "read MB", "wall s", "MB/s", "measure", "target", "result"],
      [
        "full",
        f.state,
        modeName(f.mode),
        (f.bytesRead / 1e6).toFixed(0),
        (f.wallMs / 1000).toFixed(2),
        (fullRate / 1e6).toFixed(0),
        `${(share * 100).toFixed(0)}% of ${modeName(f.mode)}'s ${(transportRate / 1e6).toFixed(0)} MB/s`,
        `≥ ${TARGETS.sessionShare * 100}%`,
        sharePass ? "pass" : "FAIL",
      ],
      [
        "incremental",
        i.state,
        modeName(i.mode),
        (i.bytesRead / 1e6).toFixed(0),
        (i.wallMs / 1000).toFixed(2),
        ((i.bytesRead / (i.wallMs / 1000)) / 1e6).toFixed(0),
        `${incrOverheadS.toFixed(2)} s beyond its data (${dataS.toFixed(2)} s at that rate)`,
        `< ${TARGETS.incrementalOverheadS} s`,
        incrPass ? "pass" : "FAIL",
      ],
    ];
    console.log(columns(rows));
    console.log(`  full: ${phases(f)}`);
    console.log(`  incremental, after the guest rewrote 1% of the disk's blocks (${(overhead.changedBytes / MiB).toFixed(1)} MiB): ${phases(i)}${i.incremental === true ? "" : " — NOT incremental"}`);
    const row = overhead.transports.find((r) => r.mode === f.mode && r.disk === "encrypted");
    if (row) {
      console.log(
        `  CPU: the full session used ${f.cpuSeconds.toFixed(1)} CPU s (${(f.cpuSeconds / (f.bytesRead / 1e9)).toFixed(2)} per GB, ${(f.cpuSeconds / (f.wallMs / 1000)).toFixed(2)} cores on average, codec threads included);` +
          ` ${modeName(f.mode)}'s read alone ${row.cpuSeconds.toFixed(1)} CPU s (${(row.cpuSeconds / (row.bytes / 1e9)).toFixed(2)} per GB, ${(row.cpuSeconds / row.seconds).toFixed(2)} cores, one thread)`,
      );
    }
    console.log(`  load average ${overhead.load[0].toFixed(1)} → ${overhead.load[1].toFixed(1)} over this part`);
  }
  console.log(`\n  whole bench ${secs(totalMs)} s`);
  process.exitCode = allPass ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
