import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LabConnector } from "./lab-connector";

const folders: string[] = [];
async function lab() {
  const folder = await mkdtemp(path.join(os.tmpdir(), "strongroom-kp-settings-"));
  folders.push(folder);
  return { folder, connector: new LabConnector({ folder }) };
}
afterEach(async () => {
  for (const f of folders.splice(0)) await rm(f, { recursive: true, force: true });
});

describe("key provider settings in the lab", () => {
  it("moves a site's default, keeps exactly one, and survives a new connector on the same folder", async () => {
    const { folder, connector } = await lab();
    const before = await connector.inventory();
    const site = before.sites[0].externalId;
    const target = before.keyProviders.find((k) => k.siteExternalId === site && !k.isDefault)!;
    await connector.setDefaultKeyProvider(site, target.externalId);
    const again = await new LabConnector({ folder }).inventory();
    const defaults = again.keyProviders.filter((k) => k.siteExternalId === site && k.isDefault);
    expect(defaults.map((k) => k.externalId)).toEqual([target.externalId]);
    // The other site is untouched.
    const other = before.sites[1].externalId;
    expect(again.keyProviders.filter((k) => k.siteExternalId === other && k.isDefault)).toEqual(before.keyProviders.filter((k) => k.siteExternalId === other && k.isDefault));
  });

  it("assigns and clears a tenant; unknown providers and tenants are NotFound and change nothing", async () => {
    const { connector } = await lab();
    const inv = await connector.inventory();
    const kp = inv.keyProviders.find((k) => k.kind === "standard" && k.tenantExternalId === null)!;
    const tenant = inv.tenants[0].externalId;
    await connector.assignKeyProviderTenant(kp.siteExternalId, kp.externalId, tenant);
    expect((await connector.inventory()).keyProviders.find((k) => k.externalId === kp.externalId && k.siteExternalId === kp.siteExternalId)!.tenantExternalId).toBe(tenant);
    await expect(connector.assignKeyProviderTenant(kp.siteExternalId, "kp-nope", tenant)).rejects.toMatchObject({ name: "HostError", code: "NotFound" });
    await expect(connector.assignKeyProviderTenant(kp.siteExternalId, kp.externalId, "tenant-nope")).rejects.toMatchObject({ code: "NotFound" });
    await connector.assignKeyProviderTenant(kp.siteExternalId, kp.externalId, null);
    expect((await connector.inventory()).keyProviders.find((k) => k.externalId === kp.externalId && k.siteExternalId === kp.siteExternalId)!.tenantExternalId).toBeNull();
  });
});
