import { expect, test } from "@playwright/test";
import { admin, createUserViaUi, pageAs, signIn, unique } from "./fixtures";

// A disabled or demoted user loses access on their next request, even with a valid cookie (SEC-1).
test("disabling a user ends their session on the next request", async ({ page, browser }) => {
  await signIn(page, admin);
  const who = { email: `${unique("disable")}@e2e.strongroom.test`, password: "disable-me-password", name: "To be disabled", roleLabel: "Restore Operator" };
  await createUserViaUi(page, who);
  const theirs = await pageAs(browser, who);
  await theirs.goto("/vms");
  await expect(theirs.getByTestId("vm-table")).toBeVisible();

  await page.goto("/users");
  await page.getByTestId(`user-actions-${who.email}`).getByRole("button", { name: "Disable" }).click();
  await expect(page.getByTestId(`user-actions-${who.email}`).getByTestId("action-ok")).toContainText("disabled");

  await theirs.goto("/vms");
  await expect(theirs).toHaveURL(/\/sign-in/);
  const api = await theirs.request.get("/api/vms");
  expect(api.status()).toBe(401);

  // And they cannot sign in again; the message does not say why.
  await theirs.getByLabel("Email").fill(who.email);
  await theirs.getByLabel("Password").fill(who.password);
  await theirs.getByRole("button", { name: "Sign in" }).click();
  await expect(theirs.getByTestId("sign-in-error")).toContainText("Sign-in failed");
  await theirs.context().close();
});

test("a demoted administrator loses user management on the next request", async ({ page, browser }) => {
  await signIn(page, admin);
  const who = { email: `${unique("demote")}@e2e.strongroom.test`, password: "demote-me-password", name: "To be demoted", roleLabel: "Backup Administrator" };
  await createUserViaUi(page, who);
  const theirs = await pageAs(browser, who);
  await theirs.goto("/users");
  await expect(theirs.getByTestId("create-user-form")).toBeVisible();

  await page.goto("/users");
  const row = page.getByTestId(`user-actions-${who.email}`);
  await row.getByLabel(`Role of ${who.email}`).selectOption({ label: "Backup Viewer" });
  await row.getByRole("button", { name: "Change role" }).click();
  await expect(row.getByTestId("action-ok")).toContainText("Backup Viewer");

  await theirs.reload();
  await expect(theirs.getByTestId("forbidden")).toBeVisible();
  await expect(theirs.getByTestId("current-role")).toHaveText("Backup Viewer");
  await theirs.context().close();
});

test("an administrator cannot disable or demote themselves", async ({ page }) => {
  await signIn(page, admin);
  await page.goto("/users");
  await expect(page.getByTestId(`user-actions-${admin.email}`)).toHaveCount(0);
  await expect(page.getByTestId("user-table")).toContainText("This is you");
});
