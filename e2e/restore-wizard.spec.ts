import { expect, test, type Page } from "@playwright/test";
import { changeJobPassword, createPasswordJobAndRun } from "./backup-fixtures";
import { admin, pageAs, shoot, signIn, unique, userOf } from "./fixtures";

// Issue 10: the restore wizard end to end — an encrypted two-disk VM backed up by a password job,
// restored by a Restore Operator to a new location with disk 1 encrypted and disk 2 unencrypted;
// every step validates as the user types and blocks Next with the reason; the session is watched
// to Success and the restored VM is powered on. A Backup Viewer can neither open the wizard nor
// post its action. Empty state (no restore points yet) and a point whose keys are missing.

test.describe.configure({ mode: "serial" });

const VM = "prov-dc-02"; // encrypted with the native key provider, two encrypted disks, no vTPM
const PASSWORD = "Strongroom-e2e-restore-2026";
let jobUrl = "";
let pointUrl = "";
let startRequest: { url: string; headers: Record<string, string>; body: string } | null = null;

async function writeGuestData(page: Page, vmName: string) {
  await page.goto(`/vms?q=${vmName}`);
  await page.getByTestId("vm-row").getByRole("link", { name: vmName, exact: true }).click();
  const panel = page.getByTestId("vm-lab-panel");
  await panel.getByTestId("guest-writes-percent").fill("20");
  await panel.getByTestId("guest-writes-run").click();
  await expect(panel.getByTestId("action-ok")).toContainText("CBT recorded them");
}

async function next(page: Page, expectStep: number) {
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId(`wizard-step-${expectStep}`)).toBeVisible();
}

async function blocked(page: Page, text: string | RegExp) {
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("next-blocked")).toContainText(text);
}

// The empty Restore page ("No restore points yet") is checked on a fresh console in
// disaster-recovery.spec.ts: here earlier specs have made restore points already.

