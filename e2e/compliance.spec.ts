import path from "node:path";
import Database from "better-sqlite3";
import { expect, test, type Page } from "@playwright/test";
import { pageAs, shoot, userOf } from "./fixtures";

// SEC-5 in the browser: a Security Officer runs the compliance checks, breaks password-loss
// protection (retires every recovery keyset), sees that check fail with its reason and fix link,
// follows the link, generates a keyset, runs again and sees it pass; the trend grows by a bar a
// run. A Backup Viewer reads the same results but cannot run the checks. The runner makes a daily
// run at start, so the empty state is shown with the stored runs set aside (and put back), and
// counts are relative.

const row = (page: Page, id: string) => page.locator(`[data-testid="compliance-row"][data-check="${id}"]`);

async function runChecks(page: Page): Promise<void> {
  const before = (await page.getByTestId("last-run").count()) ? await page.getByTestId("last-run").getAttribute("data-run") : null;
  await page.getByTestId("run-checks").click();
  await expect(page.getByRole("status").filter({ hasText: "Checks ran:" })).toBeVisible({ timeout: 30_000 });
  // The page re-renders with the new run.
  await expect(page.getByTestId("last-run")).not.toHaveAttribute("data-run", before ?? "none");
}

test("before the first run the page says so and offers to run the checks", async ({ browser }) => {
  const db = new Database(path.resolve(".data/e2e/strongroom.db"));
  db.pragma("busy_timeout = 10000");
  const saved = db.prepare(`SELECT * FROM "ComplianceRun"`).all() as Array<Record<string, unknown>>;
  try {
    db.prepare(`DELETE FROM "ComplianceRun"`).run();
    const page = await pageAs(browser, userOf("SECURITY_OFFICER"));
    await page.goto("/compliance");
    await expect(page.getByTestId("empty-state")).toContainText("No check has run yet — Run checks");
    await expect(page.getByTestId("run-checks")).toBeVisible();
    await expect(page.getByTestId("compliance-row")).toHaveCount(0);
    await shoot(page, "compliance-empty");
  } finally {
    const insert = db.prepare(`INSERT OR IGNORE INTO "ComplianceRun" ("id", "at", "trigger", "results", "passCount", "failCount") VALUES (@id, @at, @trigger, @results, @passCount, @failCount)`);
    for (const row of saved) insert.run(row);
    db.close();
  }
});

test("a failing check turns green after its fix: no active recovery keyset → generate one → PASS", async ({ browser }) => {
  test.setTimeout(120_000);
  const page = await pageAs(browser, userOf("SECURITY_OFFICER"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Compliance" }).click();
  await expect(page).toHaveURL(/\/compliance$/);
  await expect(page.getByRole("heading", { name: "Compliance" })).toBeVisible();
  await shoot(page, "compliance-start");

  await runChecks(page);
  await expect(page.getByTestId("compliance-row")).toHaveCount(14);
  await expect(row(page, "replicas-encrypted")).toHaveAttribute("data-status", "na");
  await expect(row(page, "replicas-encrypted").getByTestId("compliance-why")).toContainText("No replication job exists");
  // The lab's deliberate proxy mistake (a Globex proxy encrypted with Acme's KMS) is caught.
  await expect(row(page, "hotadd-kms-match")).toHaveAttribute("data-status", "fail");
  await expect(row(page, "hotadd-kms-match").getByTestId("compliance-why")).toContainText("proxy-globex-02");
  const barsBefore = await page.getByTestId("trend-bar").count();
  await shoot(page, "compliance-first-run");

  // Break it: retire every active keyset (each retire asks for confirmation).
  await page.goto("/recovery-keysets");
  page.on("dialog", (d) => void d.accept());
  for (let left = await page.getByTestId("retire-keyset").count(); left > 0; left--) {
    await page.getByTestId("retire-keyset").first().click();
    await expect(page.getByTestId("retire-keyset")).toHaveCount(left - 1);
  }
  await expect(page.getByTestId("keyset-summary")).toContainText("No active keyset");

  await page.goto("/compliance");
  await runChecks(page);
  const keysets = row(page, "recovery-keyset");
  await expect(keysets).toHaveAttribute("data-status", "fail");
  await expect(keysets.getByTestId("compliance-status")).toHaveText("FAIL");
  await expect(keysets.getByTestId("compliance-why")).toContainText("No active recovery keyset");
  // Failures come first.
  await expect(page.getByTestId("compliance-row").first()).toHaveAttribute("data-status", "fail");
  await expect(page.getByTestId("trend-bar")).toHaveCount(Math.min(30, barsBefore + 1));
  await shoot(page, "compliance-keyset-fail");

  // Fix it where the link says.
  const fix = keysets.getByTestId("compliance-fix");
  await expect(fix).toHaveText("Fix: Generate a recovery keyset");
  await fix.click();
  await expect(page).toHaveURL(/\/recovery-keysets$/);
  await page.getByTestId("generate-keyset").click();
  await expect(page.getByRole("status").filter({ hasText: "Generated keyset" })).toBeVisible({ timeout: 30_000 });

  await page.goto("/compliance");
  await runChecks(page);
  await expect(row(page, "recovery-keyset")).toHaveAttribute("data-status", "pass");
  await expect(row(page, "recovery-keyset").getByTestId("compliance-status")).toHaveText("PASS");
  await expect(row(page, "recovery-keyset").getByTestId("compliance-why")).toContainText("active recovery keyset");
  await expect(page.getByTestId("trend-bar")).toHaveCount(Math.min(30, barsBefore + 2));
  await shoot(page, "compliance-keyset-pass");
});

test("a Backup Viewer reads the results but cannot run the checks", async ({ browser }) => {
  const page = await pageAs(browser, userOf("BACKUP_VIEWER"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Compliance" }).click();
  await expect(page).toHaveURL(/\/compliance$/);
  await expect(page.getByTestId("compliance-row")).toHaveCount(14);
  await expect(page.getByTestId("run-checks")).toHaveCount(0);
  await expect(page.getByTestId("read-only-note")).toContainText("Read-only");
  await shoot(page, "compliance-viewer");
});
