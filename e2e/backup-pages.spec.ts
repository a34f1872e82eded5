import path from "node:path";
import { expect, test } from "@playwright/test";
import { admin, pageAs, shoot, signIn, unique, userOf } from "./fixtures";

// Issue 4, the pages around backup jobs: the jobs list's empty state, repositories (the default one
// made at first start, adding one with field errors from the server), verifying a repository and
// reading its report (BKP-7), and the API's answers for malformed and unknown ids.
// Runs before backup-wizard.spec.ts (files run in name order), so no job exists yet.

test("jobs list is empty; a repository is added, opened and verified", async ({ page }) => {
  await signIn(page, admin);

  await page.goto("/jobs");
  await expect(page.getByTestId("empty-state")).toContainText("No backup jobs yet");
  await expect(page.getByTestId("new-job-empty")).toHaveAttribute("href", "/jobs/new");
  await expect(page.getByTestId("new-job-link")).toBeVisible();
  await shoot(page, "jobs-empty");

  await page.goto("/repositories");
  const defaultRow = page.getByTestId("repository-row").filter({ hasText: "Default repository" });
  await expect(defaultRow).toBeVisible();
  await expect(defaultRow).toContainText("Never verified");

  // A relative folder is refused by the server with the field's own message.
  const form = page.getByTestId("repository-form");
  const name = unique("Backup volume");
  await form.getByLabel("Name").fill(name);
  await form.getByLabel(/Folder on the Strongroom server/).fill("backups/volume-1");
  await form.getByTestId("add-repository").click();
  await expect(form.getByTestId("error-path")).toContainText("absolute path");
  await expect(form.getByTestId("action-error")).toContainText("Some fields need attention");
  await shoot(page, "repositories-path-error");

  // An absolute folder under the test's data directory becomes a new, empty repository.
  const folder = path.resolve(".data/e2e/extra-repositories", name);
  await form.getByLabel(/Folder on the Strongroom server/).fill(folder);
  await form.getByLabel(/Description/).fill("Added by the e2e test");
  await form.getByLabel(/Immutability/).fill("7");
  await form.getByTestId("add-repository").click();
  await expect(form.getByTestId("action-ok")).toContainText(`Added ${name}: a new, empty repository`);
  const row = page.getByTestId("repository-row").filter({ hasText: name });
  await expect(row).toContainText(folder);
  await expect(row).toContainText("7 days");
  await shoot(page, "repositories-added");

  // The same folder again is refused: it is already a repository.
  await form.getByLabel("Name").fill(unique("Same folder"));
  await form.getByLabel(/Folder on the Strongroom server/).fill(folder);
  await form.getByTestId("add-repository").click();
  await expect(form.getByTestId("error-path")).toContainText("already a repository");

  await row.getByRole("link", { name }).click();
  await expect(page).toHaveURL(/\/repositories\/[^/]+$/);
  await expect(page.getByTestId("repository-details")).toContainText(folder);
  await expect(page.getByTestId("verify-never")).toBeVisible();
  await expect(page.getByTestId("points-empty")).toBeVisible();
  await page.getByTestId("verify-button").click();
  await expect(page.getByTestId("verify-outcome")).toHaveText("Clean", { timeout: 30_000 });
  await expect(page.getByTestId("verify-running")).toHaveCount(0);
  await expect(page.getByTestId("verify-summary")).toContainText("No damage");
  await expect(page.getByTestId("verify-button")).toHaveText("Verify again");
  await shoot(page, "repository-verified");

  // The list shows the outcome.
  await page.goto("/repositories");
  await expect(page.getByTestId("repository-row").filter({ hasText: name })).toContainText("Clean");
  await page.getByTestId("repository-row").filter({ hasText: "Default repository" }).getByRole("link", { name: "Default repository" }).click();
  await expect(page.getByTestId("repository-details")).toContainText(".data/e2e");
  await shoot(page, "repository-default");
});

test("missing and malformed ids: a designed not-found page, 404 and 400 from the API", async ({ page }) => {
  await signIn(page, admin);
  await page.goto("/sessions/cnosuchsession000000000000");
  await expect(page.getByTestId("not-found")).toContainText("This session does not exist");
  await shoot(page, "session-not-found");
  await page.goto("/jobs/cnosuchjob00000000000000000");
  await expect(page.getByTestId("not-found")).toContainText("This backup job does not exist");
  await page.goto("/repositories/cnosuchrepo0000000000000000");
  await expect(page.getByTestId("not-found")).toContainText("This repository does not exist");

  for (const kind of ["sessions", "jobs", "repositories"]) {
    expect((await page.request.get(`/api/${kind}/cnosuch000000000000000000`)).status()).toBe(404);
    expect((await page.request.get(`/api/${kind}/${encodeURIComponent("bad id;--")}`)).status()).toBe(400);
  }
  const jobs = await page.request.get("/api/jobs");
  expect(jobs.status()).toBe(200);
  expect(Array.isArray(await jobs.json())).toBe(true);
});

test("a Backup Viewer reads repositories and jobs but gets no buttons to change them", async ({ browser }) => {
  const viewer = await pageAs(browser, userOf("BACKUP_VIEWER"));
  await viewer.goto("/repositories");
  await expect(viewer.getByTestId("repository-table")).toContainText("Default repository");
  await expect(viewer.getByTestId("repository-form")).toHaveCount(0);
  await viewer.getByRole("link", { name: "Default repository" }).click();
  await expect(viewer.getByTestId("verify-panel")).toBeVisible();
  await expect(viewer.getByTestId("verify-button")).toHaveCount(0);
  await viewer.goto("/jobs");
  await expect(viewer.getByTestId("new-job-link")).toHaveCount(0);
  await expect(viewer.getByTestId("empty-state")).toContainText("A Backup Administrator creates backup jobs");
  await viewer.context().close();
});