test("a Restore Operator restores an encrypted two-disk VM to a new location, disk 1 encrypted and disk 2 not, and it powers on", async ({ page, browser }) => {
  test.setTimeout(300_000);
  // The administrator protects the VM and makes a point.
  const adminPage = await pageAs(browser, admin);
  await writeGuestData(adminPage, VM);
  const jobName = unique("Restore source");
  await createPasswordJobAndRun(adminPage, jobName, VM, PASSWORD);
  jobUrl = new URL((await adminPage.getByRole("link", { name: jobName }).first().getAttribute("href"))!, adminPage.url()).pathname;
  await adminPage.context().close();

  await signIn(page, userOf("RESTORE_OPERATOR"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Restore" }).click();
  await page.getByTestId("restorable-vm").filter({ hasText: VM }).click();
  const choice = page.getByTestId("restore-point-choice").first();
  await expect(choice).toContainText("latest");
  await expect(choice).toContainText("Available");
  await expect(choice).toContainText("password:");
  await shoot(page, "restore-01-pick-vm-and-point");
  await choice.getByTestId("restore-point-open").click();
  await expect(page).toHaveURL(/\/restore\/new\?point=/);
  pointUrl = new URL(page.url()).pathname + new URL(page.url()).search;

  // 1. Restore point: the latest, with its key ids, the keys available, the disks as backed up.
  await expect(page.getByTestId("wizard-step-0")).toBeVisible();
  await expect(page.getByTestId("point-details")).toContainText("Keys available");
  await expect(page.getByTestId("point-details")).toContainText("encryption.bundle and NVRAM kept");
  await expect(page.getByTestId("point-disks")).toContainText("Hard disk 2");
  await shoot(page, "restore-02-step-point");
  await next(page, 1);

  // 2. Mode: new location by default; the VM still exists on its site, so the in-place modes are offered too.
  await expect(page.getByTestId("mode-new-location")).toBeChecked();
  await expect(page.getByTestId("mode-overwrite")).toBeEnabled();
  await expect(page.getByTestId("mode-quick-rollback")).toBeEnabled();
  await shoot(page, "restore-03-step-mode");
  await next(page, 2);

  // 3. Target: the original site and host; a host in maintenance mode (DR) says why it cannot be used.
  await expect(page.getByTestId("restore-hosts").locator("input:checked")).toHaveCount(1);
  const site = page.getByTestId("restore-site");
  await site.selectOption((await site.locator("option", { hasText: "(DR)" }).getAttribute("value"))!);
  await expect(page.getByTestId("host-why").first()).toContainText("maintenance mode");
  await shoot(page, "restore-04-step-target-dr");
  await page.getByTestId("restore-site").selectOption({ index: 0 });
  await expect(page.getByTestId("restore-hosts")).toContainText("original host");
  await shoot(page, "restore-04-step-target");
  await next(page, 3);

  // 4. Placement: an encrypted disk cannot go outside the VM Encryption Policy node…
  const disk1 = page.getByTestId("place-disk-0");
  const disk2 = page.getByTestId("place-disk-1");
  const home = page.getByTestId("place-home");
  const plain1 = disk1.getByTestId("node-other").getByTestId("ds-option").first();
  await expect(plain1).toHaveAttribute("data-disabled", "yes");
  await expect(plain1.getByTestId("ds-why")).toContainText("Not under the VM Encryption Policy node");
  await expect(plain1.locator("input")).toBeDisabled();
  // …nor can the home while a disk is encrypted: make every disk unencrypted, put the home outside, then encrypt disk 1 again.
  await disk1.getByTestId("place-disk-0-unencrypted").click();
  await disk2.getByTestId("place-disk-1-unencrypted").click();
  const plainHome = home.getByTestId("node-other").getByTestId("ds-option").first();
  await expect(plainHome).toHaveAttribute("data-disabled", "no");
  await plainHome.locator("input").check();
  await disk1.getByTestId("place-disk-0-encrypted").click();
  await expect(page.getByTestId("error-home.datastoreExternalId")).toContainText("the VM home (configuration and NVRAM) must be encrypted too");
  await blocked(page, "The VM home on");
  await shoot(page, "restore-05-step-placement-refused");
  await home.getByTestId("node-encryption").getByTestId("ds-option").first().locator("input").check();
  // Disk 2 unencrypted, on a datastore outside the node (now allowed for it).
  const plain2 = disk2.getByTestId("node-other").getByTestId("ds-option").first();
  await expect(plain2).toHaveAttribute("data-disabled", "no");
  await plain2.locator("input").check();
  await expect(page.getByTestId("next-blocked")).toHaveCount(0);
  await shoot(page, "restore-05-step-placement");
  await next(page, 4);

  // 5. Storage policy: as backed up where it fits, the VM Encryption Policy for the encrypted items.
  await expect(page.getByTestId("policy-home-select").locator("option:checked")).toContainText("VM Encryption Policy");
  await expect(page.getByTestId("policy-disk-0-select").locator("option:checked")).toContainText("encrypts");
  await expect(page.getByTestId("policy-disk-1-select").locator("option:checked")).not.toContainText("encrypts");
  await shoot(page, "restore-06-step-policy");
  await next(page, 5);

  // 6. Keys: same key by default; a new key from an unreachable KMS is offered with why, and the check refuses it.
  await expect(page.getByTestId("keys-same")).toBeChecked();
  await expect(page.getByTestId("check-notes")).toContainText("Same key");
  await page.getByTestId("keys-new").check();
  const provider = page.getByTestId("keys-provider");
  await provider.selectOption((await provider.locator("option", { hasText: "Provider KMS" }).getAttribute("value"))!);
  await expect(page.getByTestId("check-consequences")).toContainText("generic NVRAM");
  await expect(page.getByTestId("keys-unreachable")).toContainText("would not power on");
  await shoot(page, "restore-07-step-keys-new-key");
  await next(page, 6);
  await next(page, 7);
  await next(page, 8);
  await expect(page.getByTestId("check-problem").first()).toHaveAttribute("data-field", "keys");
  await expect(page.getByTestId("check-problems")).toContainText("cannot reach Provider KMS");
  await blocked(page, "problem(s) to fix");
  await shoot(page, "restore-08-check-with-problem");
  await page.getByTestId("check-problems").getByRole("button", { name: /Go to keys/ }).click();
  await expect(page.getByTestId("wizard-step-5")).toBeVisible();
  await page.getByTestId("keys-same").check();
  await expect(page.getByTestId("check-notes")).toContainText("NVRAM");
  await shoot(page, "restore-07-step-keys");
  await next(page, 6);

  // 7. Network: each adapter starts on the host's network of the same name; disconnected is a choice.
  const nic = page.getByTestId("network-select-4000");
  await expect(nic.locator("option:checked")).toContainText("same name as at backup");
  await expect(page.getByTestId("network-hint-4000")).toContainText("Same network name as at backup");
  await nic.selectOption("");
  await expect(page.getByTestId("network-hint-4000")).toContainText("Created disconnected");
  await nic.selectOption((await nic.locator("option", { hasText: "same name as at backup" }).getAttribute("value"))!);
  await shoot(page, "restore-08b-step-network");
  await next(page, 7);

  // 8. Name and folder: empty and taken names are refused as they are typed.
  const name = page.getByTestId("restore-name");
  await expect(name).toHaveValue(`${VM}-restored`);
  await name.fill("");
  await expect(page.getByTestId("error-name")).toContainText("Give the restored VM a name");
  await blocked(page, "Give the restored VM a name");
  await name.fill("prov-dc-01");
  await expect(page.getByTestId("error-name")).toContainText("already exists");
  await shoot(page, "restore-09-step-name-clash");
  const restoredName = `${VM}-r${Date.now().toString(36)}`;
  await name.fill(restoredName);
  await page.getByTestId("restore-folder").fill("/Restored/e2e");
  await shoot(page, "restore-09-step-name");
  await next(page, 8);

  // 8. Pre-restore check passes.
  await expect(page.getByTestId("check-ok")).toBeVisible({ timeout: 20_000 });
  await shoot(page, "restore-10-check-ok");
  await next(page, 9);

  // 9. Reason is required.
  await blocked(page, "Say why you restore");
  await expect(page.getByTestId("error-reason")).toContainText("Say why you restore");
  await shoot(page, "restore-11-step-reason-empty");
  await page.getByTestId("restore-reason").fill("e2e: ticket 4711, the application team broke the VM");
  await next(page, 10);

  // 10. Summary with "Power on after restore", then Start → the session.
  const summary = page.getByTestId("restore-summary");
  await expect(summary).toContainText(restoredName);
  await expect(summary).toContainText("Hard disk 1");
  await expect(page.getByTestId("summary-network")).toContainText("Network adapter 1");
  await expect(page.getByTestId("restore-power-on")).toBeChecked();
  await shoot(page, "restore-12-summary");
  const [req] = await Promise.all([
    page.waitForRequest((r) => r.method() === "POST" && !!r.headers()["next-action"] && (r.postData() ?? "").includes("ticket 4711")),
    page.getByTestId("wizard-finish").click(),
  ]);
  startRequest = { url: req.url(), headers: { ...req.headers(), origin: new URL(req.url()).origin }, body: req.postData()! };
  await expect(page).toHaveURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByTestId("session-reason")).toContainText("ticket 4711");
  await expect(page.getByTestId("session-state")).toHaveText(/Success/, { timeout: 150_000 });
  const card = page.getByTestId("session-vm");
  await expect(card.getByTestId("restore-power")).toHaveAttribute("data-powered-on", "yes");
  await expect(card.getByTestId("restore-checks").locator("[data-ok=no]")).toHaveCount(0);
  await expect(page.getByTestId("session-totals")).toContainText("VMs restored");
  await expect(page.getByTestId("session-totals")).toContainText("Written");
  await expect(card.getByTestId("session-disk")).toHaveCount(2);
  await expect(card.getByTestId("disk-reason").first()).toBeVisible();
  await expect(page.getByTestId("session-totals")).not.toContainText(/Written\s*0 B/);
  await page.reload();
  await expect(page.getByTestId("restored-vm-link")).toBeVisible({ timeout: 20_000 });
  await shoot(page, "restore-13-session-success");

  // The restored VM: powered on, disk 1 encrypted, disk 2 not.
  await page.getByTestId("restored-vm-link").click();
  await expect(page.getByRole("heading", { name: restoredName })).toBeVisible();
  await expect(page.getByText("poweredOn").first()).toBeVisible();
  const disks = page.getByTestId("vm-disks").locator("tbody tr");
  await expect(disks.nth(0)).toContainText("Encrypted");
  await expect(disks.nth(1)).toContainText("Not encrypted");
  await shoot(page, "restore-14-restored-vm");
});

test("a quick rollback through the wizard: the in-place modes skip the placement steps, the confirmation names what is lost and is required, the session ends in Success", async ({ page, browser }) => {
  test.setTimeout(240_000);
  // The guest changes its disks after the point: the rollback has blocks to write back.
  const adminPage = await pageAs(browser, admin);
  await writeGuestData(adminPage, VM);
  await adminPage.context().close();

  await signIn(page, userOf("RESTORE_OPERATOR"));
  await page.goto(pointUrl);
  await next(page, 1);
  await page.getByTestId("mode-quick-rollback").check();
  await expect(page.getByTestId("wizard-step-1")).toHaveAttribute("data-flow", "in-place");
  await expect(page.getByRole("list", { name: "Steps" })).not.toContainText("Placement");
  await next(page, 2);
  // Disks: all of them by default; none chosen blocks Next.
  const disks = page.getByTestId("in-place-disks").locator("input[type=checkbox]");
  await expect(disks).toHaveCount(2);
  for (const d of await disks.all()) await expect(d).toBeChecked();
  await disks.nth(0).uncheck();
  await disks.nth(1).uncheck();
  await blocked(page, "Choose at least one disk");
  await disks.nth(0).check();
  await disks.nth(1).check();
  await next(page, 3);
  // Confirmation: what is lost and the power-off are named; Next is blocked until it is ticked.
  await expect(page.getByTestId("confirm-lost")).toContainText("Every change made to the disks of " + VM);
  await expect(page.getByTestId("confirm-lost")).toContainText("Hard disk 1, Hard disk 2");
  await expect(page.getByTestId("confirm-power")).toContainText("powered off first");
  await blocked(page, "Confirm that every change since the restore point");
  await shoot(page, "restore-18-in-place-confirm");
  await page.getByTestId("in-place-confirm-check").check();
  await next(page, 4);
  await blocked(page, "Say why you restore");
  await page.getByTestId("restore-reason").fill("ticket 4712: undo the bad update inside the guest");
  await next(page, 5);
  await expect(page.getByTestId("restore-summary")).toContainText("Quick rollback");
  await expect(page.getByTestId("restore-summary")).toContainText("Only the blocks that differ");
  await page.getByTestId("restore-power-on").check();
  await shoot(page, "restore-19-in-place-summary");
  await page.getByTestId("wizard-finish").click();
  await expect(page).toHaveURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByTestId("session-reason")).toContainText("ticket 4712");
  await expect(page.getByTestId("session-state")).toHaveText(/Success/, { timeout: 150_000 });
  const card = page.getByTestId("session-vm");
  await expect(card.getByTestId("restore-title")).toContainText("back to its restore point, in place");
  await expect(card).toContainText("quick rollback in place");
  await expect(card.getByTestId("restore-checks")).toContainText("block(s) written");
  await expect(card.getByTestId("restore-power")).toHaveAttribute("data-powered-on", "yes");
  await expect(card.getByTestId("restore-consequences")).toContainText("is lost");
  await shoot(page, "restore-20-in-place-session");
});

