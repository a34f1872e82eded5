// Default key provider per site and tenant assignment, through the console (VME-4, TRN-6).
import { beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor } from "@/lib/testing/factories";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { assignKeyProviderTenant, setDefaultKeyProvider } from "./key-provider-settings";

let admin: Awaited<ReturnType<typeof makeActor>>;
beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
});

describe("key provider settings", () => {
  it("moves the default of one site only, keeping exactly one default there", async () => {
    const kp = await db.keyProvider.findFirstOrThrow({ where: { isDefault: false }, orderBy: { name: "desc" } });
    const otherSiteDefaults = await db.keyProvider.findMany({ where: { isDefault: true, siteId: { not: kp.siteId } }, select: { id: true } });
    await setDefaultKeyProvider(admin, { keyProviderId: kp.id });
    const defaults = await db.keyProvider.findMany({ where: { isDefault: true, siteId: kp.siteId }, select: { id: true } });
    expect(defaults).toEqual([{ id: kp.id }]);
    expect(await db.keyProvider.findMany({ where: { isDefault: true, siteId: { not: kp.siteId } }, select: { id: true } })).toEqual(otherSiteDefaults);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "keyprovider.set-default", objectId: kp.id } });
    expect(audit.actorId).toBe(admin.id);
  });

  it("assigns a tenant and clears it; an unknown tenant or provider changes nothing", async () => {
    const kp = await db.keyProvider.findFirstOrThrow({ where: { kind: "NATIVE" } });
    const tenant = await db.tenant.findFirstOrThrow();
    await assignKeyProviderTenant(admin, { keyProviderId: kp.id, tenantId: tenant.id });
    expect((await db.keyProvider.findUniqueOrThrow({ where: { id: kp.id } })).tenantId).toBe(tenant.id);
    await expectAppError(assignKeyProviderTenant(admin, { keyProviderId: kp.id, tenantId: "nope" }), "INVALID_INPUT");
    await expectAppError(setDefaultKeyProvider(admin, { keyProviderId: "nope" }), "NOT_FOUND");
    expect((await db.keyProvider.findUniqueOrThrow({ where: { id: kp.id } })).tenantId).toBe(tenant.id);
    await assignKeyProviderTenant(admin, { keyProviderId: kp.id, tenantId: "" });
    expect((await db.keyProvider.findUniqueOrThrow({ where: { id: kp.id } })).tenantId).toBeNull();
  });
});
