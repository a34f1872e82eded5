import { expect, test } from "@playwright/test";
import { startPykmipServer, type PykmipServer } from "../lib/kmip/testing/pykmip-server";
import { admin, shoot, signIn, unique, userOf } from "./fixtures";

// VME-3, VME-4: a real KMS (PyKMIP over KMIP with mutual TLS) registered through the console;
// stopping it shows on the key provider and VM pages, starting it again recovers them.
let kms: PykmipServer;
test.beforeAll(async () => {
  kms = await startPykmipServer({ keepDir: true });
});
test.afterAll(async () => {
  await kms?.stop();
});

test("register a KMS cluster, see it go unreachable when stopped and recover when started", async ({ page, browser }) => {
  test.setTimeout(120_000);
  await signIn(page, admin);
  await page.goto("/key-providers");
  await shoot(page, "key-providers-no-kms");
  await page.getByTestId("register-kms-link").click();

  const form = page.getByTestId("register-kms-form");
  const name = unique("Acme Logistics KMS cluster");
  await form.getByLabel("Cluster name").fill(name);
  await form.getByTestId("kms-servers").fill(`127.0.0.1:${kms.port}`);
  await form.getByTestId("kms-caPem").fill(kms.ca.toString());
  await form.getByTestId("kms-clientCertPem").fill(kms.clientA.cert.toString());
  // A key that does not match the certificate is refused with a clear message, before anything is stored.
  await form.getByTestId("kms-clientKeyPem").fill(kms.clientB.key.toString());
  await form.getByTestId("kms-test").click();
  await expect(form.getByTestId("error-clientKeyPem")).toContainText("does not belong to the client certificate");
  await form.getByTestId("kms-clientKeyPem").fill(kms.clientA.key.toString());
  await form.getByTestId("kms-test").click();
  await expect(form.getByTestId("action-ok")).toContainText(/KMIP versions: .*1\.4/);
  await expect(form.getByTestId("action-ok")).toContainText("CN=127.0.0.1");
  for (const box of await form.getByRole("checkbox", { name: /Acme Logistics KMS/ }).all()) await box.check();
  await shoot(page, "kms-register-form");
  await form.getByTestId("kms-register").click();
  await expect(form.getByTestId("action-ok")).toContainText(`Registered ${name}; it answers`);
  await expect(page).toHaveURL(/\/key-providers$/);
  const cluster = page.getByTestId("kms-cluster").filter({ hasText: name });
  await expect(cluster.getByTestId("kms-status")).toHaveText("Reachable");
  await shoot(page, "key-providers-kms-reachable");

  // A viewer at another desk watches an Acme VM.
  const viewer = await (await browser.newContext()).newPage();
  await signIn(viewer, userOf("BACKUP_VIEWER"));
  await viewer.goto("/vms?q=acme-sql-01");
  await viewer.getByTestId("vm-row").first().getByRole("link").click();
  await expect(viewer.getByTestId("kms-reachability")).toContainText("Reachable");
  await expect(viewer.getByTestId("vm-kms-warning")).toHaveCount(0);

  // The KMS goes down: both pages say so without a reload.
  const { dir, port } = kms;
  await kms.stop();
  await expect(cluster.getByTestId("kms-status")).toContainText("Unreachable since", { timeout: 20_000 });
  await expect(cluster.getByTestId("kms-error")).toContainText(/refused/i);
  await expect(page.getByTestId("key-provider-table")).not.toContainText("Reachable");
  await expect(page.getByTestId("key-provider-table")).toContainText("Unreachable since");
  await expect(viewer.getByTestId("vm-kms-warning")).toContainText("cannot be opened or powered on", { timeout: 20_000 });
  await shoot(page, "key-providers-kms-unreachable");
  await shoot(viewer, "vm-kms-unreachable");

  // It comes back: both recover.
  kms = await startPykmipServer({ keepDir: true, reuse: { dir, port } });
  await expect(cluster.getByTestId("kms-status")).toHaveText("Reachable", { timeout: 20_000 });
  await expect(viewer.getByTestId("vm-kms-warning")).toHaveCount(0, { timeout: 20_000 });
  await expect(viewer.getByTestId("kms-reachability")).toContainText("Reachable");
  await viewer.context().close();
});

test("viewers cannot register KMS clusters, by page or by link", async ({ page }) => {
  await signIn(page, userOf("BACKUP_VIEWER"));
  await page.goto("/key-providers");
  await expect(page.getByTestId("register-kms-link")).toHaveCount(0);
  await page.goto("/key-providers/kms/new");
  await expect(page.getByTestId("forbidden")).toBeVisible();
});

test("an administrator moves a site's default key provider and dedicates a provider to a tenant", async ({ page }) => {
  await signIn(page, admin);
  await page.goto("/key-providers");
  const table = page.getByTestId("key-provider-table");
  const provider = table.getByRole("row").filter({ hasText: "Provider KMS" }).filter({ hasText: "Disaster recovery" });
  await provider.getByRole("link", { name: "Provider KMS" }).click();
  const settings = page.getByTestId("key-provider-settings");
  await settings.getByTestId("make-default").click();
  await expect(settings.getByTestId("action-ok")).toContainText("now the site's default");
  await expect(settings.getByTestId("make-default")).toHaveText("Default of its site");
  await settings.getByTestId("tenant-select").selectOption({ label: "Globex Health" });
  await settings.getByTestId("assign-tenant").click();
  await expect(settings.getByTestId("action-ok")).toContainText("Assigned to the tenant");
  await expect(settings.getByTestId("tenant-select").locator("option:checked")).toHaveText("Globex Health");
  await shoot(page, "key-provider-settings");

  await page.goto("/key-providers");
  const drRows = table.getByRole("row").filter({ hasText: "Disaster recovery" });
  await expect(drRows.filter({ hasText: "Default" })).toHaveCount(1);
  await expect(drRows.filter({ hasText: "Default" })).toContainText("Provider KMS");
  await expect(drRows.filter({ hasText: "Provider KMS" })).toContainText("Globex Health");
});
