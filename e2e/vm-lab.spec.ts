import { expect, test } from "@playwright/test";
import { admin, shoot, signIn, userOf } from "./fixtures";

// The lab's host view on the VM page: real files, guest writes recorded by CBT, power-on refused
// while the VM's KMS is not reachable (INV-4, VME-3).
async function openVm(page: import("@playwright/test").Page, name: string) {
  await page.goto(`/vms?q=${name}`);
  await page.getByTestId("vm-row").first().getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
}

test("guest writes create the disk files, and the host view shows what was written", async ({ page }) => {
  await signIn(page, admin);
  await openVm(page, "acme-web-01");
  const panel = page.getByTestId("vm-lab-panel");
  await expect(panel.getByTestId("vm-disk-runtime")).toBeVisible();
  await panel.getByTestId("guest-writes-percent").fill("10");
  await panel.getByTestId("guest-writes-run").click();
  await expect(panel.getByTestId("action-ok")).toContainText("CBT recorded them");
  // Every disk now has data and a CBT change id (it advances when a backup snapshot is taken).
  await expect(panel.getByTestId("vm-disk-runtime").locator("td.font-mono").first()).toHaveText(/\/\d+$/);
  await expect(panel.getByTestId("vm-disk-runtime")).not.toContainText("0 B of");
  await shoot(page, "vm-lab-guest-writes");

  await panel.getByTestId("guest-writes-percent").fill("250");
  await panel.getByTestId("guest-writes-run").click();
  await expect(panel.getByTestId("action-error")).toContainText("Some fields need attention");
});

test("an encrypted VM whose KMS is not registered cannot power on; the reason is shown", async ({ page }) => {
  await signIn(page, admin);
  await openVm(page, "globex-ehr-01");
  const panel = page.getByTestId("vm-lab-panel");
  await expect(panel.getByTestId("vm-power-state")).toContainText("Powered off");
  await panel.getByTestId("vm-power-toggle").click();
  await expect(panel.getByTestId("action-error")).toContainText("No KMS cluster is registered for Globex Health KMS");
  await expect(panel.getByTestId("vm-power-state")).toContainText("Powered off");
  await shoot(page, "vm-lab-power-refused");
});

test("viewers see the host view but no lab controls", async ({ page }) => {
  await signIn(page, userOf("BACKUP_VIEWER"));
  await openVm(page, "acme-web-01");
  await expect(page.getByTestId("vm-disk-runtime")).toBeVisible();
  await expect(page.getByTestId("vm-power-toggle")).toHaveCount(0);
  await expect(page.getByTestId("guest-writes-run")).toHaveCount(0);
});
