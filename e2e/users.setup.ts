import { expect, test as setup } from "@playwright/test";
import { admin, createUserViaUi, saveUsers, shoot, signIn, unique, type Credentials, type RoleKey } from "./fixtures";

const ROLE_LABELS: Record<RoleKey, string> = {
  BACKUP_ADMIN: "Backup Administrator",
  RESTORE_OPERATOR: "Restore Operator",
  BACKUP_VIEWER: "Backup Viewer",
  SECURITY_OFFICER: "Security Officer",
};

// The first-start administrator (created by `npm start` from STRONGROOM_ADMIN_PASSWORD) signs in
// and creates one user per role through the Users page; the other specs sign in as them.
setup("the first-start administrator signs in and creates a user of every role", async ({ page }) => {
  await signIn(page, admin);
  await expect(page.getByTestId("current-role")).toHaveText("Backup Administrator");
  const users = {} as Record<RoleKey, Credentials>;
  for (const role of Object.keys(ROLE_LABELS) as RoleKey[]) {
    const who = { email: `${unique(role.toLowerCase().replace("_", "-"))}@e2e.strongroom.test`, password: `pw-${unique("e2e")}-long`, name: ROLE_LABELS[role] + " (e2e)" };
    await createUserViaUi(page, { ...who, roleLabel: ROLE_LABELS[role] });
    users[role] = who;
  }
  await page.goto("/users");
  for (const u of Object.values(users)) await expect(page.getByTestId("user-table")).toContainText(u.email);
  await shoot(page, "users");
  saveUsers(users);
});
