import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { expect, test, type Page } from "@playwright/test";
import { admin, createUserViaUi, pageAs, shoot, signIn, unique, userOf } from "./fixtures";

// SEC-4: the audit log lists and filters every security-relevant event, exports what is shown as
// CSV (audited itself), and verifies its hash chain.

/** Minimal RFC 4180 reader (CRLF records, quoted cells with doubled quotes). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let rec: string[] = [];
  let cell = "";
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (c === ",") { rec.push(cell); cell = ""; }
    else if (c === "\r" && text[i + 1] === "\n") { rec.push(cell); out.push(rec); rec = []; cell = ""; i++; }
    else cell += c;
  }
  return out;
}

const texts = (page: Page, testId: string) => page.getByTestId("audit-table").getByTestId(testId).allTextContents();

test("a Security Officer filters by action and user, shares the view, exports it as CSV and verifies the chain", async ({ page, browser }) => {
  // An administrator creates a user: a fresh user.create event by admin@….
  const made = { email: `${unique("audited")}@e2e.strongroom.test`, password: "audited-user-password", name: "Audited", roleLabel: "Backup Viewer" };
  const adminPage = await pageAs(browser, admin);
  await createUserViaUi(adminPage, made);
  await adminPage.context().close();

  await signIn(page, userOf("SECURITY_OFFICER"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByTestId("audit-chain")).toContainText("Hash chain intact");
  await expect(page.getByTestId("audit-row").first()).toBeVisible();

  // Filter: every user.* action, by the administrator (typed in upper case: emails match in any case).
  await page.getByTestId("filter-action").selectOption("user.*");
  await page.getByTestId("filter-user").fill("ADMIN@e2e");
  await expect(page).toHaveURL(/action=user\.\*/);
  await expect(page).toHaveURL(/user=ADMIN%40e2e/);
  await expect(page.getByTestId("audit-count")).toContainText("matching");
  await expect.poll(async () => (await texts(page, "audit-actor")).every((a) => a === admin.email)).toBe(true);
  await expect.poll(async () => (await texts(page, "audit-action")).every((a) => a.startsWith("user."))).toBe(true);
  await expect(page.getByTestId("audit-table")).toContainText(made.email);
  const actions = await texts(page, "audit-action");
  expect(actions).toContain("user.create");
  expect(actions.length).toBeGreaterThanOrEqual(5); // the four role users of the setup and this one
  const shownSeqs = (await page.getByTestId("audit-row").locator("td:first-child").allTextContents()).map(Number);
  const countText = await page.getByTestId("audit-count").textContent();
  const total = Number(/^([\d,]+)/.exec(countText ?? "")![1].replace(/,/g, ""));
  expect(total).toBe(shownSeqs.length);
  await shoot(page, "audit-filtered");

  // The address is the view: opened elsewhere, it shows the same filters and rows.
  const shared = await page.context().newPage();
  await shared.goto(page.url());
  await expect(shared.getByTestId("filter-action")).toHaveValue("user.*");
  await expect(shared.getByTestId("filter-user")).toHaveValue("ADMIN@e2e");
  await expect(shared.getByTestId("audit-row")).toHaveCount(shownSeqs.length);
  await shared.close();

  // Export what is shown: header, then the same events, oldest first.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
  expect(download.suggestedFilename()).toMatch(/^audit-start-\d{8}T\d{6}Z\.csv$/);
  const file = path.resolve("test-results/screens", download.suggestedFilename());
  await download.saveAs(file);
  const csv = fs.readFileSync(file, "utf8");
  expect(csv.split("\r\n")[0]).toBe("seq,at,actor,action,objectType,objectId,outcome,sourceIp,details,hash,prevHash");
  const [, ...rows] = parseCsv(csv);
  expect(rows.map((r) => Number(r[0]))).toEqual([...shownSeqs].reverse());
  for (const r of rows) {
    expect(r).toHaveLength(11);
    expect(r[2]).toBe(admin.email);
    expect(r[3]).toMatch(/^user\./);
    expect(r[9]).toMatch(/^[0-9a-f]{64}$/);
  }
  expect(rows.some((r) => r[3] === "user.create" && JSON.parse(r[8]).email === made.email)).toBe(true);

  // The export is itself in the log, with its filters and row count.
  await page.goto("/audit?action=audit.export");
  const exportRow = page.getByTestId("audit-row").first();
  await expect(exportRow).toContainText(userOf("SECURITY_OFFICER").email);
  await expect(exportRow).toContainText(`rows: ${rows.length}`);
  await expect(exportRow).toContainText('"action":"user.*"');

  // No match: a designed empty state with a way out.
  await page.getByTestId("filter-user").fill(`nobody-${unique("x")}`);
  await expect(page.getByTestId("empty-state")).toContainText("No event matches these filters");
  await expect(page.getByTestId("export-csv")).toHaveAttribute("aria-disabled", "true");
  await shoot(page, "audit-empty");
  await page.getByTestId("empty-state").getByRole("button", { name: "Clear filters" }).click();
  await expect(page.getByTestId("audit-row").first()).toBeVisible();

  // From after To is refused with a message; nothing is listed until it is fixed.
  await page.goto("/audit?from=2025-03-02T00:00&to=2025-03-01T00:00");
  await expect(page.getByTestId("audit-filters")).toContainText("To is before From");
  await expect(page.getByTestId("invalid-filters")).toBeVisible();
  await shoot(page, "audit-invalid-filters");

  // Verify on demand.
  await page.goto("/audit");
  await page.getByTestId("verify-chain").click();
  await expect(page.getByTestId("chain-ok")).toContainText("Hash chain intact");
  await shoot(page, "audit-log-verified");
});

test("an entry edited in the database shows where the chain breaks and how", async ({ page }) => {
  const db = new Database(path.resolve(".data/e2e/strongroom.db"));
  db.pragma("busy_timeout = 10000");
  try {
    await signIn(page, userOf("SECURITY_OFFICER"));
    const victim = db.prepare(`SELECT "seq", "outcome" FROM "AuditEvent" WHERE "action" = 'auth.sign-in' ORDER BY "seq" DESC LIMIT 1 OFFSET 3`).get() as { seq: number; outcome: string };
    db.prepare(`UPDATE "AuditEvent" SET "outcome" = ? WHERE "seq" = ?`).run(victim.outcome === "success" ? "failure" : "success", victim.seq);
    try {
      await page.goto("/audit");
      await expect(page.getByTestId("chain-broken")).toContainText(`breaks at entry #${victim.seq}`);
      await expect(page.getByTestId("chain-problem")).toContainText(`Entry #${victim.seq} was changed after it was written`);
      // The table marks the entry where the chain breaks.
      await expect(page.locator('[data-testid="audit-row"][data-broken]')).toHaveCount(1);
      await expect(page.locator('[data-testid="audit-row"][data-broken] td').first()).toHaveText(String(victim.seq));
      await shoot(page, "audit-chain-broken");
    } finally {
      db.prepare(`UPDATE "AuditEvent" SET "outcome" = ? WHERE "seq" = ?`).run(victim.outcome, victim.seq);
    }
    await page.getByTestId("verify-chain").click();
    await expect(page.getByTestId("chain-ok")).toContainText("Hash chain intact");
  } finally {
    db.close();
  }
});
