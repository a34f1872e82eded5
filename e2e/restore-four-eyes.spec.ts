import { expect, test, type Page } from "@playwright/test";
import { createPasswordJobAndRun } from "./backup-fixtures";
import { admin, createUserViaUi, pageAs, shoot, signIn, unique, userOf, type Credentials } from "./fixtures";

// Issue 10 (SEC-2): with four-eyes on, a Restore Operator's restore that writes a disk of an
// encrypted VM unencrypted is a request: the wizard's Summary says so before Start, Start answers
// "Request sent" with a link to it, and a Security Officer's approval starts the restore. Four-eyes
// is turned off again at the end (itself a request, approved by the second officer).

const VM = "prov-dc-02"; // encrypted with the native key provider, two encrypted disks
const PASSWORD = "Strongroom-e2e-four-eyes-restore-1";

async function next(page: Page, step: number) {
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId(`wizard-step-${step}`)).toBeVisible();
}

async function approveFirst(page: Page, who: Credentials, kind: RegExp) {
  await page.goto("/approvals");
  const pending = page.getByTestId("inbox").getByTestId("approval-request").filter({ hasText: kind });
  const before = await pending.count();
  const req = pending.first();
  await req.getByTestId("approve-password").fill(who.password);
  await req.getByTestId("approve").click();
  // Wait until it left the inbox: an older decided request of the same kind must not end the wait early.
  await expect(pending).toHaveCount(before - 1, { timeout: 20_000 });
  await expect(page.getByTestId("decided").getByTestId("approval-request").filter({ hasText: kind }).first()).toHaveAttribute("data-state", "approved");
}

test("a restore that writes an encrypted VM's disk unencrypted waits for a Security Officer, then starts", async ({ page, browser }) => {
  test.setTimeout(300_000);
  const so1 = userOf("SECURITY_OFFICER");
  const so2: Credentials = { email: `${unique("rso2")}@e2e.strongroom.test`, password: "Second-officer-pass-8", name: "Second Restore Officer" };
  const adminPage = await pageAs(browser, admin);
  await createUserViaUi(adminPage, { ...so2, roleLabel: "Security Officer" });
  const jobName = unique("Four-eyes restore source");
  await createPasswordJobAndRun(adminPage, jobName, VM, PASSWORD);
  await adminPage.context().close();

  const officer = await pageAs(browser, so1);
  await officer.goto("/approvals");
  await officer.getByTestId("four-eyes-enabled").check();
  await officer.getByTestId("four-eyes-save").click();
  await expect(officer.getByTestId("four-eyes-form").getByTestId("action-ok")).toContainText("Four-eyes approval is on");

  try {
    await signIn(page, userOf("RESTORE_OPERATOR"));
    await page.goto("/restore");
    await page.getByTestId("restorable-vm").filter({ hasText: VM }).click();
    await page.getByTestId("restore-point-choice").first().getByTestId("restore-point-open").click();
    await expect(page.getByTestId("wizard-step-0")).toBeVisible();
    await next(page, 1);
    await next(page, 2);
    await next(page, 3);
    // Disk 2 unencrypted, on a datastore outside the VM Encryption Policy node.
    const disk2 = page.getByTestId("place-disk-1");
    await disk2.getByTestId("place-disk-1-unencrypted").click();
    await disk2.getByTestId("node-other").getByTestId("ds-option").first().locator("input").check();
    await next(page, 4);
    await next(page, 5);
    await next(page, 6); // network: the adapters keep their network of the same name
    await next(page, 7);
    const restoredName = `${VM}-fe${Date.now().toString(36)}`;
    await page.getByTestId("restore-name").fill(restoredName);
    await next(page, 8);
    await expect(page.getByTestId("check-ok")).toBeVisible({ timeout: 20_000 });
    await next(page, 9);
    await page.getByTestId("restore-reason").fill("e2e: ticket 77, the vendor needs the data disk");
    await next(page, 10);

    // The Summary says beforehand that a Security Officer must approve; Start is Send for approval.
    await expect(page.getByTestId("restore-needs-approval")).toContainText("Needs a Security Officer's approval");
    await expect(page.getByTestId("restore-needs-approval")).toContainText("Hard disk 2");
    await expect(page.getByTestId("wizard-finish")).toHaveText("Send for approval");
    await shoot(page, "restore-four-eyes-01-summary-needs-approval");
    await page.getByTestId("wizard-finish").click();
    await expect(page.getByTestId("restore-request-sent")).toContainText("Request sent");
    await expect(page.getByTestId("wizard-finish")).toBeDisabled();
    await shoot(page, "restore-four-eyes-02-request-sent");
    await page.getByTestId("restore-request-link").click();
    await expect(page).toHaveURL(/\/approvals#request-/);
    const mine = page.getByTestId("my-requests").getByTestId("approval-request").filter({ hasText: "Restore an encrypted VM unencrypted" }).first();
    await expect(mine).toHaveAttribute("data-state", "pending");
    await expect(mine.getByTestId("approval-diff")).toContainText("Unencrypted");
    await shoot(page, "restore-four-eyes-03-my-request");

    // The officer approves; the restore starts and ends as the operator's.
    await officer.goto("/approvals");
    await shoot(officer, "restore-four-eyes-04-officer-inbox");
    await approveFirst(officer, so1, /Restore an encrypted VM unencrypted/);
    await page.goto("/sessions");
    // The session list's restore rows carry no link to the session (yet): open it by its id.
    const row = page.getByTestId("session-row").filter({ hasText: restoredName }).first();
    await expect(row).toBeVisible({ timeout: 30_000 });
    await page.goto(`/sessions/${await row.getAttribute("data-session")}`);
    await expect(page.getByTestId("session-state")).toHaveText(/Success/, { timeout: 150_000 });
    await expect(page.getByTestId("session-reason")).toContainText("ticket 77");
    await shoot(page, "restore-four-eyes-05-session-success");
  } finally {
    // Four-eyes off again for the specs after this one: a request the second officer approves.
    await officer.goto("/approvals");
    await officer.getByTestId("four-eyes-enabled").uncheck();
    await officer.getByTestId("four-eyes-save").click();
    await expect(officer.getByTestId("four-eyes-form").getByTestId("action-ok")).toContainText("itself a request");
    const second = await pageAs(browser, so2);
    await approveFirst(second, so2, /Turn four-eyes approval off/);
    await second.goto("/approvals");
    await expect(second.getByText("Four-eyes off")).toBeVisible();
  }
});
