import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { assignKeyProviderTenantSchema, setDefaultKeyProviderSchema } from "@/lib/schemas/kms";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "@/lib/services/inventory/platform";
import { platformCall } from "@/lib/services/inventory/platform-errors";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";

async function providerRef(id: string) {
  const kp = await db.keyProvider.findUnique({ where: { id }, include: { site: true } });
  if (!kp) throw new AppError("NOT_FOUND", "No key provider with this id. Reload the page.");
  return kp;
}

/** Makes a key provider its site's default: new VM encryption on that site uses it (VME-4). */
export async function setDefaultKeyProvider(actor: Actor, raw: z.input<typeof setDefaultKeyProviderSchema>): Promise<void> {
  authorize(actor, "keyprovider:manage");
  const { keyProviderId } = parseInput(setDefaultKeyProviderSchema, raw);
  const kp = await providerRef(keyProviderId);
  await platformCall(() => platform().setDefaultKeyProvider(kp.site.externalId, kp.externalId));
  await syncInventoryFromPlatform();
  await recordAuditEvent({ actor, action: "keyprovider.set-default", objectType: "key-provider", objectId: kp.id, outcome: "success", details: { name: kp.name, site: kp.site.name } });
}

/** Dedicates a key provider to a tenant (service providers: one KMS per tenant), or to none. */
export async function assignKeyProviderTenant(actor: Actor, raw: z.input<typeof assignKeyProviderTenantSchema>): Promise<void> {
  authorize(actor, "keyprovider:manage");
  const input = parseInput(assignKeyProviderTenantSchema, raw);
  const kp = await providerRef(input.keyProviderId);
  const tenant = input.tenantId ? await db.tenant.findUnique({ where: { id: input.tenantId } }) : null;
  if (input.tenantId && !tenant) throw new AppError("INVALID_INPUT", "No such tenant.", { tenantId: ["Choose a tenant from the list"] });
  await platformCall(() => platform().assignKeyProviderTenant(kp.site.externalId, kp.externalId, tenant?.externalId ?? null));
  await syncInventoryFromPlatform();
  await recordAuditEvent({ actor, action: "keyprovider.assign-tenant", objectType: "key-provider", objectId: kp.id, outcome: "success", details: { name: kp.name, tenant: tenant?.name ?? null } });
}
