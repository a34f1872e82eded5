import fs from "node:fs";
import { expect, test } from "@playwright/test";
import { exportKeyset, generateRecoveryKeyset } from "../lib/engine/keys/recovery-keyset";
import { admin, pageAs, shoot, signIn, userOf } from "./fixtures";

// KEY-6 in the browser: a Security Officer generates a recovery keyset, exports it under a
// passphrase (a file download; the passphrase never in a URL), is refused when importing the same
// keyset again, imports a public-only keyset, retires one and edits the policy; a Backup
// Administrator sees the same list read-only. The runner may already have generated a keyset at
// start (the default policy is on), so counts are relative.

const PASSPHRASE = "e2e keyset passphrase 12345";

test("a Security Officer generates, exports, re-imports (refused), imports public-only, retires; the policy validates as typed", async ({ browser }) => {
  const page = await pageAs(browser, userOf("SECURITY_OFFICER"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Recovery keysets" }).click();
  await expect(page).toHaveURL(/\/recovery-keysets$/);
  await expect(page.getByRole("heading", { name: "Recovery keysets" })).toBeVisible();
  await expect(page.getByTestId("keyset-explainer")).toContainText("every active keyset");
  const rows = page.getByTestId("keyset-row");
  const before = await rows.count();
  await shoot(page, "recovery-keysets-start");

  // Generate: a few seconds of RSA-4096.
  await page.getByTestId("generate-keyset").click();
  const ok = page.getByRole("status").filter({ hasText: "Generated keyset" });
  await expect(ok).toBeVisible({ timeout: 30_000 });
  const id = /Generated keyset ([0-9a-f]{32})/.exec((await ok.textContent()) ?? "")![1];
  const row = page.locator(`[data-testid="keyset-row"][data-keyset="${id}"]`);
  await expect(row).toBeVisible();
  expect(await rows.count()).toBeGreaterThan(before);
  const afterGenerate = await rows.count();
  await expect(row).toContainText("Active");
  await expect(row).toContainText("Held by the console");
  await expect(row).toContainText("Never — export a copy");
  await expect(row).toContainText("Generated · RSA 4096");
  await shoot(page, "recovery-keysets-generated");

  // Export: the passphrase twice; a mismatch is said as typed and blocks the download.
  await row.getByTestId("export-keyset").click();
  const form = page.getByTestId("export-form");
  await form.getByLabel("Passphrase", { exact: false }).first().fill(PASSPHRASE);
  await form.getByLabel("Passphrase again").fill(`${PASSPHRASE}!`);
  await expect(form.getByTestId("error-passphraseConfirm")).toContainText("differ");
  await expect(form.getByTestId("download-keyset")).toBeDisabled();
  await shoot(page, "recovery-keysets-export-mismatch");
  await form.getByLabel("Passphrase again").fill(PASSPHRASE);
  const downloading = page.waitForEvent("download");
  await form.getByTestId("download-keyset").click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`strongroom-recovery-keyset-${id}.json`);
  const file = test.info().outputPath("keyset.json");
  await download.saveAs(file);
  const text = fs.readFileSync(file, "utf8");
  const doc = JSON.parse(text) as { keysetId: string; privateKeyPem: string };
  expect(doc.keysetId).toBe(id);
  expect(doc.privateKeyPem).toContain("BEGIN ENCRYPTED PRIVATE KEY");
  expect(page.url()).not.toContain(encodeURIComponent(PASSPHRASE).slice(0, 8));
  await expect(form.getByTestId("action-ok")).toContainText("Keep it offline");
  await expect(form.getByLabel("Passphrase again")).toHaveValue("");
  await expect(row).toContainText(`by ${userOf("SECURITY_OFFICER").name}`);
  await shoot(page, "recovery-keysets-exported");

  // Importing the same keyset again is refused, and nothing changes.
  const importForm = page.getByTestId("import-form");
  await importForm.getByTestId("import-file").setInputFiles(file);
  await expect(importForm.getByLabel(/Exported keyset file/)).toHaveValue(/strongroom-recovery-keyset/);
  await importForm.getByLabel(/^Passphrase/).fill(PASSPHRASE);
  await importForm.getByTestId("import-keyset").click();
  await expect(importForm.getByTestId("action-error")).toContainText("already in the console");
  await expect(importForm.getByTestId("error-json")).toContainText("already listed");
  await expect(rows).toHaveCount(afterGenerate);
  await shoot(page, "recovery-keysets-import-duplicate");

  // Garbage is refused with the field's message.
  await importForm.getByLabel(/Exported keyset file/).fill("{ this is not a keyset }");
  await importForm.getByLabel(/^Passphrase/).fill("");
  await importForm.getByTestId("import-keyset").click();
  await expect(importForm.getByTestId("error-json")).toContainText("Not a usable recovery keyset file");

  // A public-only keyset from elsewhere: listed as "Public key only", nothing to export.
  const foreign = await generateRecoveryKeyset({ modulusLength: 2048 });
  await importForm.getByLabel(/Exported keyset file/).fill(exportKeyset(foreign));
  await expect(importForm).toContainText("holds no private key");
  await importForm.getByTestId("import-keyset").click();
  await expect(importForm.getByTestId("action-ok")).toContainText("Public key only");
  const foreignRow = page.locator(`[data-testid="keyset-row"][data-keyset="${foreign.id}"]`);
  await expect(foreignRow).toContainText("Public key only");
  await expect(foreignRow).toContainText("Imported · RSA 2048");
  await expect(foreignRow.getByTestId("export-keyset")).toHaveCount(0);

  // Retire it (after a confirmation): it stays listed as Retired.
  page.once("dialog", (d) => void d.accept());
  await foreignRow.getByTestId("retire-keyset").click();
  await expect(foreignRow).toContainText("Retired");
  await expect(foreignRow.getByTestId("retire-keyset")).toHaveCount(0);
  await shoot(page, "recovery-keysets-imported-retired");

  // The policy: retention shorter than rotation is refused as typed; a valid one saves.
  const policy = page.getByTestId("policy-form");
  await policy.getByLabel(/New keyset every/).fill("90");
  await policy.getByLabel(/Retire keysets older than/).fill("30");
  await expect(policy).toContainText("retention ≥ rotation");
  await expect(policy.getByTestId("save-policy")).toBeDisabled();
  await shoot(page, "recovery-keysets-policy-error");
  await policy.getByLabel(/Retire keysets older than/).fill("400");
  await policy.getByTestId("save-policy").click();
  await expect(policy.getByTestId("action-ok")).toContainText("every 90 day(s)");
  await expect(page.getByTestId("keyset-summary")).toContainText("every 90 day(s), retired after 400");
  await page.context().close();
});

test("a Backup Administrator sees the keysets read-only", async ({ page }) => {
  await signIn(page, admin);
  await page.goto("/recovery-keysets");
  await expect(page.getByTestId("keyset-table")).toBeVisible();
  await expect(page.getByTestId("keyset-row").first()).toBeVisible();
  await expect(page.getByTestId("generate-keyset")).toHaveCount(0);
  await expect(page.getByTestId("export-keyset")).toHaveCount(0);
  await expect(page.getByTestId("retire-keyset")).toHaveCount(0);
  await expect(page.getByTestId("import-form")).toHaveCount(0);
  await expect(page.getByTestId("policy-form")).toHaveCount(0);
  await expect(page.getByTestId("policy-text")).toContainText("every 90 day(s)");
  await expect(page.getByTestId("read-only-note")).toBeVisible();
  await expect(page.getByTestId("keyset-table")).toContainText("Public key only");
  await shoot(page, "recovery-keysets-admin-read-only");
});
