// `npm run bench:inventory [-- --vms 10000 --requests 200 --warmup 20 --concurrency 4 --port 3200]`
// Seeds a fresh console with a lab of --vms VMs, then times the VM list page and its JSON route next
// to /api/health, all in one run against the same server: absolute numbers swing with the machine,
// the ratio to the trivial route is what stays comparable between runs.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { roundRobin, run, table, type Route } from "./bench/measure";

const options = {
  vms: { type: "string", default: "10000" },
  requests: { type: "string", default: "200" }, // measured requests per route, sequential phase
  warmup: { type: "string", default: "20" },
  concurrency: { type: "string", default: "4" }, // in flight in the concurrent phase; 0 skips it
  port: { type: "string", default: "3200" }, // taken → the OS picks a free one
  "timeout-s": { type: "string", default: "600" }, // start-up, which may include `next build`
} as const;
function usage(message: string): never {
  console.error(`bench:inventory: ${message}`);
  process.exit(2);
}
const { values: args } = (() => {
  try {
    return parseArgs({ options });
  } catch (e) {
    return usage((e as Error).message);
  }
})();
const num = (name: keyof typeof args) => {
  const n = Number(args[name]);
  return Number.isInteger(n) && n >= 0 ? n : usage(`--${name} must be a whole number, got "${args[name]}"`);
};
const [vmCount, requests, warmup, concurrency, timeoutS] = [num("vms"), num("requests"), num("warmup"), num("concurrency"), num("timeout-s")];

const root = path.resolve(__dirname, "..");
const dataDir = path.join(root, ".data/bench-inventory");
const email = "admin@strongroom.local";
const password = randomBytes(18).toString("base64url"); // fresh database each run, so any password works
const runStart = performance.now();
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
let server: ChildProcess | undefined;

function fail(message: string): never {
  throw new Error(message);
}

/** The preferred port when it is free, otherwise one the OS hands out (another console may own 3000/3200). */
function sparePort(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = (port: number, onBusy: () => void) => {
      const s = net.createServer().once("error", onBusy);
      s.listen(port, () => {
        const got = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(got));
      });
    };
    probe(preferred, () => probe(0, () => resolve(0)));
  });
}

// --- Server lifecycle --------------------------------------------------------------------------

/** Timestamps (ms since spawn) of the start-up lines of scripts/start.ts and prepare-data.ts. */
const marks: Record<string, number> = {};
let seedReportedMs: number | undefined;
let tail: string[] = [];

