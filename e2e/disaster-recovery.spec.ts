import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { admin, createUserViaUi, shoot, signIn, unique, type Credentials } from "./fixtures";

// Disaster recovery on a fresh console (KEY-9), in the browser. The e2e console backs a VM up the
// usual way (a password job, with a password hint) into a repository folder of its own. Then the
// console "loses its configuration database": a SECOND console starts on a fresh SQLite data
// folder (its own database, configuration key and secrets; nothing of the job, the repository or
// the password) but on the same simulated vSphere (STRONGROOM_LAB_DIR: the first console's lab
// folder), so the VMs exist there too. On it the administrator adds the repository folder under
// Repositories: it is adopted and its page says the point needs a key, with the key id and the
// hint; a Backup Viewer sees that without the form; a wrong password is refused on the field; the
// right one opens the point, which then appears under Restore with its VM's name; the VM is
// restored to a new location through the wizard and the session is watched to Success.
// The second console, its data folder and its logs' processes are removed even when a step fails.

test.describe.configure({ mode: "serial" });

const ROOT = path.resolve(__dirname, "..");
const RUN = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
// The first console's data folder (playwright.config.ts); its lab is the vSphere both consoles see.
const FIRST_DATA_DIR = path.join(ROOT, ".data", "e2e");
// The repository folder lives in the first console's data folder (wiped at the next run), so that
// console's catalogue stays consistent for the specs after this one.
const REPO_DIR = path.join(FIRST_DATA_DIR, "repositories", `dr-${RUN}`);
const DR_DATA_DIR = path.join(ROOT, ".data", `e2e-dr-${RUN}`);
const LOG_DIR = path.join(ROOT, "test-results", "disaster-recovery");
const VM = "acme-web-02"; // unencrypted, powered on, one site
const PASSWORD = "Strongroom-e2e-dr-2026";
const HINT = "the vault card in the DR binder";

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  logFile: string;
}
const procs: Proc[] = [];

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

/** A child in its own process group (cleanup ends it and what it spawned), output to a log file. */
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

/** A console on a fresh data folder and database, on the first console's build and lab: `npm start` without generate and build. */
async function startFreshConsole(): Promise<string> {
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    PORT: String(port),
    STRONGROOM_DATA_DIR: DR_DATA_DIR,
    DATABASE_URL: `file:${path.join(DR_DATA_DIR, "strongroom.db")}`,
    STRONGROOM_LAB_DIR: path.join(FIRST_DATA_DIR, "lab"),
    STRONGROOM_BUILD_DIR: ".next-e2e",
    STRONGROOM_ADMIN_EMAIL: admin.email,
    STRONGROOM_ADMIN_PASSWORD: admin.password,
    NEXTAUTH_URL: url,
  };
  fs.mkdirSync(DR_DATA_DIR, { recursive: true });
  const tsx = path.join(ROOT, "node_modules/.bin/tsx");
  await runToEnd("migrate", [tsx, "scripts/db.ts", "migrate"], env, 180_000);
  await runToEnd("prepare-data", [tsx, "--conditions=react-server", "scripts/prepare-data.ts"], env, 180_000);
  const server = startProc("console", [path.join(ROOT, "node_modules/.bin/next"), "start", "-p", String(port)], env);
  await waitForHealth(url, server, 180_000);
  return url;
}

async function pageOn(browser: Browser, baseURL: string, who: Credentials): Promise<Page> {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await signIn(page, who);
  return page;
}

process.on("exit", () => {
  for (const p of procs) signalGroup(p, "SIGKILL");
});

test.afterEach(async ({}, testInfo) => {
  if (testInfo.status === testInfo.expectedStatus) return;
  for (const p of procs) await testInfo.attach(`${p.name}.log`, { path: p.logFile, contentType: "text/plain" }).catch(() => undefined);
});

test.afterAll(async () => {
  for (const p of procs) signalGroup(p, "SIGTERM");
  await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 15_000).unref())]);
  for (const p of procs) signalGroup(p, "SIGKILL");
  await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5_000).unref())]);
  fs.rmSync(DR_DATA_DIR, { recursive: true, force: true });
});

