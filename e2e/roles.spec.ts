import { expect, test } from "@playwright/test";
import { admin, pageAs, shoot, signIn, unique, userOf, type RoleKey } from "./fixtures";

// SEC-1: each role sees what it may, and is refused the rest, on the server.
const CAN_SEE_USERS: Record<RoleKey, "manage" | "read" | "none"> = {
  BACKUP_ADMIN: "manage",
  SECURITY_OFFICER: "read",
  RESTORE_OPERATOR: "none",
  BACKUP_VIEWER: "none",
};

for (const role of Object.keys(CAN_SEE_USERS) as RoleKey[]) {
  test(`${role} sees the inventory and only the user pages its role allows`, async ({ page }) => {
    await signIn(page, userOf(role));
    await expect(page.getByTestId("lab-banner")).toContainText("simulated vSphere");
    // The lab's 36 seeded VMs, and any a restore spec created before this one.
    await expect.poll(async () => Number((await page.getByTestId("stat-vms").innerText()).match(/\d[\d,]*/)?.[0].replace(/,/g, "") ?? 0)).toBeGreaterThanOrEqual(36);
    await expect(page.getByTestId("sync-now")).toHaveCount(role === "BACKUP_ADMIN" ? 1 : 0);
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav.getByRole("link", { name: "Virtual machines" })).toBeVisible();
    await expect(nav.getByRole("link", { name: "Users" })).toHaveCount(CAN_SEE_USERS[role] === "none" ? 0 : 1);

    await page.goto("/users");
    if (CAN_SEE_USERS[role] === "none") {
      await expect(page.getByTestId("forbidden")).toBeVisible();
      await shoot(page, `users-forbidden-${role.toLowerCase()}`);
    } else {
      await expect(page.getByTestId("user-table")).toBeVisible();
      await expect(page.getByTestId("create-user-form")).toHaveCount(CAN_SEE_USERS[role] === "manage" ? 1 : 0);
    }
    await shoot(page, `dashboard-${role.toLowerCase()}`);
  });
}

test("a server action posted directly by a role without the permission is refused and changes nothing", async ({ page, browser }) => {
  // Record the exact request the administrator's browser sends to the "create user" action…
  await signIn(page, admin);
  await page.goto("/users");
  const form = page.getByTestId("create-user-form");
  const email = `${unique("first")}@e2e.strongroom.test`;
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Name").fill("Recorded request");
  await form.getByLabel("Initial password").fill("a-long-enough-password");
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.method() === "POST" && !!r.headers()["next-action"]),
    form.getByTestId("create-user-submit").click(),
  ]);
  await expect(form.getByTestId("action-ok")).toBeVisible();

  // …then replay it as a Backup Viewer, for a new email, with the viewer's own session cookie.
  const viewer = await pageAs(browser, userOf("BACKUP_VIEWER"));
  const forged = `${unique("forged")}@e2e.strongroom.test`;
  const body = request.postDataBuffer()!.toString("latin1").replace(email, forged);
  // As the browser sent it: from the console's own origin (Playwright's recorded headers may omit it).
  const headers: Record<string, string> = { ...request.headers(), origin: new URL(request.url()).origin };
  delete headers.cookie;
  const res = await viewer.request.post(request.url(), { headers, data: Buffer.from(body, "latin1") });
  const text = await res.text();
  expect(text).toContain("does not allow this");
  expect(text).not.toContain(`Created ${forged}`);

  // Issue 13: the administrator's own request, replayed without an Origin header (as a forged
  // cross-site POST arrives), is refused too, with the reason.
  const noOrigin = `${unique("no-origin")}@e2e.strongroom.test`;
  const bare = { ...headers };
  delete bare.origin;
  delete bare.referer;
  const res2 = await page.request.post(request.url(), { headers: bare, data: Buffer.from(request.postDataBuffer()!.toString("latin1").replace(email, noOrigin), "latin1") });
  const text2 = await res2.text();
  expect(text2).toContain("without an Origin header");
  expect(text2).not.toContain(`Created ${noOrigin}`);

  // Nothing was created.
  await page.goto("/users");
  await expect(page.getByTestId("user-table")).toContainText(email);
  await expect(page.getByTestId("user-table")).not.toContainText(forged);
  await expect(page.getByTestId("user-table")).not.toContainText(noOrigin);
  await viewer.context().close();
});

test("the audit log shows sign-ins and user changes with an intact hash chain", async ({ page }) => {
  await signIn(page, userOf("SECURITY_OFFICER"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByTestId("audit-chain")).toContainText("Hash chain intact");
  await expect(page.getByTestId("audit-table")).toContainText("auth.sign-in");
  await expect(page.getByTestId("audit-table")).toContainText("user.create");
  await shoot(page, "audit-log");
});

test("viewers and operators are refused the audit log", async ({ page }) => {
  await signIn(page, userOf("BACKUP_VIEWER"));
  await page.goto("/audit");
  await expect(page.getByTestId("forbidden")).toBeVisible();
});
