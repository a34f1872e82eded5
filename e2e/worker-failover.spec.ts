import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { admin, signIn, unique } from "./fixtures";

// Issue 9 on the real thing: the jobs view showing a session moving from a killed worker to a
// live one. The normal e2e console runs on SQLite with its engine in-process, where no worker can
// be killed apart from the console; so this spec starts a second console of its own on PostgreSQL
// (a fresh database, its own data and lab folder, STRONGROOM_CONSOLE_WORKER=off) and two worker
// processes (`npm run worker`) on the same database and folders. A four-VM backup job runs; once
// the session page shows two VMs running on each worker, one worker is killed with SIGKILL. The
// session page must then say that worker stopped answering and holds two VMs, the Workers page
// must show it not answering, and once its VMs moved the session page must say where they went
// ("host · process pid") and the session must end in Success with all four restore points.
//
// Timing on a shared two-core machine, without fixed sleeps:
//  - The lab reads a VM's few MiB in well under a second, far too fast to catch it "running". So
//    before the job runs the spec takes every proxy task slot in the database (ProxyTask rows held
//    under SLOT_HOLDER, which the Workers page shows by that name): the workers claim the VMs and
//    then wait, as behind a busy proxy farm, for a free slot. The spec gives the slots back once
//    it has seen what it must see with the worker dead.
//  - Each worker runs two VMs at once (STRONGROOM_WORKER_CONCURRENCY=2), so four claimed VMs are
//    two per worker, and the live worker cannot take the dead one's VMs before its own two are
//    done: the "stopped answering, holds two VMs" state lasts until the slots come back.
//  - The shortest lease pg-boss allows (10 s) and the fixed 15 s after which a worker counts as
//    dead: the take-over comes within about half a minute of the kill; the spec waits minutes.

const ROOT = path.resolve(__dirname, "..");
const PG_ADMIN_URL = process.env.STRONGROOM_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const RUN = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
const DB_NAME = `strongroom_e2e_failover_${RUN}`;
const DATA_DIR = path.join(ROOT, ".data", `e2e-failover-${RUN}`);
const LOG_DIR = path.join(ROOT, "test-results", "worker-failover");
const SLOT_HOLDER = "e2e-test-holding-every-proxy-slot";
const PASSWORD = "Strongroom-e2e-failover-2026";
// Unencrypted, powered-on lab VMs of one site (no KMS needed): four VMs, seven disks.
// Two per worker (STRONGROOM_WORKER_CONCURRENCY below).
const VMS = ["acme-web-01", "acme-web-02", "globex-web-01", "globex-hl7-01"];

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  logFile: string;
}
const procs: Proc[] = [];
let consoleUrl = "";
let databaseUrl = "";
let dbCreated = false;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A child in its own process group (so cleanup can end it and whatever it spawned), output to a log file. */
function startProc(name: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${RUN}-${name}.log`);
  const fd = fs.openSync(logFile, "w");
  const child = spawn(process.execPath, args, { cwd: ROOT, env, detached: true, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const p = { name, child, exited, logFile };
  procs.push(p);
  return p;
}

function signalGroup(p: Proc, signal: NodeJS.Signals): void {
  if (p.child.exitCode !== null || p.child.signalCode !== null || !p.child.pid) return;
  try {
    process.kill(-p.child.pid, signal);
  } catch {
    // already gone
  }
}

function tail(p: Proc, lines = 40): string {
  try {
    return fs.readFileSync(p.logFile, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function runToEnd(name: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  const p = startProc(name, args, env);
  const code = await Promise.race([p.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref())]);
  if (code !== 0) {
    signalGroup(p, "SIGKILL");
    throw new Error(`${name} ${code === "timeout" ? "did not finish in time" : `exited with ${code}`}:\n${tail(p)}`);
  }
}

async function waitForHealth(url: string, p: Proc, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${tail(p)}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${p.name} did not answer on ${url} within ${timeoutMs / 1000} s:\n${tail(p)}`);
}

async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** The process group (pgid) of a pid, from /proc: a pid is killed only when it belongs to a worker this spec started. */
function processGroupOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return null;
  }
}

// Leave nothing behind even when the test fails or times out (afterAll runs then too), and even if
// this worker process exits without it.
process.on("exit", () => {
  for (const p of procs) signalGroup(p, "SIGKILL");
});

