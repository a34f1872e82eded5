import { expect, test, type Page } from "@playwright/test";
import { shoot, signIn, userOf } from "./fixtures";

/** Waits until the list reflects a filter: the address shows it and no fetch is in flight. */
async function settled(page: Page, inUrl: RegExp): Promise<void> {
  await expect(page).toHaveURL(inUrl);
  await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
}

test.beforeEach(async ({ page }) => {
  await signIn(page, userOf("BACKUP_VIEWER"));
});

test("dashboard shows the estate per site and tenant, and what needs attention", async ({ page }) => {
  await expect(page.getByTestId("per-site")).toContainText("Production (Amsterdam)");
  await expect(page.getByTestId("per-site")).toContainText("Disaster recovery (Rotterdam)");
  await expect(page.getByTestId("per-tenant")).toContainText("Acme Logistics");
  await expect(page.getByTestId("per-tenant")).toContainText("Globex Health");
  await expect(page.getByTestId("attention")).toContainText("lacks Cryptographer.AddDisk");
  await shoot(page, "dashboard");
});

test("browse the tree from a site to a host to a VM", async ({ page }) => {
  await page.getByRole("link", { name: "Inventory" }).click();
  const tree = page.getByTestId("inventory-tree");
  await expect(tree).toContainText("Production (Amsterdam)");
  await tree.getByTestId("tree-host").first().click();
  const vm = tree.getByTestId("tree-vm").first();
  await expect(vm).toBeVisible();
  await shoot(page, "inventory-tree");
  const name = (await vm.textContent())!;
  await vm.click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
});

test("filter the VM list, page through it and open an encrypted VM", async ({ page }) => {
  // The seeded estate has 36 VMs, 24 encrypted, 10 with a vTPM; specs before this one may have added
  // VMs (restored VMs, replicas), so the figures are at least those.
  const count = async () => Number((await page.getByTestId("vm-count").innerText()).match(/^(\d+) VMs?/)?.[1] ?? NaN);
  await page.goto("/vms");
  await expect(page.getByTestId("vm-count")).toContainText(/^\d+ VMs/);
  const total = await count();
  expect(total).toBeGreaterThanOrEqual(36);
  await page.getByTestId("filter-encrypted").selectOption("yes");
  await expect(page).toHaveURL(/encrypted=yes/);
  await expect.poll(count).toBeLessThan(total);
  expect(await count()).toBeGreaterThanOrEqual(24);
  const rows = page.getByTestId("vm-row");
  for (const row of await rows.all()) await expect(row).toContainText("Encrypted");

  const encrypted = await count();
  await page.getByTestId("filter-vtpm").selectOption("yes");
  await expect.poll(count).toBeLessThan(encrypted);
  expect(await count()).toBeGreaterThanOrEqual(10);
  await page.getByTestId("filter-tenant").selectOption({ label: "Globex Health" });
  await settled(page, /tenant=/);
  for (const row of await rows.all()) await expect(row).toContainText("Globex Health");
  await shoot(page, "vm-list-filtered");

  await page.getByRole("button", { name: "Clear filters" }).click();
  await page.getByTestId("vm-search").fill("SQL");
  await settled(page, /q=SQL/);
  await expect(page.getByTestId("vm-count")).toContainText(/^\d+ VMs?/);
  for (const row of await rows.all()) await expect(row.getByRole("link")).toContainText("sql");

  await page.getByTestId("vm-search").fill("no-such-vm-anywhere");
  await expect(page.getByTestId("empty-state")).toContainText("No VMs match");
  await shoot(page, "vm-list-empty");

  await page.getByRole("button", { name: "Clear filters" }).click();
  await expect(page.getByTestId("vm-count")).toContainText("page 1 of 2");
  const firstOnPage1 = await rows.first().textContent();
  await page.getByTestId("next-page").click();
  await expect(page.getByTestId("vm-count")).toContainText("page 2 of 2");
  expect(await rows.first().textContent()).not.toBe(firstOnPage1);

  // A shared link with filters opens the same view.
  await page.goto("/vms?encrypted=yes&vtpm=yes");
  await expect(page.getByTestId("vm-count")).toContainText("10 VMs");
  await rows.first().getByRole("link").click();
  await expect(page.getByTestId("vm-encryption")).toContainText("Present in the configuration");
  await expect(page.getByTestId("vm-key-id")).not.toBeEmpty();
  await expect(page.getByTestId("vm-disks")).toContainText("under VM Encryption Policy");
  await shoot(page, "vm-page");
});

test("invalid filters are explained, unknown ids show not found, malformed API input is a 400", async ({ page }) => {
  await page.goto("/vms?pageSize=7");
  await expect(page.getByTestId("error-notice")).toContainText("Page size must be 25, 50 or 100");
  await expect(page.getByTestId("vm-table")).toBeVisible();

  await page.goto("/vms/does-not-exist");
  await expect(page.getByTestId("not-found")).toBeVisible();
  await shoot(page, "vm-not-found");
  await page.goto("/key-providers/does-not-exist");
  await expect(page.getByTestId("not-found")).toBeVisible();

  for (const bad of ["page=abc", "pageSize=1000", "encrypted=maybe", `q=${"x".repeat(200)}`]) {
    const res = await page.request.get(`/api/vms?${bad}`);
    expect(res.status(), bad).toBe(400);
    expect((await res.json()).error, bad).toMatch(/Invalid input/);
  }
  expect((await page.request.get(`/api/vms?q=${"x".repeat(3000)}`)).status()).toBe(400);
});

test("datastores under the VM Encryption Policy node, key providers with their VMs, proxies with warnings", async ({ page }) => {
  await page.goto("/datastores");
  await expect(page.getByTestId("encryption-policy-node")).toHaveCount(2);
  await expect(page.getByTestId("encryption-policy-node").first()).toContainText("ds-prod-vsan-01");
  await expect(page.getByTestId("other-datastores-node").first()).toContainText("ds-prod-nfs-01");
  await shoot(page, "datastores");

  await page.goto("/key-providers");
  await shoot(page, "key-providers");
  await page.getByTestId("key-provider-table").getByRole("link", { name: "Acme Logistics KMS" }).first().click();
  await expect(page.getByTestId("dependent-vms")).toContainText("acme-");
  await shoot(page, "key-provider");

  await page.goto("/proxies");
  await expect(page.getByTestId("proxy-warning").first()).toBeVisible();
  await shoot(page, "proxies");
});
