import fs from "node:fs";
import path from "node:path";
import { expect, type Browser, type Page } from "@playwright/test";

// Users made by the setup project (e2e/users.setup.ts), one per role, with unique emails.
export type RoleKey = "BACKUP_ADMIN" | "RESTORE_OPERATOR" | "BACKUP_VIEWER" | "SECURITY_OFFICER";
export interface Credentials { email: string; password: string; name: string }

const USERS_FILE = path.resolve("test-results/e2e-users.json");

export const admin: Credentials = { email: "admin@e2e.strongroom.test", password: process.env.E2E_ADMIN_PASSWORD!, name: "Administrator" };

export function saveUsers(users: Record<RoleKey, Credentials>): void {
  fs.mkdirSync(path.dirname(USERS_FILE), { recursive: true });
  fs.writeFileSync(USERS_FILE, JSON.stringify(users));
}

export function userOf(role: RoleKey): Credentials {
  return (JSON.parse(fs.readFileSync(USERS_FILE, "utf8")) as Record<RoleKey, Credentials>)[role];
}

export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function signIn(page: Page, who: Credentials): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("current-user")).toContainText(who.email);
}

/** A fresh browser context signed in as `who` (separate cookies: another person at another desk). */
export async function pageAs(browser: Browser, who: Credentials): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, who);
  return page;
}

/** Full-page screenshot kept with the test results, for a person to look at. */
export async function shoot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}

/** Creates a user through the Users page (the caller must be a Backup Administrator). */
export async function createUserViaUi(page: Page, user: Credentials & { roleLabel: string }): Promise<void> {
  await page.goto("/users");
  const form = page.getByTestId("create-user-form");
  await form.getByLabel("Email").fill(user.email);
  await form.getByLabel("Name").fill(user.name);
  await form.getByLabel("Role").selectOption({ label: user.roleLabel });
  await form.getByLabel("Initial password").fill(user.password);
  await form.getByTestId("create-user-submit").click();
  await expect(form.getByTestId("action-ok")).toContainText(`Created ${user.email}`);
}
