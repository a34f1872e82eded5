import path from "node:path";
import Database from "better-sqlite3";
import { expect, test, type Page } from "@playwright/test";
import { createPasswordJobAndRun } from "./backup-fixtures";
import { admin, pageAs, shoot, signIn, unique, userOf } from "./fixtures";

// Issue 9: the Jobs / Sessions view and the Workers page on the normal e2e console (SQLite, the
// job engine in the console's own process).
//  - A backup job run from the wizard is listed with the worker that ran it; the filters narrow
//    the list, and a filter that matches nothing says so.
//  - A worker that stopped answering is shown in red, and its VM that moved shows the new worker.
//    Those rows are written straight into the database as the engine writes them (the contract is
//    prisma/schema.prisma: JobWorker, SessionVm, ProxyTask), under a kind no handler runs
//    ("replication"), so the engine never touches them.
//  - The console's own worker is alive on the Workers page.

const DB_FILE = path.resolve(".data/e2e/strongroom.db");
const PASSWORD = "Strongroom-e2e-jobs-view-2026";

/** Prisma's SQLite DateTime text ("2026-03-01T10:00:00.000+00:00"). */
const sqlTime = (ms: number) => new Date(ms).toISOString().replace("Z", "+00:00");

function openDb() {
  const db = new Database(DB_FILE);
  db.pragma("busy_timeout = 10000");
  return db;
}

async function waitForSessionRow(page: Page, sessionId: string) {
  const row = page.locator(`[data-testid="session-row"][data-session="${sessionId}"]`);
  await expect(row).toBeVisible({ timeout: 15_000 });
  return row;
}