// On a failure, the second console's and the workers' output goes with the report.
test.afterEach(async ({}, testInfo) => {
  if (testInfo.status === testInfo.expectedStatus) return;
  for (const p of procs) await testInfo.attach(`${p.name}.log`, { path: p.logFile, contentType: "text/plain" }).catch(() => undefined);
});

test.afterAll(async () => {
  for (const p of procs) signalGroup(p, "SIGTERM");
  await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 15_000).unref())]);
  for (const p of procs) signalGroup(p, "SIGKILL");
  await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5_000).unref())]);
  if (dbCreated) await sql(PG_ADMIN_URL, `DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

async function startSecondConsole(): Promise<{ workers: Proc[] }> {
  try {
    await sql(PG_ADMIN_URL, `CREATE DATABASE "${DB_NAME}"`);
  } catch (e) {
    throw new Error(`This spec needs PostgreSQL at ${PG_ADMIN_URL} (set STRONGROOM_TEST_PG_URL to another): ${e instanceof Error ? e.message : e}`);
  }
  dbCreated = true;
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${DB_NAME}`;
  databaseUrl = u.toString();
  const port = await freePort();
  consoleUrl = `http://localhost:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    STRONGROOM_DATA_DIR: DATA_DIR,
    STRONGROOM_BUILD_DIR: ".next-e2e",
    STRONGROOM_ADMIN_EMAIL: admin.email,
    STRONGROOM_ADMIN_PASSWORD: admin.password,
    NEXTAUTH_URL: consoleUrl,
    // Every VM goes to a worker process; the console keeps the queue and the schedules.
    STRONGROOM_CONSOLE_WORKER: "off",
    // The shortest lease pg-boss allows: a killed worker's VMs are taken back after 10 s.
    STRONGROOM_JOB_HEARTBEAT_SECONDS: "10",
    // Two VMs at a time per worker: four VMs are two per worker (see the top).
    STRONGROOM_WORKER_CONCURRENCY: "2",
  };
  const tsx = path.join(ROOT, "node_modules/.bin/tsx");
  // What `npm start` does (scripts/start.ts), minus generating the Prisma clients and building:
  // the e2e console started by playwright.config.ts has just done both into .next-e2e.
  await runToEnd("migrate", [tsx, "scripts/db.ts", "migrate"], env, 180_000);
  await runToEnd("prepare-data", [tsx, "--conditions=react-server", "scripts/prepare-data.ts"], env, 180_000);
  const server = startProc("console", [path.join(ROOT, "node_modules/.bin/next"), "start", "-p", String(port)], env);
  await waitForHealth(consoleUrl, server, 180_000);
  // Workers after the console: it created pg-boss's queues at boot.
  const workers = ["worker-1", "worker-2"].map((name) => startProc(name, [tsx, "--conditions=react-server", "scripts/worker.ts"], env));
  return { workers };
}

async function consolePage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ baseURL: consoleUrl });
  const page = await context.newPage();
  await signIn(page, admin);
  return page;
}

async function writeGuestData(page: Page, vmName: string) {
  await page.goto(`/vms?q=${vmName}`);
  await page.getByTestId("vm-row").first().getByRole("link", { name: vmName }).click();
  const panel = page.getByTestId("vm-lab-panel");
  await panel.getByTestId("guest-writes-percent").fill("20");
  await panel.getByTestId("guest-writes-run").click();
  await expect(panel.getByTestId("action-ok")).toContainText("CBT recorded them", { timeout: 60_000 });
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screens/worker-failover-${name}.png`, fullPage: true });
}

