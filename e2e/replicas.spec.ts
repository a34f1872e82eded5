import { execFileSync } from "node:child_process";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { admin, shoot, signIn, userOf } from "./fixtures";

// The Replicas page (REP-1…4), read-only: empty at first, saying how replicas come to exist; then,
// after a replication job ran (created through the services — the wizard comes later), the replica
// with its state, key mode, RPO and its point with the replica's key id. A Backup Viewer sees it too.

test.describe.configure({ mode: "serial" });
const ROOT = path.resolve(__dirname, "..");
const DATA_DIR = path.join(ROOT, ".data", "e2e");

test("empty, then a replica after a replication job ran", async ({ page, browser }) => {
  test.setTimeout(180_000);
  await signIn(page, admin);
  await page.getByRole("link", { name: "Replicas", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Replicas", exact: true })).toBeVisible();
  // The empty state shows on a console without replicas (this spec alone); in the full run the
  // failover spec made one first, and the list shows instead.
  if ((await page.getByTestId("replica").count()) === 0) {
    await expect(page.getByText("No replicas yet")).toBeVisible();
    await expect(page.getByText(/comes to exist when a replication job runs/)).toBeVisible();
    await shoot(page, "replicas-empty");
  } else {
    await expect(page.getByText("No replicas yet")).toHaveCount(0);
  }

  const out = execFileSync(path.join(ROOT, "node_modules/.bin/tsx"), ["--conditions=react-server", "e2e/make-replica.ts"], {
    cwd: ROOT,
    env: { ...process.env, STRONGROOM_DATA_DIR: DATA_DIR, DATABASE_URL: `file:${path.join(DATA_DIR, "strongroom.db")}`, E2E_ADMIN_EMAIL: admin.email },
    encoding: "utf8",
    timeout: 90_000,
  });
  const { sessionId, vm } = JSON.parse(out.trim().split("\n").pop()!) as { sessionId: string; vm: string };
  await page.goto(`/sessions/${sessionId}`);
  await expect(page.getByTestId("session-state")).toContainText(/Success/, { timeout: 120_000 });
  await shoot(page, "replication-session");

  await page.goto("/replicas");
  const row = page.getByTestId("replica").filter({ hasText: vm });
  await expect(row).toContainText("Ready");
  await expect(row).toContainText("New key at the target");
  await expect(row.getByTestId("replica-points").locator("li")).toHaveCount(1);
  await expect(row).toContainText("Success");
  await shoot(page, "replicas-one");

  const viewer = await browser.newPage();
  await signIn(viewer, userOf("BACKUP_VIEWER"));
  await viewer.goto("/replicas");
  await expect(viewer.getByTestId("replica").filter({ hasText: vm })).toBeVisible();
  await viewer.close();
});
