import { expect, test } from "@playwright/test";
import { admin, createUserViaUi, shoot, signIn, unique } from "./fixtures";

const GENERIC = "Sign-in failed. Check your email and password.";

test("pages and routes require a session", async ({ page }) => {
  await page.goto("/vms");
  await expect(page).toHaveURL(/\/sign-in/);
  await shoot(page, "sign-in");
  const res = await page.request.get("/api/vms");
  expect(res.status()).toBe(401);
  expect((await res.json()).error).toContain("Sign in");
  expect((await page.request.get("/api/health")).status()).toBe(200);
});

test("wrong password and unknown user get the same generic message", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("sign-in-error")).toContainText(GENERIC);
  const first = await page.getByTestId("sign-in-error").textContent();
  await shoot(page, "sign-in-error");

  await page.getByLabel("Email").fill(`${unique("nobody")}@e2e.strongroom.test`);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("sign-in-error")).toHaveText(first!);
});

test("repeated failures are throttled: even the right password is refused for a while", async ({ page, browser }) => {
  await signIn(page, admin);
  const who = { email: `${unique("throttle")}@e2e.strongroom.test`, password: "the-right-password", name: "Throttled", roleLabel: "Backup Viewer" };
  await createUserViaUi(page, who);

  const other = await (await browser.newContext()).newPage();
  await other.goto("/sign-in");
  await other.getByLabel("Email").fill(who.email);
  for (let i = 0; i < 5; i++) {
    await other.getByLabel("Password").fill(`wrong-${i}`);
    await other.getByRole("button", { name: "Sign in" }).click();
    await expect(other.getByTestId("sign-in-error")).toContainText(GENERIC);
  }
  await other.getByLabel("Password").fill(who.password);
  await other.getByRole("button", { name: "Sign in" }).click();
  await expect(other.getByTestId("sign-in-error")).toContainText(GENERIC);
  await expect(other).toHaveURL(/\/sign-in/);
  await other.context().close();
});
