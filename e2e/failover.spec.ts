import { execFileSync } from "node:child_process";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { admin, pageAs, shoot, signIn, userOf } from "./fixtures";

// Issue 12, failover (FOV-1) from the console: a replica of a VM no other spec uses (made by
// make-failover-replica.ts through the services), failed over through the wizard with the
// pre-failover check shown, its session to Success, the replicas view showing Failover and
// offering Undo; the guest writes in the failed-over VM, Undo discards it → Ready. Then a
// failover the check refuses (the Ready replica powered on at the DR site, from its VM page): the
// no-go with its reason, Next blocked. A Backup Viewer sees no failover action.

test.describe.configure({ mode: "serial" });
const ROOT = path.resolve(__dirname, "..");
const DATA_DIR = path.join(ROOT, ".data", "e2e");

let vm = "";
let replica = "";

const row = (page: Page) => page.getByTestId("replica").filter({ hasText: replica });

async function openVm(page: Page, name: string) {
  await page.goto(`/vms?q=${name}`);
  await page.getByTestId("vm-row").first().getByRole("link", { name, exact: true }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
}

async function setPower(page: Page, on: boolean) {
  const panel = page.getByTestId("vm-lab-panel");
  await expect(panel.getByTestId("vm-power-state")).toBeVisible();
  if (/Powered on/.test(await panel.getByTestId("vm-power-state").innerText()) !== on) await panel.getByTestId("vm-power-toggle").click();
  await expect(panel.getByTestId("vm-power-state")).toContainText(on ? "Powered on" : "Powered off", { timeout: 20_000 });
}

/** A replica made and run through the services (make-failover-replica.ts), its first run's session. */
function makeReplica(): { sessionId: string; vm: string; replica: string } {
  const out = execFileSync(path.join(ROOT, "node_modules/.bin/tsx"), ["--conditions=react-server", "e2e/make-failover-replica.ts"], {
    cwd: ROOT,
    env: { ...process.env, STRONGROOM_DATA_DIR: DATA_DIR, DATABASE_URL: `file:${path.join(DATA_DIR, "strongroom.db")}`, E2E_ADMIN_EMAIL: admin.email },
    encoding: "utf8",
    timeout: 90_000,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as { sessionId: string; vm: string; replica: string };
}

test("fail over with the check shown, write in the failed-over VM, undo → Ready", async ({ page, browser }) => {
  test.setTimeout(240_000);
  await signIn(page, admin);
  const made = makeReplica();
  vm = made.vm;
  replica = made.replica;
  await page.goto(`/sessions/${made.sessionId}`);
  await expect(page.getByTestId("session-state")).toContainText(/Success/, { timeout: 120_000 });

  // The replicas view: Ready, offering Fail over… and Planned failover…, not Undo.
  await page.goto("/replicas");
  await expect(row(page).getByTestId("replica-state")).toHaveAttribute("data-state", "Ready");
  await expect(row(page).getByTestId("fo-failover")).toBeVisible();
  await expect(row(page).getByTestId("fo-planned")).toBeVisible();
  await expect(row(page).getByTestId("fo-undo")).toHaveCount(0);
  await shoot(page, "failover-1-replicas-ready");

  // The wizard, the replica preselected: its newest point with key ids and key mode in words.
  await row(page).getByTestId("fo-failover").click();
  await expect(page).toHaveURL(/\/replicas\/failover\?replica=/);
  await expect(page.getByTestId("step-title")).toHaveText("Restore points");
  await expect(page.getByTestId("fo-point")).toContainText("a new key of the DR site's key provider");
  await shoot(page, "failover-2-point");
  await page.getByTestId("wizard-next").click();

  // The pre-failover check: go, each thing checked listed.
  await expect(page.getByTestId("step-title")).toHaveText("Pre-failover check");
  const result = page.getByTestId("fo-check-result").filter({ hasText: replica });
  await expect(result).toHaveAttribute("data-go", "yes", { timeout: 30_000 });
  await expect(result).toContainText("Go");
  await expect(result).toContainText("The DR site reaches the replica's key provider");
  await expect(result.locator('[data-testid="fo-check-item"][data-state="failed"]')).toHaveCount(0);
  await shoot(page, "failover-3-check-go");
  await page.getByTestId("wizard-next").click();

  await expect(page.getByTestId("step-title")).toHaveText("Kind of failover");
  await expect(page.getByText(/no data is lost/)).toBeVisible();
  await page.getByTestId("fo-kind-failover").check();
  await shoot(page, "failover-4-kind");
  await page.getByTestId("wizard-next").click();

  await expect(page.getByTestId("step-title")).toHaveText("Reason");
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("next-blocked")).toContainText("Say why you fail over");
  await expect(page.getByTestId("step-title")).toHaveText("Reason");
  await page.getByTestId("fo-reason").fill("DR test of the console");
  await page.getByTestId("wizard-next").click();

  await expect(page.getByTestId("fo-summary")).toContainText(`${replica} (replica of ${vm})`);
  await shoot(page, "failover-5-summary");
  await page.getByTestId("wizard-finish").click();

  // The session: its steps in words, to Success.
  await expect(page).toHaveURL(/\/sessions\//, { timeout: 20_000 });
  await expect(page.getByTestId("session-state")).toContainText(/Success/, { timeout: 60_000 });
  await expect(page.getByTestId("failover-panel")).toContainText(`${replica} (the replica of ${vm}) is reverted`);
  await expect(page.locator('[data-testid="failover-step"][data-state="done"]').last()).toContainText("Power the replica on at the DR site");
  await expect(page.locator('[data-testid="failover-step"][data-state="failed"], [data-testid="failover-step"][data-state="pending"]')).toHaveCount(0);
  await expect(page.getByTestId("failover-replica-state")).toContainText("Failover");
  await shoot(page, "failover-6-session");

  // The replicas view: Failover since … at point …, Undo and Make permanent offered, the session linked.
  await page.goto("/replicas");
  await expect(row(page).getByTestId("replica-state")).toHaveAttribute("data-state", "Failover");
  await expect(row(page).getByTestId("replica-failover-since")).toContainText(/Failover since .* at point /);
  await expect(row(page).getByTestId("fo-undo")).toBeVisible();
  await expect(row(page).getByTestId("fo-permanent")).toBeVisible();
  await expect(row(page).getByTestId("fo-failover")).toHaveCount(0);
  await expect(row(page).getByTestId("replica-failover-sessions")).toContainText("Failover");
  await expect(row(page).getByTestId("fo-permanent")).toBeInViewport();
  await shoot(page, "failover-7-replicas-failover");

  // A Restore Operator may undo, but not make the failover permanent: said beside the disabled action.
  const operator = await pageAs(browser, userOf("RESTORE_OPERATOR"));
  await operator.goto("/replicas");
  await expect(row(operator).getByTestId("fo-undo")).toBeVisible();
  await expect(row(operator).getByTestId("fo-permanent")).toHaveCount(0);
  await expect(row(operator).getByTestId("failover-actions")).toContainText("Only a Backup Administrator can make a failover permanent");
  await shoot(operator, "failover-7b-operator");
  await operator.context().close();

  // The guest writes in the failed-over VM (its page linked from the replica).
  await row(page).getByTestId("replica-vm-link").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(replica);
  await setPower(page, true);
  const panel = page.getByTestId("vm-lab-panel");
  await panel.getByTestId("guest-writes-percent").fill("5");
  await panel.getByTestId("guest-writes-run").click();
  await expect(panel.getByTestId("action-ok")).toContainText("CBT recorded them");
  await shoot(page, "failover-8-guest-wrote");

  // Undo: the dialog says what is lost and wants a reason.
  await page.goto("/replicas");
  await row(page).getByTestId("fo-undo").click();
  const dialog = page.getByTestId("fo-undo-dialog");
  await expect(dialog.getByTestId("fo-consequence")).toContainText("Every change made in the failed-over VM is discarded");
  await dialog.getByTestId("fo-confirm").click();
  await expect(dialog.getByTestId("error-reason")).toContainText("Say why");
  await dialog.getByTestId("fo-reason").fill("DR test finished");
  await shoot(page, "failover-9-undo-dialog");
  await dialog.getByTestId("fo-confirm").click();
  await expect(page).toHaveURL(/\/sessions\//, { timeout: 20_000 });
  await expect(page.getByTestId("session-state")).toContainText(/Success/, { timeout: 60_000 });
  await expect(page.getByTestId("failover-panel")).toContainText("everything written in it since the failover is discarded");
  await shoot(page, "failover-10-undo-session");

  await page.goto("/replicas");
  await expect(row(page).getByTestId("replica-state")).toHaveAttribute("data-state", "Ready");
  await expect(row(page).getByTestId("fo-failover")).toBeVisible();
  await shoot(page, "failover-11-replicas-ready-again");
});

test("a failover the check refuses: the no-go with its reason, Next blocked", async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, admin);
  // The Ready replica powered on at the DR site: failing over would revert a running VM.
  await openVm(page, replica);
  await setPower(page, true);
  await page.goto("/replicas");
  await row(page).getByTestId("fo-failover").click();
  await page.getByTestId("wizard-next").click();
  const result = page.getByTestId("fo-check-result").filter({ hasText: replica });
  await expect(result).toHaveAttribute("data-go", "no", { timeout: 30_000 });
  await expect(result).toContainText("No-go");
  await expect(result.getByTestId("fo-check-reason")).toContainText(`${replica} is powered on at the DR site although it is not failed over: power it off`);
  await expect(page.getByTestId("next-blocked")).toContainText(`No-go for ${replica}: fix what the check says`);
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("step-title")).toHaveText("Pre-failover check");
  await shoot(page, "failover-12-check-no-go");

  // Fixed as it says, the check goes.
  await openVm(page, replica);
  await setPower(page, false);
  await page.goto("/replicas");
  await row(page).getByTestId("fo-failover").click();
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("fo-check-result").filter({ hasText: replica })).toHaveAttribute("data-go", "yes", { timeout: 30_000 });
});

