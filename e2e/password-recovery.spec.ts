import { expect, test, type Page } from "@playwright/test";
import { changeJobPassword, createPasswordJobAndRun } from "./backup-fixtures";
import { admin, pageAs, shoot, signIn, unique, userOf } from "./fixtures";

// Issue 5 (KEY-6): a restore point whose password is "lost" (the job's password was changed and
// the old one forgotten) opens again through the recovery request/response round trip.
const OLD = "Recovery-old-password-1";
const NEW = "Recovery-new-password-2";
const VM = "prov-jump-02";

/** Runs a verify of the repository and waits until the VM's point shows `ok` (the runner verifies in the background). */
async function expectVerified(page: Page, repositoryUrl: string, ok: boolean) {
  await page.goto(repositoryUrl);
  await page.getByTestId("verify-button").click();
  await expect
    .poll(
      async () => {
        await page.goto(repositoryUrl);
        if (await page.getByTestId("verify-running").count()) return "running";
        const row = page.getByTestId("verify-point").filter({ hasText: VM }).first();
        return (await row.count()) ? row.getAttribute("data-ok") : "not in the report yet";
      },
      { timeout: 60_000, intervals: [1000] },
    )
    .toBe(String(ok));
}

test("a point whose password is lost opens again after a Security Officer answers the recovery request", async ({ page, browser }) => {
  test.setTimeout(240_000);
  await signIn(page, admin);
  const name = unique("Recovery job");
  await createPasswordJobAndRun(page, name, VM, OLD);
  await expect(page.getByTestId("session-vm").first()).toContainText("keyset:");

  // The password is changed; the old one is forgotten.
  await page.getByRole("link", { name }).first().click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/);
  const jobUrl = page.url();
  const repositoryUrl = (await page.getByTestId("job-settings").locator(`a[href^="/repositories/"]`).first().getAttribute("href"))!;
  await changeJobPassword(page, jobUrl, NEW);

  // The console can no longer open the old point: verify says its keys are missing.
  await expectVerified(page, repositoryUrl, false);

  // 1. The administrator asks for recovery of that point.
  await page.goto("/password-recovery");
  const row = page.locator("label").filter({ hasText: VM }).filter({ hasText: name }).first();
  await row.locator("input[type=checkbox]").check();
  await page.getByTestId("create-recovery-request").click();
  const requestText = await page.getByTestId("recovery-request-text").inputValue();
  expect(requestText).toContain("strongroom-recovery-request-bundle");
  expect(requestText).not.toContain("PRIVATE KEY");
  await shoot(page, "password-recovery-request");

  // 2. A Security Officer, at another desk, answers it with the recovery keyset.
  const officer = await pageAs(browser, userOf("SECURITY_OFFICER"));
  await officer.goto("/password-recovery");
  await officer.getByTestId("answer-request-text").fill(requestText);
  await officer.getByTestId("answer-request").click();
  const responseText = await officer.getByTestId("recovery-response-text").inputValue();
  expect(responseText).toContain("strongroom-recovery-response-bundle");
  await shoot(officer, "password-recovery-answer");

  // 3. The administrator applies the answer: the point opens again, and verify agrees.
  await page.getByTestId("apply-response-text").fill(responseText);
  await page.getByTestId("apply-response").click();
  await expect(page.getByTestId("action-ok")).toContainText("1 restore point(s) open again");
  await shoot(page, "password-recovery-applied");
  await expectVerified(page, repositoryUrl, true);
});