test("the jobs view shows a session moving from a killed worker to a live one", async ({ browser }) => {
  test.setTimeout(15 * 60_000);
  const { workers } = await startSecondConsole();
  const page = await consolePage(browser);

  // Both worker processes register and heartbeat.
  await page.goto("/workers");
  await expect(page.locator(`[data-testid="worker-row"][data-status="alive"]`, { hasText: "Worker process" })).toHaveCount(2, { timeout: 180_000 });

  for (const vm of VMS) await writeGuestData(page, vm);

  // Every proxy is at its task limit until the spec gives the slots back (see the top).
  const held = await sql(
    databaseUrl,
    `INSERT INTO "ProxyTask" ("proxyExternalId", "slot", "sessionId", "vmExternalId", "deviceKey", "workerId", "takenAt", "leaseUntil")
     SELECT p."externalId", s, 'e2e-held', 'e2e-held', 0, $1, now() AT TIME ZONE 'utc', (now() AT TIME ZONE 'utc') + interval '1 hour'
     FROM "Proxy" p CROSS JOIN LATERAL generate_series(0, p."maxTasks" - 1) AS s
     ON CONFLICT DO NOTHING RETURNING "proxyExternalId"`,
    [SLOT_HOLDER],
  );
  expect(held.length).toBeGreaterThan(0);

  // A four-VM password job, run from the wizard.
  const name = unique("Failover web tier");
  await page.goto("/jobs/new");
  await page.getByTestId("job-name").fill(name);
  await page.getByTestId("wizard-next").click();
  for (const vm of VMS) {
    await page.getByTestId("vm-picker-search").fill(vm);
    await page.getByTestId(`pick-vm-${vm}`).check();
  }
  await expect(page.getByTestId("selection-summary")).toContainText(`holds ${VMS.length} VM(s) today`);
  for (let i = 0; i < 3; i++) await page.getByTestId("wizard-next").click();
  await page.getByTestId("encryption-password").check();
  await page.getByTestId("job-password").fill(PASSWORD);
  await page.getByTestId("job-password-confirm").fill(PASSWORD);
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("job-schedule-kind").selectOption("manual");
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("wizard-finish").click();
  await expect(page).toHaveURL(/\/sessions\/[^/]+$/, { timeout: 60_000 });
  const sessionUrl = page.url();

  // Every VM is claimed, two by each worker, and waits for a proxy slot.
  const sessionId = new URL(sessionUrl).pathname.split("/").pop()!;
  const vmCards = page.getByTestId("session-vm");
  await expect(vmCards).toHaveCount(VMS.length, { timeout: 120_000 });
  for (const vm of VMS) {
    const card = page.locator(`[data-testid="session-vm"][data-vm="${vm}"]`);
    await expect(card).toHaveAttribute("data-status", "running", { timeout: 120_000 });
    await expect(card.getByTestId("vm-worker")).toHaveAttribute("data-alive", "yes", { timeout: 120_000 });
  }
  const placement = new Map<string, { id: string; pid: number }>();
  for (const vm of VMS) {
    const label = page.locator(`[data-testid="session-vm"][data-vm="${vm}"]`).getByTestId("vm-worker");
    placement.set(vm, { id: (await label.getAttribute("data-worker"))!, pid: Number(await label.getAttribute("data-pid")) });
  }
  // In the page's order (the session's VM positions).
  const order = await vmCards.evaluateAll((cards) => cards.map((c) => c.getAttribute("data-vm")!));
  const a = placement.get(order[0])!;
  const onA = order.filter((vm) => placement.get(vm)!.id === a.id);
  const onB = order.filter((vm) => placement.get(vm)!.id !== a.id);
  expect(onA, "two VMs on each worker").toHaveLength(2);
  const b = placement.get(onB[0])!;
  expect(onB.every((vm) => placement.get(vm)!.id === b.id)).toBe(true);
  const [host] = (await sql<{ host: string }>(databaseUrl, `SELECT "host" FROM "JobWorker" WHERE "id" = $1`, [a.id])).map((r) => r.host);
  const nameA = `${host} · process ${a.pid}`;
  const nameB = `${host} · process ${b.pid}`;
  for (const vm of onA) await expect(page.locator(`[data-testid="session-vm"][data-vm="${vm}"]`).getByTestId("vm-worker")).toHaveText(`running on ${nameA}`);
  await expect(page.getByTestId("session-worker-dead")).toHaveCount(0);
  await expect(page.getByTestId("session-taken-over-notice")).toHaveCount(0);
  // The worker has also written them into its heartbeat (what the Workers page lists once it died).
  for (const vm of onA) {
    const [{ externalId }] = await sql<{ externalId: string }>(databaseUrl, `SELECT "vmExternalId" AS "externalId" FROM "SessionVm" WHERE "sessionId" = $1 AND "name" = $2`, [sessionId, vm]);
    await expect
      .poll(async () => (await sql<{ tasks: string }>(databaseUrl, `SELECT "tasks" FROM "JobWorker" WHERE "id" = $1`, [a.id]))[0]?.tasks ?? "", { timeout: 30_000 })
      .toContain(`"vmExternalId":"${externalId}"`);
  }
  // The pid on the page is one of the two workers this spec started (never anything else).
  const victim = workers.find((w) => processGroupOf(a.pid) === w.child.pid);
  expect(victim, `worker ${a.id} (pid ${a.pid}) is one this spec started`).toBeTruthy();
  await shot(page, "1-session-two-workers");

  process.kill(a.pid, "SIGKILL");

  // Within three missed heartbeats the page says at the top which worker stopped answering and
  // which VMs it holds; the VMs' own lines say the same in red.
  const stranded = page.getByTestId("session-worker-dead");
  await expect(stranded).toHaveAttribute("data-worker", a.id, { timeout: 90_000 });
  await expect(stranded).toContainText(`Worker ${nameA} stopped answering`);
  await expect(stranded).toContainText(`It holds 2 VMs of this session (${onA.join(" and ")})`);
  for (const vm of onA) await expect(page.locator(`[data-testid="session-vm"][data-vm="${vm}"]`).getByTestId("vm-worker")).toContainText("no heartbeat since");
  for (const vm of onB) await expect(page.locator(`[data-testid="session-vm"][data-vm="${vm}"]`).getByTestId("vm-worker")).toHaveAttribute("data-alive", "yes");
  await shot(page, "2-session-worker-stopped");

  // The Workers page: the killed worker in red with what it was running, the other one alive.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workers" }).click();
  const deadRow = page.locator(`[data-testid="worker-row"][data-worker="${a.id}"]`);
  await expect(deadRow).toHaveAttribute("data-status", "no-heartbeat", { timeout: 60_000 });
  await expect(deadRow.getByTestId("worker-dead")).toContainText("no heartbeat since");
  await expect(deadRow).toContainText(`process ${a.pid}`);
  for (const vm of onA) await expect(deadRow.getByTestId("worker-tasks")).toContainText(`VM ${vm}`);
  await expect(page.getByTestId("dead-workers")).toContainText(`Worker ${nameA} stopped answering`);
  await expect(page.getByTestId("dead-worker-since")).toContainText("it was running 2 VMs");
  const liveRow = page.locator(`[data-testid="worker-row"][data-worker="${b.id}"]`);
  await expect(liveRow).toHaveAttribute("data-status", "alive");
  for (const vm of onB) await expect(liveRow.getByTestId("worker-tasks")).toContainText(`VM ${vm}`);
  await shot(page, "3-workers-one-stopped");

  // The proxies free up: the live worker finishes its own VMs, then takes over the dead one's.
  await sql(databaseUrl, `DELETE FROM "ProxyTask" WHERE "workerId" = $1`, [SLOT_HOLDER]);
  await page.goto(sessionUrl);
  await expect(page.getByTestId("session-state")).toHaveText(/Success/, { timeout: 180_000 });
  const moved = page.getByTestId("session-taken-over-notice");
  await expect(moved).toHaveAttribute("data-from", a.id);
  await expect(moved).toContainText(`Worker ${nameA} stopped answering: its 2 VMs moved to ${nameB}`);
  for (const vm of onA) await expect(moved).toContainText(vm);
  await expect(moved).toContainText(`started again on ${nameB}`);
  await expect(moved).toContainText("both were backed up after the move");
  await expect(page.getByTestId("session-worker-dead")).toHaveCount(0);
  for (const vm of VMS) {
    const card = page.locator(`[data-testid="session-vm"][data-vm="${vm}"]`);
    await expect(card).toHaveAttribute("data-status", "success");
    await expect(card.getByTestId("vm-worker")).toHaveText(`ran on ${nameB}`);
    await expect(card.getByTestId("vm-point")).toBeVisible();
    if (onA.includes(vm)) await expect(card.getByTestId("vm-taken-over")).toContainText(`taken over from ${nameA}`);
    else await expect(card.getByTestId("vm-taken-over")).toHaveCount(0);
  }
  await expect(page.getByTestId("session-log")).toContainText(`worker ${a.id} stopped answering`);
  await shot(page, "4-session-ended-after-take-over");

  // The Sessions list says it too; the Workers page still shows the killed worker not answering.
  await page.goto(`/sessions?q=${encodeURIComponent(name)}`);
  const row = page.locator(`[data-testid="session-row"][data-session="${sessionId}"]`);
  await expect(row).toHaveAttribute("data-state", "success", { timeout: 30_000 });
  await expect(row.getByTestId("session-taken-over")).toContainText("2 VMs were taken over from a worker that stopped answering");
  await expect(row.getByTestId("session-ran-on")).toContainText(nameB);
  await shot(page, "5-sessions-list");
  await page.goto("/workers");
  await expect(deadRow).toHaveAttribute("data-status", "no-heartbeat");
  await expect(liveRow).toHaveAttribute("data-status", "alive");
  await page.context().close();
});
