// db tests that need other processes on the run's database: worker processes (`npm run worker`)
// and second consoles. A child gets the test process's own settings — the run's DATABASE_URL, its
// data folder (configuration key, audit key, native key providers, the lab folder) — plus what the
// test adds. Children are started as `tsx --conditions=react-server <script>` would start them, but
// in one process (node --import tsx), so the pid a test kills is the pid that runs the work.
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { db } from "@/lib/db/client";

const root = path.resolve(__dirname, "../..");

export interface ChildHandle {
  label: string;
  child: ChildProcess;
  pid: number;
  /** Everything it printed so far (stdout and stderr), for assertions and failure messages. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) when it ended. */
  exited: Promise<number | string>;
  hasExited(): boolean;
}

const running = new Set<ChildHandle>();

/** Starts `script` (a path from the repository root) as a child of this test process. */
export function startChild(label: string, script: string, env: Record<string, string | undefined> = {}, args: string[] = []): ChildHandle {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", script, ...args], { cwd: root, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let ended = false;
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      ended = true;
      resolve(code ?? signal ?? "unknown");
    }),
  );
  if (!child.pid) throw new Error(`${label}: could not start ${script}`);
  const handle: ChildHandle = { label, child, pid: child.pid, output: () => out, exited, hasExited: () => ended };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Polls `probe` until it answers something truthy; fails with `describe()` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, o: { timeoutMs: number; intervalMs?: number; describe?: () => Promise<string> | string }): Promise<T> {
  const end = Date.now() + o.timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${what}${o.describe ? `: ${await o.describe()}` : ""}`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 200));
  }
}

/** Waits until the child printed a line matching `pattern` (or fails early when it exited). */
export function waitForOutput(c: ChildHandle, pattern: RegExp, timeoutMs: number): Promise<string> {
  return waitFor(
    `${c.label} to print ${pattern}`,
    async () => {
      const m = c.output().match(pattern);
      if (m) return m[0];
      if (c.hasExited()) throw new Error(`${c.label} exited (${await c.exited}) before printing ${pattern}:\n${c.output()}`);
      return null;
    },
    { timeoutMs, intervalMs: 100, describe: () => c.output() },
  );
}

// ───────────── worker processes (`npm run worker`, PostgreSQL) ─────────────

export interface WorkerHandle extends ChildHandle {
  /** Its JobWorker id (what SessionVm.workerId and SessionEvent.workerId name). */
  workerId: string;
}

/** Starts `scripts/worker.ts` and waits until it runs work from the queue. */
export async function startWorker(label: string, env: Record<string, string | undefined> = {}, timeoutMs = 90_000): Promise<WorkerHandle> {
  const c = startChild(label, "scripts/worker.ts", { STRONGROOM_JOB_HEARTBEAT_SECONDS: "10", ...env });
  try {
    await waitForOutput(c, /\[worker\] \S+ runs work from the pg-boss queue/, timeoutMs);
    const row = await db.jobWorker.findFirstOrThrow({ where: { pid: c.pid, host: os.hostname(), stoppedAt: null }, orderBy: { startedAt: "desc" } });
    return Object.assign(c, { workerId: row.id });
  } catch (e) {
    await stopChild(c);
    throw e;
  }
}

/** SIGTERM (a worker hands its work back and exits), then SIGKILL after `graceMs`. */
export async function stopChild(c: ChildHandle, graceMs = 20_000): Promise<void> {
  if (c.hasExited()) return;
  c.child.kill("SIGTERM");
  const t = setTimeout(() => c.child.kill("SIGKILL"), graceMs);
  await c.exited;
  clearTimeout(t);
}

/** kill -9: no handler runs, nothing is handed back, nothing is released. */
export async function killChild(c: ChildHandle): Promise<void> {
  if (c.hasExited()) return;
  process.kill(c.pid, "SIGKILL");
  await c.exited;
}

/** Every child this test process started and that still runs (for afterEach / afterAll). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...running].map((c) => stopChild(c)));
}
