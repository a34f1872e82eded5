import { expect, type Page } from "@playwright/test";

// Wizard walks shared by the specs that need a password job (four-eyes, password recovery).

/** Creates a password job for one VM through the wizard, runs it and waits for its session's Success. */
export async function createPasswordJobAndRun(page: Page, name: string, vmName: string, password: string): Promise<void> {
  await page.goto("/jobs/new");
  await page.getByTestId("job-name").fill(name);
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("vm-picker-search").fill(vmName);
  await page.getByTestId(`pick-vm-${vmName}`).check();
  await expect(page.getByTestId("selection-summary")).toBeVisible();
  for (let i = 0; i < 3; i++) await page.getByTestId("wizard-next").click();
  await page.getByTestId("encryption-password").check();
  await page.getByTestId("job-password").fill(password);
  await page.getByTestId("job-password-confirm").fill(password);
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("job-schedule-kind").selectOption("manual");
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("wizard-finish").click();
  await expect(page).toHaveURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByTestId("session-state")).toHaveText(/Success/, { timeout: 90_000 });
}

/** Sets a new password through the job's edit wizard (without running it) and returns to the job page. */
export async function changeJobPassword(page: Page, jobUrl: string, password: string): Promise<void> {
  await page.goto(`${jobUrl}/edit`);
  for (let i = 0; i < 4; i++) await page.getByTestId("wizard-next").click();
  await page.getByTestId("job-password").fill(password);
  await page.getByTestId("job-password-confirm").fill(password);
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("job-run-now").uncheck();
  await page.getByTestId("wizard-finish").click();
  await expect(page).toHaveURL(jobUrl);
}