test("with no session yet the Sessions page says to run a backup job", async ({ page }) => {
  const db = openDb();
  const count = (db.prepare(`SELECT COUNT(*) AS n FROM "JobSession"`).get() as { n: number }).n;
  db.close();
  // Only on a fresh console (this spec alone); in the full run other specs made sessions first.
  test.skip(count > 0, "other specs already made sessions");
  await signIn(page, admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sessions" }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByTestId("empty-state")).toContainText("No sessions yet — run a backup job");
  await shoot(page, "sessions-empty");
});

test("a backup session is listed with where it ran; the filters narrow the list and say when nothing matches", async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, admin);
  const name = unique("Jobs view nightly");
  await createPasswordJobAndRun(page, name, "prov-dc-01", PASSWORD);
  const sessionId = new URL(page.url()).pathname.split("/").pop()!;

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sessions" }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  const row = await waitForSessionRow(page, sessionId);
  await expect(row).toHaveAttribute("data-kind", "backup");
  await expect(row).toHaveAttribute("data-state", "success");
  await expect(row.getByTestId("session-title")).toHaveText(name);
  await expect(row.getByTestId("session-subject")).toHaveAttribute("href", /^\/jobs\/[^/]+$/);
  await expect(row.getByTestId("session-vms")).toContainText("1 of 1 VM done");
  await expect(row.getByTestId("session-timing")).toContainText("ended after");
  // The console's in-process worker ran it (written by the job engine: JobWorker, SessionVm.workerId).
  await expect(row.getByTestId("session-ran-on")).toContainText("(console)");
  await shoot(page, "sessions-filled");

  // Filters live in the address.
  await page.getByTestId("filter-kind").selectOption("backup");
  await page.getByTestId("filter-state").selectOption("done");
  await expect(page).toHaveURL(/kind=backup/);
  await expect(page).toHaveURL(/state=done/);
  await waitForSessionRow(page, sessionId);
  for (const r of await page.getByTestId("session-row").all()) {
    await expect(r).toHaveAttribute("data-kind", "backup");
    await expect(r).not.toHaveAttribute("data-state", /queued|running/);
  }
  await page.getByTestId("filter-q").fill(name);
  await expect(page).toHaveURL(/q=Jobs/);
  await expect(page.getByTestId("session-row")).toHaveCount(1);

  // A state that matches nothing: the empty state for filters, with a way back.
  await page.getByTestId("filter-state").selectOption("failed");
  await expect(page.getByTestId("empty-state")).toContainText("No session matches these filters");
  await shoot(page, "sessions-filtered-empty");
  await page.getByTestId("filter-kind").selectOption("restore");
  await expect(page.getByTestId("empty-state")).toContainText("No session matches these filters");

  // The address opens the same view.
  await page.goto(`/sessions?kind=backup&state=success&q=${encodeURIComponent(name)}`);
  await expect(page.getByTestId("session-row")).toHaveCount(1);
  await page.getByTestId("clear-filters").first().click();
  await expect(page).toHaveURL(/\/sessions$/);
  await waitForSessionRow(page, sessionId);

  // The session page names the worker per VM (once the engine fills vms[i].worker).
  await page.locator(`[data-testid="session-row"][data-session="${sessionId}"]`).getByTestId("session-title").click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${sessionId}$`));
  await expect(page.getByTestId("session-vm").first().getByTestId("vm-worker")).toContainText(/ran on/);
});

test("a worker that stopped answering is shown in red, and its VM that moved shows the new worker", async ({ browser }) => {
  const tag = unique("e2e").replace(/[^a-z0-9]/gi, "");
  const now = Date.now();
  const live = { id: `w-live-${tag}`, host: `proxy-host-live-${tag}` };
  const dead = { id: `w-dead-${tag}`, host: `proxy-host-dead-${tag}` };
  const sessionId = `s-${tag}`;
  const title = `Replication to DR ${tag}`;
  const db = openDb();
  const beat = () => db.prepare(`UPDATE "JobWorker" SET "heartbeatAt" = ? WHERE "id" = ?`).run(sqlTime(Date.now()), live.id);
  let timer: NodeJS.Timeout | undefined;
  try {
    const worker = db.prepare(`INSERT INTO "JobWorker" ("id", "role", "host", "pid", "startedAt", "heartbeatAt", "tasks") VALUES (?, 'worker', ?, ?, ?, ?, ?)`);
    worker.run(live.id, live.host, 4242, sqlTime(now - 600_000), sqlTime(now), JSON.stringify([{ kind: "replication-vm", sessionId, vmExternalId: "vm-b", since: new Date(now - 20_000).toISOString() }]));
    worker.run(dead.id, dead.host, 4343, sqlTime(now - 600_000), sqlTime(now - 90_000), "[]");
    db.prepare(
      `INSERT INTO "JobSession" ("id", "kind", "subject", "title", "state", "trigger", "queuedAt", "startedAt", "workerId", "heartbeatAt", "progress", "log", "bytesRead", "bytesStored", "stopRequested") VALUES (?, 'replication', '', ?, 'running', 'schedule', ?, ?, ?, ?, '{"vms":[]}', '[]', 0, 0, 0)`,
    ).run(sessionId, title, sqlTime(now - 120_000), sqlTime(now - 118_000), live.id, sqlTime(now));
    const vm = db.prepare(`INSERT INTO "SessionVm" ("id", "sessionId", "position", "vmExternalId", "name", "state", "progress", "workerId", "attempt") VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)`);
    vm.run(`${sessionId}-a`, sessionId, 0, "vm-a", "acme-web-01", "success", dead.id, 1);
    // vm-b was running on the dead worker and was taken over by the live one (second attempt).
    vm.run(`${sessionId}-b`, sessionId, 1, "vm-b", "acme-web-02", "running", live.id, 2);
    // vm-c is still named on the dead worker until its lease runs out.
    vm.run(`${sessionId}-c`, sessionId, 2, "vm-c", "acme-sql-01", "running", dead.id, 1);
    timer = setInterval(beat, 2_000);

    const page = await pageAs(browser, userOf("BACKUP_VIEWER"));
    await page.goto(`/sessions?kind=replication&q=${tag}`);
    const row = await waitForSessionRow(page, sessionId);
    await expect(row).toHaveAttribute("data-state", "running");
    await expect(row.getByTestId("session-vms")).toContainText("1 of 3 VMs done · 2 running");
    const liveChip = row.locator(`[data-testid="worker-chip"][data-worker="${live.id}"]`);
    await expect(liveChip).toHaveAttribute("data-alive", "yes");
    await expect(liveChip).toContainText(live.host);
    const deadChip = row.locator(`[data-testid="worker-chip"][data-worker="${dead.id}"]`);
    await expect(deadChip).toHaveAttribute("data-alive", "no");
    await expect(deadChip.getByTestId("worker-dead")).toContainText("no heartbeat since");
    await expect(row.getByTestId("session-taken-over")).toContainText("1 VM was taken over from a worker that stopped answering");
    await expect(page.getByTestId("activity-line")).toContainText("queued or running now");
    await shoot(page, "sessions-worker-died");

    // The filter by worker finds the session through its VMs.
    await page.getByTestId("filter-worker").selectOption(dead.id);
    await waitForSessionRow(page, sessionId);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workers" }).click();
    await expect(page).toHaveURL(/\/workers$/);
    const deadRow = page.locator(`[data-testid="worker-row"][data-worker="${dead.id}"]`);
    await expect(deadRow).toHaveAttribute("data-status", "no-heartbeat");
    await expect(deadRow.getByTestId("worker-dead")).toContainText("no heartbeat since");
    await expect(page.getByTestId("dead-workers")).toBeVisible();
    const liveRow = page.locator(`[data-testid="worker-row"][data-worker="${live.id}"]`);
    await expect(liveRow).toHaveAttribute("data-status", "alive");
    await expect(liveRow.getByTestId("worker-tasks")).toContainText(`${title} · VM acme-web-02`);
    await shoot(page, "workers-one-dead");
    await page.context().close();
  } finally {
    if (timer) clearInterval(timer);
    db.prepare(`DELETE FROM "JobSession" WHERE "id" = ?`).run(sessionId);
    db.prepare(`DELETE FROM "JobWorker" WHERE "id" IN (?, ?)`).run(live.id, dead.id);
    db.close();
  }
});

test("the Workers page shows the console's own worker alive and each proxy's task slots", async ({ page }) => {
  await signIn(page, admin);
  await page.goto("/workers");
  // Written by the job engine when the console starts its in-process worker.
  const consoleRow = page.locator(`[data-testid="worker-row"]`, { hasText: "The console's own worker" }).first();
  await expect(consoleRow).toHaveAttribute("data-status", "alive", { timeout: 15_000 });
  await expect(consoleRow.getByTestId("worker-heartbeat")).toContainText("heartbeat");
  await expect(page.getByTestId("proxy-slot-row").first()).toContainText(/\d+ of \d+/);
  await shoot(page, "workers");
});