test("a disk restore through the wizard: disk 2 of the point replaces the VM's disk 2; only valid datastores are offered, the confirmation names the power-off and the deleted disk, the session ends in Success", async ({ page }) => {
  test.setTimeout(240_000);
  await signIn(page, userOf("RESTORE_OPERATOR"));
  await page.goto(pointUrl);
  await next(page, 1);
  await expect(page.getByTestId("mode-disks")).toBeEnabled();
  await page.getByTestId("mode-disks").check();
  await expect(page.getByTestId("wizard-step-1")).toHaveAttribute("data-flow", "disks");
  await next(page, 2);
  // Target: the VM itself by default, with its disks.
  await expect(page.getByTestId("disk-target-vm")).toHaveValue(/.+/);
  await expect(page.getByTestId("disk-target-details")).toContainText(VM);
  await next(page, 3);
  await blocked(page, "Choose at least one disk");
  await page.getByTestId("disk-choice-1-chosen").check();
  const choice = page.getByTestId("disk-choice-1");
  await expect(choice.getByTestId("disk-choice-1-replace")).toBeChecked();
  await expect(choice.getByTestId("disk-choice-1-replaces")).toContainText("Hard disk 2");
  // Encrypted (as at backup, on an encrypted VM): datastores outside the VM Encryption Policy node cannot be chosen.
  await expect(choice.getByTestId("disk-choice-1-encrypted")).toHaveAttribute("aria-checked", "true");
  const refused = choice.getByTestId("disk-choice-1-datastore").locator("optgroup").nth(1).locator("option").first();
  await expect(refused).toBeDisabled();
  await expect(refused).toContainText("Not under the VM Encryption Policy node");
  await expect(page.getByTestId("next-blocked")).toHaveCount(0, { timeout: 20_000 }); // the server's check passed
  await shoot(page, "restore-21-disk-restore-disks");
  await next(page, 4);
  await expect(page.getByTestId("disk-consequences")).toContainText("Hard disk 2 is detached and deleted");
  await expect(page.getByTestId("disk-consequences")).toContainText("powered off first");
  await blocked(page, "Confirm that the VM is powered off");
  await shoot(page, "restore-22-disk-restore-confirm");
  await page.getByTestId("disk-confirm-check").check();
  await next(page, 5);
  await page.getByTestId("restore-reason").fill("ticket 4714: the data disk is corrupt");
  await next(page, 6);
  await expect(page.getByTestId("restore-summary")).toContainText("replaces Hard disk 2");
  await page.getByTestId("wizard-finish").click();
  await expect(page).toHaveURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByTestId("session-state")).toHaveText(/Success|Warning/, { timeout: 150_000 });
  const card = page.getByTestId("session-vm");
  await expect(card).toContainText("disks to an existing VM");
  await expect(card.getByTestId("restore-checks")).toContainText("replaced as planned");
  await expect(card.getByTestId("restore-checks").locator("[data-ok=no]")).toHaveCount(0);
  await shoot(page, "restore-23-disk-restore-session");
});

