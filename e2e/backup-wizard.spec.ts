import { expect, test, type Page } from "@playwright/test";
import { startPykmipServer, type PykmipServer } from "../lib/kmip/testing/pykmip-server";
import { admin, shoot, signIn, unique } from "./fixtures";

// Issue 4: the backup job wizard end to end — an encrypted VM protected with a password and with
// a KMS key (a real PyKMIP), each job run from the wizard and watched on its session page to
// Success; the steps validate as the user types and block Next with the reason.
let kms: PykmipServer;
test.beforeAll(async () => {
  kms = await startPykmipServer({ keepDir: true });
});
test.afterAll(async () => {
  await kms?.stop();
});

const PASSWORD = "Strongroom-e2e-backup-2026";

async function writeGuestData(page: Page, vmName: string) {
  await page.goto(`/vms?q=${vmName}`);
  await page.getByTestId("vm-row").first().getByRole("link", { name: vmName }).click();
  const panel = page.getByTestId("vm-lab-panel");
  await panel.getByTestId("guest-writes-percent").fill("20");
  await panel.getByTestId("guest-writes-run").click();
  await expect(panel.getByTestId("action-ok")).toContainText("CBT recorded them");
}

async function pickVm(page: Page, vmName: string) {
  await page.getByTestId("vm-picker-search").fill(vmName);
  await page.getByTestId(`pick-vm-${vmName}`).check();
  await expect(page.getByTestId("selection")).toContainText(vmName);
  await expect(page.getByTestId("selection-summary")).toContainText("1 of them encrypted");
}

async function watchSessionToSuccess(page: Page, screen: string) {
  await expect(page).toHaveURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByTestId("session-state")).toHaveText(/Success/, { timeout: 90_000 });
  await shoot(page, screen);
}

test("password job: every step validates, the encrypted VM is backed up and the session ends in Success", async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, admin);
  await writeGuestData(page, "prov-dc-01");
  await page.goto("/jobs/new");

  // 1. Name: Next is blocked with the reason.
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("next-blocked")).toContainText("Name the job");
  await expect(page.getByTestId("wizard-step-0")).toBeVisible();
  const name = unique("Provider DCs nightly");
  await page.getByTestId("job-name").fill(name);
  await page.getByTestId("wizard-next").click();

  // 2. VMs.
  await expect(page.getByTestId("next-blocked")).toContainText("Select at least one VM");
  await pickVm(page, "prov-dc-01");
  await shoot(page, "job-wizard-vms");
  await page.getByTestId("wizard-next").click();

  // 3. Storage: retention must be a positive number.
  await page.getByTestId("job-retention").fill("0");
  await expect(page.getByTestId("next-blocked")).toContainText("Keep at least 1 restore point");
  await page.getByTestId("job-retention").fill("7");
  await page.getByTestId("wizard-next").click();

  // 4. Proxies: the engine's pick per disk, with the reason (TRN-5).
  await expect(page.getByTestId("proxy-plan")).toContainText("prov-dc-01");
  await expect(page.getByTestId("proxy-plan")).toContainText(/mode/);
  await shoot(page, "job-wizard-proxies");
  await page.getByTestId("wizard-next").click();

  // 5. Encryption: off warns (TRN-7); the password is checked as it is typed.
  await page.getByTestId("encryption-off").check();
  await expect(page.getByTestId("trn7-warning")).toContainText("encrypted with VM Encryption");
  await page.getByTestId("encryption-password").check();
  await page.getByTestId("job-password").fill("short");
  await expect(page.getByTestId("error-password")).toContainText("at least 12");
  await page.getByTestId("job-password").fill(PASSWORD);
  await page.getByTestId("job-password-confirm").fill(PASSWORD + "x");
  await expect(page.getByTestId("error-passwordConfirm")).toContainText("differ");
  await page.getByTestId("job-password-confirm").fill(PASSWORD);
  await page.getByTestId("job-password-hint").fill("the e2e one");
  await shoot(page, "job-wizard-encryption");
  await page.getByTestId("wizard-next").click();

  // 6. Schedule, 7. Summary.
  await page.getByTestId("job-schedule-kind").selectOption("manual");
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("job-summary")).toContainText("Password (new)");
  await expect(page.getByTestId("job-summary")).toContainText("1 VMs today, 1 encrypted");
  await shoot(page, "job-wizard-summary");
  await page.getByTestId("wizard-finish").click();

  await watchSessionToSuccess(page, "session-password-success");
  await expect(page.getByTestId("session-vm").first()).toContainText("prov-dc-01");
  await expect(page.getByTestId("session-vm").first()).toContainText(/password:/);

  // The job is listed with its result; the VM shows its restore point with the key id (KEY-7).
  await page.goto("/jobs");
  await expect(page.getByText(name)).toBeVisible();
  await page.goto(`/vms?q=prov-dc-01`);
  await page.getByTestId("vm-row").first().getByRole("link", { name: "prov-dc-01" }).click();
  await expect(page.getByTestId("restore-point-row").first()).toContainText(/password:/);
  await shoot(page, "vm-restore-points");
});

test("KMS key job: the job's key is created on the KMS and the session ends in Success", async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, admin);

  // Register the KMS for the provider's own key providers.
  await page.goto("/key-providers/kms/new");
  const form = page.getByTestId("register-kms-form");
  await form.getByLabel("Cluster name").fill(unique("Provider KMS cluster"));
  await form.getByTestId("kms-servers").fill(`127.0.0.1:${kms.port}`);
  await form.getByTestId("kms-caPem").fill(kms.ca.toString());
  await form.getByTestId("kms-clientCertPem").fill(kms.clientA.cert.toString());
  await form.getByTestId("kms-clientKeyPem").fill(kms.clientA.key.toString());
  for (const box of await form.getByRole("checkbox", { name: /^Provider KMS/ }).all()) await box.check();
  await form.getByTestId("kms-register").click();
  await expect(form.getByTestId("action-ok")).toContainText("it answers");

  await writeGuestData(page, "prov-dc-02");
  await page.goto("/jobs/new");
  await page.getByTestId("job-name").fill(unique("Provider DC KMS"));
  await page.getByTestId("wizard-next").click();
  await pickVm(page, "prov-dc-02");
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("encryption-kms").check();
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("next-blocked")).toContainText("Choose the key provider");
  const option = page.getByTestId("job-kms-provider").locator("option", { hasText: /^Provider KMS \(/ }).first();
  await page.getByTestId("job-kms-provider").selectOption((await option.getAttribute("value"))!);
  await shoot(page, "job-wizard-kms");
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("job-schedule-kind").selectOption("manual");
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("job-summary")).toContainText("KMS key on Provider KMS");
  await page.getByTestId("wizard-finish").click();

  await watchSessionToSuccess(page, "session-kms-success");
  await expect(page.getByTestId("session-vm").first()).toContainText(/kms:/);
  await expect(page.getByTestId("session-log")).toContainText("the newest version is used");
});