async function next(page: Page, expectStep: number) {
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId(`wizard-step-${expectStep}`)).toBeVisible();
}

test("the DR path on a fresh console", async ({ page, browser }) => {
  test.setTimeout(600_000);

  // 1. The first console: a repository folder of its own, a password job (with a hint) into it, run to Success.
  await signIn(page, admin);
  await page.goto("/repositories");
  const repoName = unique("DR source");
  const form = page.getByTestId("repository-form");
  await form.getByLabel("Name").fill(repoName);
  await form.getByLabel("Folder on the Strongroom server").fill(REPO_DIR);
  await form.getByTestId("add-repository").click();
  await expect(form.getByTestId("action-ok")).toContainText(`Added ${repoName}`);

  await page.goto(`/vms?q=${VM}`);
  await page.getByTestId("vm-row").getByRole("link", { name: VM, exact: true }).click();
  const lab = page.getByTestId("vm-lab-panel");
  await lab.getByTestId("guest-writes-percent").fill("10");
  await lab.getByTestId("guest-writes-run").click();
  await expect(lab.getByTestId("action-ok")).toContainText("CBT recorded them");

  await page.goto("/jobs/new");
  await page.getByTestId("job-name").fill(unique("DR job"));
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("vm-picker-search").fill(VM);
  await page.getByTestId(`pick-vm-${VM}`).check();
  await expect(page.getByTestId("selection-summary")).toBeVisible();
  await page.getByTestId("wizard-next").click();
  const repoSelect = page.getByTestId("job-repository");
  await repoSelect.selectOption((await repoSelect.locator("option", { hasText: repoName }).getAttribute("value"))!);
  for (let i = 0; i < 2; i++) await page.getByTestId("wizard-next").click();
  await page.getByTestId("encryption-password").check();
  await page.getByTestId("job-password").fill(PASSWORD);
  await page.getByTestId("job-password-confirm").fill(PASSWORD);
  await page.getByTestId("job-password-hint").fill(HINT);
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("job-schedule-kind").selectOption("manual");
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("wizard-finish").click();
  await expect(page).toHaveURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByTestId("session-state")).toHaveText(/Success/, { timeout: 120_000 });
  expect(fs.readdirSync(path.join(REPO_DIR, "points")).length).toBeGreaterThanOrEqual(1);

  // 2. The configuration database is lost: a fresh console on the same vSphere, knowing nothing.
  const drUrl = await startFreshConsole();
  const dr = await pageOn(browser, drUrl, admin);
  await dr.goto("/restore");
  await expect(dr.getByTestId("empty-state")).toContainText("No restore points yet");

  // 3. The repository folder is added: adopted, its point listed as needing a key, with the hint.
  await dr.goto("/repositories");
  const drForm = dr.getByTestId("repository-form");
  await drForm.getByLabel("Name").fill("Recovered backups");
  await drForm.getByLabel("Folder on the Strongroom server").fill(REPO_DIR);
  await drForm.getByTestId("add-repository").click();
  await expect(drForm.getByTestId("action-ok")).toContainText("already held a Strongroom repository");
  await drForm.getByTestId("open-new-repository").click();
  await expect(dr).toHaveURL(/\/repositories\/[^/]+$/);
  const repositoryPath = new URL(dr.url()).pathname;
  const panel = dr.getByTestId("repository-keys-panel");
  await expect(panel).toHaveAttribute("data-state", "locked");
  await expect(panel.getByTestId("keys-panel-title")).toHaveText("1 restore point needs a key");
  // The password's key, and (the console's recovery keyset protects every point too) the keyset's.
  const passwordKey = panel.locator('[data-testid=needed-key][data-kind=password]');
  await expect(passwordKey).toHaveCount(1);
  await expect(passwordKey).toContainText("Backup password");
  await expect(passwordKey).toContainText("password:");
  await expect(passwordKey).toContainText("opens the point");
  await expect(panel.getByTestId("password-hint")).toContainText(HINT);
  await expect(panel.getByTestId("point-needing-key")).toContainText("Unknown until the key is supplied");
  await expect(panel.getByTestId("unlock-form")).toBeVisible();
  await shoot(dr, "dr-01-adopted-points-need-a-key");

  // A Backup Viewer of the new console sees the panel, not the form.
  const viewer = { email: `${unique("dr-viewer")}@e2e.strongroom.test`, password: `pw-${unique("dr")}-long`, name: "DR viewer" };
  await createUserViaUi(dr, { ...viewer, roleLabel: "Backup Viewer" });
  const viewerPage = await pageOn(browser, drUrl, viewer);
  await viewerPage.goto(repositoryPath);
  await expect(viewerPage.getByTestId("keys-panel-title")).toHaveText("1 restore point needs a key");
  await expect(viewerPage.getByTestId("password-hint")).toContainText(HINT);
  await expect(viewerPage.getByTestId("unlock-form")).toHaveCount(0);
  await expect(viewerPage.getByTestId("unlock-not-allowed")).toBeVisible();
  await viewerPage.context().close();

  // 4. A wrong password: refused on the field, nothing opens.
  await dr.goto(repositoryPath);
  await panel.getByTestId("unlock-password").fill("not-the-backup-password");
  await panel.getByTestId("unlock-submit").click();
  await expect(panel.getByTestId("error-password")).toContainText("Wrong password", { timeout: 30_000 });
  await expect(panel.getByTestId("action-error")).toContainText("opens none of the repository's restore points");
  await expect(panel).toHaveAttribute("data-state", "locked");
  await shoot(dr, "dr-02-wrong-password");

  // 5. The right password: the point opens, named after its VM.
  await panel.getByTestId("unlock-password").fill(PASSWORD);
  await panel.getByTestId("unlock-submit").click();
  await expect(panel.getByTestId("action-ok")).toContainText("The password opened 1 restore point", { timeout: 30_000 });
  await expect(panel).toHaveAttribute("data-state", "open");
  await expect(panel.getByTestId("entered-keys")).toContainText("Backup password entered");
  await expect(dr.getByTestId("restore-points")).toContainText(VM);
  await shoot(dr, "dr-03-unlocked");

  // 6. Under Restore with its VM's name; restored to a new location through the wizard.
  await panel.getByTestId("keys-panel-restore-link").click();
  await dr.getByTestId("restorable-vm").filter({ hasText: VM }).click();
  const choice = dr.getByTestId("restore-point-choice").first();
  await expect(choice).toContainText("Available");
  await choice.getByTestId("restore-point-open").click();
  await expect(dr.getByTestId("wizard-step-0")).toBeVisible();
  await expect(dr.getByTestId("point-details")).toContainText("Keys available");
  for (let step = 1; step <= 7; step++) await next(dr, step); // … keys, network (defaults), name
  const restoredName = `${VM}-dr${Date.now().toString(36)}`;
  await dr.getByTestId("restore-name").fill(restoredName);
  await dr.getByTestId("restore-folder").fill("/Recovered/dr");
  await next(dr, 8);
  await expect(dr.getByTestId("check-ok")).toBeVisible({ timeout: 30_000 });
  await next(dr, 9);
  await dr.getByTestId("restore-reason").fill("e2e: DR drill, the console's configuration database was lost");
  await next(dr, 10);
  await expect(dr.getByTestId("restore-summary")).toContainText(restoredName);
  await dr.getByTestId("wizard-finish").click();
  await expect(dr).toHaveURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await expect(dr.getByTestId("session-state")).toHaveText(/Success/, { timeout: 150_000 });
  await dr.reload();
  await expect(dr.getByTestId("restored-vm-link")).toBeVisible({ timeout: 20_000 });
  await shoot(dr, "dr-04-restore-finished");
  await dr.context().close();
});