test("the VM page's restore points open the wizard at that point for an operator; a Backup Viewer sees no Restore and is refused, also by a direct POST", async ({ page, browser }) => {
  test.setTimeout(120_000);
  await signIn(page, userOf("RESTORE_OPERATOR"));
  await page.goto(`/vms?q=${VM}`);
  await page.getByTestId("vm-row").getByRole("link", { name: VM, exact: true }).click();
  await page.getByTestId("restore-point-restore").first().click();
  await expect(page).toHaveURL(/\/restore\/new\?point=/);
  await expect(page.getByTestId("wizard-step-0")).toBeVisible();

  const viewer = await pageAs(browser, userOf("BACKUP_VIEWER"));
  await expect(viewer.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Restore" })).toHaveCount(0);
  await viewer.goto(`/vms?q=${VM}`);
  await viewer.getByTestId("vm-row").getByRole("link", { name: VM, exact: true }).click();
  await expect(viewer.getByTestId("restore-point-row").first()).toBeVisible();
  await expect(viewer.getByTestId("restore-point-restore")).toHaveCount(0);
  await viewer.goto(pointUrl);
  await expect(viewer.getByTestId("forbidden")).toContainText("restore VMs");
  await viewer.goto("/restore");
  await expect(viewer.getByTestId("forbidden")).toBeVisible();
  await shoot(viewer, "restore-15-viewer-forbidden");
  // The operator's recorded Start, replayed with the viewer's session and another name.
  expect(startRequest).not.toBeNull();
  const headers = { ...startRequest!.headers };
  delete headers.cookie;
  const forgedName = `forged${Date.now().toString(36)}`;
  const res = await viewer.request.post(startRequest!.url, { headers, data: startRequest!.body.replace(/"name":"[^"]+"/, `"name":"${forgedName}"`) });
  const text = await res.text();
  expect(text).toContain("does not allow this");
  await viewer.goto("/sessions");
  await expect(viewer.locator("body")).not.toContainText(forgedName);
  await viewer.context().close();
});

test("a point whose keys are missing (the job's password changed since) says which keys it needs and cannot be restored", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const adminPage = await pageAs(browser, admin);
  await changeJobPassword(adminPage, jobUrl, "Strongroom-e2e-restore-other-2026");
  await adminPage.context().close();

  await signIn(page, userOf("RESTORE_OPERATOR"));
  await page.goto("/restore");
  await page.getByTestId("restorable-vm").filter({ hasText: VM }).click();
  await expect(page.getByTestId("restore-point-choice").first()).toContainText("Missing");
  await shoot(page, "restore-16-points-keys-missing");
  await page.goto(pointUrl);
  await expect(page.getByTestId("point-keys-missing")).toContainText("holds none of them");
  await expect(page.getByTestId("point-keys-missing")).toContainText("password:");
  await expect(page.getByTestId("point-details")).toContainText("Keys missing");
  await blocked(page, "cannot be opened with the keys this console holds");
  await shoot(page, "restore-17-wizard-keys-missing");
});
