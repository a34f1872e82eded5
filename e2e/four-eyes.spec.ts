import { expect, test, type Page } from "@playwright/test";
import { changeJobPassword, createPasswordJobAndRun } from "./backup-fixtures";
import { admin, createUserViaUi, pageAs, shoot, signIn, unique, userOf, type Credentials } from "./fixtures";

// Issue 5 (SEC-2, SEC-3): with four-eyes on, an administrator's password change becomes a request;
// a Security Officer approves it at another desk; the job shows the mark, the next backup uses the
// new password, and the older point stays under the old one.
const OLD = "Four-eyes-old-password-1";
const NEW = "Four-eyes-new-password-2";

async function approveFirst(page: Page, who: Credentials, kind: RegExp) {
  await page.goto("/approvals");
  const pending = page.getByTestId("inbox").getByTestId("approval-request").filter({ hasText: kind });
  const before = await pending.count();
  const req = pending.first();
  await req.getByTestId("approve-password").fill(who.password);
  await req.getByTestId("approve").click();
  // Wait until it left the inbox: an older decided request of the same kind must not end the wait early.
  await expect(pending).toHaveCount(before - 1, { timeout: 20_000 });
  // Decided, it leaves the inbox for "Recently decided".
  await expect(page.getByTestId("decided").getByTestId("approval-request").filter({ hasText: kind }).first()).toHaveAttribute("data-state", "approved");
}

test("a password change waits for a Security Officer, then applies with the mark; the next backup uses the new key", async ({ page: first, browser }) => {
  test.setTimeout(240_000);
  const so1 = userOf("SECURITY_OFFICER");
  const so2: Credentials = { email: `${unique("so2")}@e2e.strongroom.test`, password: "Second-officer-pass-9", name: "Second Officer" };
  await signIn(first, admin);
  await createUserViaUi(first, { ...so2, roleLabel: "Security Officer" });
  // The requester is an administrator who did not create the officers' accounts: an officer whose
  // account or password came from the requester may not approve their requests (issue 13).
  const page = await pageAs(browser, userOf("BACKUP_ADMIN"));
  const jobName = unique("Four-eyes job");
  await createPasswordJobAndRun(page, jobName, "prov-dc-03", OLD);
  await page.getByRole("link", { name: jobName }).first().click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/);
  const jobUrl = page.url();
  const oldKey = (await page.getByTestId("job-encryption").locator("code").first().textContent())!;

  // A Security Officer turns four-eyes on.
  const officer = await pageAs(browser, so1);
  await officer.goto("/approvals");
  await officer.getByTestId("four-eyes-enabled").check();
  await officer.getByTestId("four-eyes-save").click();
  await expect(officer.getByTestId("four-eyes-form").getByTestId("action-ok")).toContainText("Four-eyes approval is on");

  // The administrator changes the password: it becomes a request.
  await changeJobPassword(page, jobUrl, NEW);
  await expect(page.getByTestId("encryption-pending-approval")).toBeVisible();
  await expect(page.getByTestId("job-encryption").locator("code").first()).toHaveText(oldKey);
  await page.goto("/approvals");
  await expect(page.getByTestId("my-requests").getByTestId("approval-request").first()).toHaveAttribute("data-state", "pending");

  // Issue 13: the requester creates a Security Officer to approve their own request. Under four-eyes
  // the new officer is itself a request; once another officer approves it, the new officer still
  // may not approve the requester's change, and the inbox says why.
  const puppet: Credentials = { email: `${unique("puppet")}@e2e.strongroom.test`, password: "Puppet-officer-pass-7", name: "Puppet Officer" };
  await page.goto("/users");
  const form = page.getByTestId("create-user-form");
  await form.getByLabel("Email").fill(puppet.email);
  await form.getByLabel("Name").fill(puppet.name);
  await form.getByLabel("Role").selectOption({ label: "Security Officer" });
  await form.getByLabel("Initial password").fill(puppet.password);
  await form.getByTestId("create-user-submit").click();
  await expect(form.getByTestId("action-ok")).toContainText("once another Security Officer approves");
  await approveFirst(officer, so1, /Create a Security Officer/);
  const puppetPage = await pageAs(browser, puppet);
  await puppetPage.goto("/approvals");
  const refused = puppetPage.getByTestId("inbox").getByTestId("approval-request").filter({ hasText: /Set or change a backup encryption password/ }).first();
  await expect(refused.getByTestId("approval-refusal")).toContainText("was created by");
  await expect(refused.getByTestId("approve-form")).toHaveCount(0);
  await shoot(puppetPage, "approval-refused-account-from-requester");
  await puppetPage.context().close();

  // The officer sees it in the inbox (badge), with the diff, and approves with their password.
  await officer.goto("/approvals");
  await expect(officer.getByTestId("nav-badge-approvals")).toBeVisible();
  const req = officer.getByTestId("inbox").getByTestId("approval-request").first();
  await expect(req.getByTestId("approval-diff")).toContainText("Password");
  await shoot(officer, "approvals-inbox");
  await req.getByTestId("approve-password").fill("not the password");
  await req.getByTestId("approve").click();
  await expect(req.getByTestId("action-error")).toContainText("not accepted");
  await approveFirst(officer, so1, /Set or change a backup encryption password/);

  // The job carries the mark and the new key; the next backup uses it, the old point keeps the old key.
  await page.goto(jobUrl);
  await expect(page.getByTestId("approved-by-security")).toContainText(so1.name);
  const newKey = (await page.getByTestId("job-encryption").locator("code").first().textContent())!;
  expect(newKey).not.toBe(oldKey);
  await shoot(page, "job-approved-by-security");
  await page.getByTestId("run-now").click();
  await expect(page).toHaveURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByTestId("session-state")).toHaveText(/Success/, { timeout: 90_000 });
  await page.goto(jobUrl);
  const rows = page.getByTestId("restore-point-row");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText(newKey.replace("password:", "").slice(0, 8));
  await expect(rows.nth(1)).toContainText(oldKey.replace("password:", "").slice(0, 8));

  // Four-eyes off is itself a request, approved by the other officer.
  await officer.goto("/approvals");
  await officer.getByTestId("four-eyes-enabled").uncheck();
  await officer.getByTestId("four-eyes-save").click();
  await expect(officer.getByTestId("four-eyes-form").getByTestId("action-ok")).toContainText("itself a request");
  const second = await pageAs(browser, so2);
  await approveFirst(second, so2, /Turn four-eyes approval off/);
  await second.goto("/approvals");
  await expect(second.getByText("Four-eyes off")).toBeVisible();
});