test("a Backup Viewer sees the replicas and no failover action", async ({ page }) => {
  await signIn(page, userOf("BACKUP_VIEWER"));
  await page.goto("/replicas");
  await expect(row(page)).toBeVisible();
  await expect(page.getByTestId("failover-actions")).toHaveCount(0);
  await expect(page.getByTestId("open-failover-wizard")).toHaveCount(0);
  await expect(page.getByTestId("failover-view-only")).toContainText("need the Restore Operator or Backup Administrator role");
  await shoot(page, "failover-13-viewer");
  await page.goto("/replicas/failover");
  await expect(page.getByTestId("failover-wizard")).toHaveCount(0);
});

// Failback (FBK-1): fail over, the guest writes in the failed-over VM, fail back to the original
// through the wizard (only the changes are shipped: the session says how many blocks), commit →
// Ready. Runs on its own too (--grep failback): then it makes its replica first.
test("fail back to the original through the wizard, changes only, commit → Ready", async ({ page, browser }) => {
  test.setTimeout(300_000);
  await signIn(page, admin);
  if (!replica) {
    const made = makeReplica();
    vm = made.vm;
    replica = made.replica;
    await page.goto(`/sessions/${made.sessionId}`);
    await expect(page.getByTestId("session-state")).toContainText(/Success/, { timeout: 120_000 });
  }
  // Fail over (the wizard, as above).
  await page.goto("/replicas");
  await expect(row(page).getByTestId("replica-state")).toHaveAttribute("data-state", "Ready");
  await row(page).getByTestId("fo-failover").click();
  await expect(page.getByTestId("step-title")).toHaveText("Restore points");
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("fo-check-result").filter({ hasText: replica })).toHaveAttribute("data-go", "yes", { timeout: 30_000 });
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("fo-kind-failover").check();
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("fo-reason").fill("DR test before the failback");
  await page.getByTestId("wizard-next").click();
  await page.getByTestId("wizard-finish").click();
  await expect(page).toHaveURL(/\/sessions\//, { timeout: 20_000 });
  await expect(page.getByTestId("session-state")).toContainText(/Success/, { timeout: 60_000 });

  // The guest writes in the failed-over VM.
  await openVm(page, replica);
  await setPower(page, true);
  const panel = page.getByTestId("vm-lab-panel");
  await panel.getByTestId("guest-writes-percent").fill("5");
  await panel.getByTestId("guest-writes-run").click();
  await expect(panel.getByTestId("action-ok")).toContainText("CBT recorded them");

  // The replicas view offers Fail back… to an administrator; a Restore Operator sees why not.
  await page.goto("/replicas");
  await expect(row(page).getByTestId("replica-state")).toHaveAttribute("data-state", "Failover");
  await expect(row(page).getByTestId("fo-failback")).toBeVisible();
  await shoot(page, "failback-1-replicas-failover");
  const operator = await pageAs(browser, userOf("RESTORE_OPERATOR"));
  await operator.goto("/replicas");
  await expect(row(operator).getByTestId("fo-failback")).toHaveCount(0);
  await expect(row(operator).getByTestId("fo-failback-disabled")).toBeVisible();
  await expect(row(operator).getByTestId("failover-actions")).toContainText("Only a Backup Administrator can fail back");
  await shoot(operator, "failback-1b-operator");
  await operator.goto("/replicas/failback?replica=x");
  await expect(operator.getByTestId("failback-wizard")).toHaveCount(0);
  await operator.context().close();

  // The wizard: the original VM by default, only the changes.
  await row(page).getByTestId("fo-failback").click();
  await expect(page).toHaveURL(/\/replicas\/failback\?replica=/);
  await expect(page.getByTestId("step-title")).toHaveText("Destination");
  await expect(page.getByTestId("fb-dest-original")).toBeChecked();
  await expect(page.getByTestId("failback-wizard")).toContainText(`The original VM — ${vm}`);
  await expect(page.getByTestId("failback-wizard")).toContainText("Only what changed since the failover is shipped");
  await shoot(page, "failback-2-destination");
  // A new location shows the datastore tree; an encrypted home outside the VM Encryption Policy is refused.
  await page.getByTestId("fb-dest-new").check();
  await expect(page.getByTestId("fb-new-vm").getByTestId("node-encryption").first()).toBeVisible();
  await shoot(page, "failback-2b-new-location");
  await page.getByTestId("fb-dest-original").check();
  await page.getByTestId("wizard-next").click();

  await expect(page.getByTestId("step-title")).toHaveText("Keys");
  // Re-keyed at the DR site: production keeps its own key (or none), the DR site's key stays there.
  await expect(page.getByTestId("fb-key-plan")).toContainText(new RegExp(`The original VM ${vm} (keeps its own key, under the production site's key provider|is not encrypted and stays so)`));
  await expect(page.getByTestId("fb-key-plan")).toContainText("stays at the DR site");
  await shoot(page, "failback-3-keys");
  await page.getByTestId("wizard-next").click();

  await expect(page.getByTestId("step-title")).toHaveText("Reason");
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("next-blocked")).toContainText("Say why");
  await page.getByTestId("fb-reason").fill("Production site repaired");
  await page.getByTestId("wizard-next").click();
  await expect(page.getByTestId("fb-summary")).toContainText(`Fail back ${replica} to the original VM ${vm}, shipping only what changed since the failover`);
  await shoot(page, "failback-4-summary");
  await page.getByTestId("wizard-finish").click();

  // The session: its steps, how many blocks were shipped (changes only).
  await expect(page).toHaveURL(/\/sessions\//, { timeout: 20_000 });
  await expect(page.getByTestId("session-state")).toContainText(/Success|Warning/, { timeout: 120_000 });
  await expect(page.getByTestId("failover-panel")).toHaveAttribute("data-action", "failback");
  await expect(page.getByTestId("failback-shipped")).toContainText(/[1-9]\d* block\(s\) shipped \(changes only\)/);
  await expect(page.locator('[data-testid="failover-step"][data-state="failed"], [data-testid="failover-step"][data-state="pending"]')).toHaveCount(0);
  await expect(page.getByTestId("failover-replica-state")).toContainText("Failing back");
  await shoot(page, "failback-5-session");

  // Commit: the dialog says what it does; production is the source again → Ready.
  await page.goto("/replicas");
  await expect(row(page).getByTestId("replica-state")).toHaveAttribute("data-state", "Failback");
  await expect(row(page).getByTestId("fo-undo-failback")).toBeVisible();
  await row(page).getByTestId("fo-commit-failback").click();
  const dialog = page.getByTestId("fo-commit-failback-dialog");
  await expect(dialog.getByTestId("fo-consequence")).toContainText("Production is the source again");
  await dialog.getByTestId("fo-reason").fill("Production checked");
  await shoot(page, "failback-6-commit-dialog");
  await dialog.getByTestId("fo-confirm").click();
  await expect(page).toHaveURL(/\/sessions\//, { timeout: 20_000 });
  await expect(page.getByTestId("session-state")).toContainText(/Success|Warning/, { timeout: 60_000 });
  await expect(page.getByTestId("failover-panel")).toHaveAttribute("data-action", "commit-failback");
  await shoot(page, "failback-7-commit-session");
  await page.goto("/replicas");
  await expect(row(page).getByTestId("replica-state")).toHaveAttribute("data-state", "Ready");
  await shoot(page, "failback-8-replicas-ready");
});