function startServer(port: number): ChildProcess {
  fs.rmSync(dataDir, { recursive: true, force: true }); // fresh database → start.ts seeds the lab
  fs.mkdirSync(dataDir, { recursive: true });
  const log = fs.createWriteStream(path.join(dataDir, "server.log"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    STRONGROOM_DATA_DIR: dataDir,
    // Set explicitly so a DATABASE_URL/NEXTAUTH_URL in the caller's shell can't point the bench elsewhere.
    DATABASE_URL: `file:${path.join(dataDir, "strongroom.db")}`,
    NEXTAUTH_URL: `http://localhost:${port}`,
    STRONGROOM_ADMIN_EMAIL: email,
    STRONGROOM_ADMIN_PASSWORD: password,
    STRONGROOM_LAB_VMS: String(vmCount),
    // Its own Next build folder (next.config.ts distDir): building or being interrupted mid-build
    // must never touch the .next a running console serves from.
    STRONGROOM_BUILD_DIR: ".next-bench",
  };
  const t0 = performance.now();
  // detached: its own process group, so stopping it reaches tsx, start.ts and `next start` alike.
  const child = spawn(process.execPath, [path.join(root, "node_modules/.bin/tsx"), "scripts/start.ts"], {
    cwd: root,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const onLine = (line: string) => {
    tail = [...tail.slice(-39), line];
    const at = performance.now() - t0;
    const markers: [string, RegExp][] = [["seed", /^Seeding the lab/], ["synced", /^Lab inventory synced/], ["build", /^Building the console/], ["listen", /^Strongroom console:/]];
    for (const [name, re] of markers) if (re.test(line) && !(name in marks)) marks[name] = at;
    const synced = /Lab inventory synced: .* in (\d+) ms/.exec(line);
    if (synced) seedReportedMs = Number(synced[1]);
    if (/^(Seeding|Lab inventory|Building)/.test(line)) console.log(`  [server ${secs(at)}] ${line}`);
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = "";
    stream.on("data", (chunk: Buffer) => {
      log.write(chunk);
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      lines.forEach((l) => onLine(l.trim()));
    });
  }
  return child;
}

async function waitHealthy(base: string, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + timeoutS * 1000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) fail(`the server exited during start-up (code ${child.exitCode ?? child.signalCode})`);
    try {
      if ((await fetch(`${base}/api/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  fail(`the server did not answer ${base}/api/health within ${timeoutS} s`);
}

/** Is any live (non-zombie) process left in the group? /proc on Linux; signal 0 elsewhere. */
function groupAlive(pgid: number): boolean {
  if (process.platform === "linux") {
    return fs.readdirSync("/proc").some((p) => {
      if (!/^\d+$/.test(p)) return false;
      try {
        // Fields after "(comm) ": state ppid pgrp. A zombie is dead, only not yet reaped.
        const [state, , pgrp] = fs.readFileSync(`/proc/${p}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
        return state !== "Z" && Number(pgrp) === pgid;
      } catch {
        return false; // exited while we looked
      }
    });
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopServer(): Promise<void> {
  const pgid = server?.pid;
  if (!pgid) return;
  server = undefined;
  for (const [signal, graceMs] of [["SIGTERM", 10_000], ["SIGKILL", 5_000]] as const) {
    try {
      process.kill(-pgid, signal);
    } catch {
      return; // group already gone
    }
    for (const until = performance.now() + graceMs; performance.now() < until; ) {
      if (!groupAlive(pgid)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  fail(`processes of the server (process group ${pgid}) are still running; stop them with: kill -9 -${pgid}`);
}

// --- Client side -------------------------------------------------------------------------------

const cookiesOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(";")[0]);

/** next-auth v4 credentials sign-in; one attempt only (failed sign-ins are throttled per e-mail). */
async function signIn(base: string): Promise<string> {
  const csrf = await fetch(`${base}/api/auth/csrf`);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const res = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookiesOf(csrf).join("; ") },
    body: new URLSearchParams({ csrfToken, email, password, json: "true" }),
    redirect: "manual",
  });
  const session = cookiesOf(res).find((c) => c.startsWith("next-auth.session-token="));
  if (!session) fail(`sign-in as ${email} failed (HTTP ${res.status}, no session cookie)`);
  return session;
}

async function getJson<T>(base: string, p: string, cookie: string): Promise<T> {
  const res = await fetch(base + p, { headers: { cookie }, redirect: "manual" });
  if (res.status !== 200) fail(`${p} returned HTTP ${res.status} (expected 200)`);
  return (await res.json()) as T;
}

async function main() {
  const port = await sparePort(num("port"));
  const base = `http://localhost:${port}`;
  console.log(`bench:inventory — ${vmCount} lab VMs, ${requests} requests per route, server on port ${port}, data in ${path.relative(root, dataDir)}`);
  const t0 = performance.now();
  server = startServer(port);
  await waitHealthy(base, server);
  const upMs = performance.now() - t0;
  const prepEnd = marks.build ?? marks.listen;
  console.log(
    `Server up in ${secs(upMs)}: prepare (generate + migrate + seed) ${prepEnd !== undefined ? secs(prepEnd) : "?"}` +
      (seedReportedMs !== undefined ? `, of which seeding ${vmCount} VMs ${secs(seedReportedMs)} (as reported)` : "") +
      (marks.build !== undefined && marks.listen !== undefined ? `; next build ${secs(marks.listen - marks.build)}` : "; next build skipped (up to date)") +
      (marks.listen !== undefined ? `; next start → healthy ${secs(upMs - marks.listen)}` : ""),
  );

  const cookie = await signIn(base);
  // Prove the scale: the app's own count, and the raw table counts from the database file.
  const { total, pageCount } = await getJson<{ total: number; pageCount: number }>(base, "/api/vms?pageSize=25", cookie);
  const sqlite = new Database(path.join(dataDir, "strongroom.db"), { readonly: true, fileMustExist: true });
  const count = (t: string) => (sqlite.prepare(`SELECT COUNT(*) AS n FROM "${t}"`).get() as { n: number }).n;
  const [dbVms, dbDisks] = [count("Vm"), count("VirtualDisk")];
  sqlite.close();
  console.log(`Inventory: /api/vms total = ${total}; database rows: Vm = ${dbVms}, VirtualDisk = ${dbDisks}`);
  if (total !== vmCount || dbVms !== vmCount) fail(`expected ${vmCount} VMs, found ${total} via /api/vms and ${dbVms} in the database`);

  const health: Route = { label: "GET /api/health (baseline)", path: "/api/health" };
  const routes: Route[] = [
    health,
    { label: "GET /vms", path: "/vms" },
    { label: "GET /vms?encrypted=yes&page=3", path: "/vms?encrypted=yes&page=3" },
    { label: "GET /api/vms?page=1", path: "/api/vms?page=1&pageSize=25" },
    { label: `GET /api/vms?page=${pageCount} (last)`, path: `/api/vms?page=${pageCount}&pageSize=25` },
    { label: "GET /api/vms?q=sql", path: "/api/vms?q=sql&page=1&pageSize=25" },
    { label: "GET /api/vms?encrypted=yes&page=3", path: "/api/vms?encrypted=yes&page=3&pageSize=25" },
  ];
  // Warm-up: JIT, Next's route caches and SQLite's page cache, so the samples measure steady state.
  await run(base, cookie, roundRobin(routes, warmup), 1);
  const tSeq = performance.now();
  const sequential = await run(base, cookie, roundRobin(routes, requests), 1);
  console.log(`\n${table(`Sequential (1 in flight, ${secs(performance.now() - tSeq)})`, routes, sequential, health)}`);
  if (concurrency > 0) {
    // Shorter: it shows queueing under a few simultaneous users, not a capacity figure.
    const tConc = performance.now();
    const concurrent = await run(base, cookie, roundRobin(routes, Math.ceil(requests / 2)), concurrency);
    console.log(`\n${table(`Concurrent (${concurrency} in flight, ${secs(performance.now() - tConc)})`, routes, concurrent, health)}`);
  }
  console.log(`\nRows: ${dbVms} VMs, ${dbDisks} virtual disks. Server log: ${path.relative(root, path.join(dataDir, "server.log"))}`);
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => void stopServer().finally(() => process.exit(130)));
}
main()
  .then(stopServer)
  .then(() => {
    console.log(`Server stopped. Total run time ${secs(performance.now() - runStart)}.`);
    process.exit(0);
  })
  .catch(async (e: unknown) => {
    console.error(`\nbench:inventory failed: ${e instanceof Error ? e.message : String(e)}`);
    if (tail.length) console.error(`Last server output:\n  ${tail.join("\n  ")}`);
    await stopServer().catch((err: Error) => console.error(err.message));
    process.exit(1);
  });
