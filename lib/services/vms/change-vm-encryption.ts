import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import type { VmRuntime } from "@/lib/platform/connector";
import { changeVmEncryptionSchema } from "@/lib/schemas/vm-operations";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "@/lib/services/inventory/platform";
import { platformCall } from "@/lib/services/inventory/platform-errors";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import { vmRef } from "./vm-ref";

/** Encrypt a VM with a key provider of its site, decrypt it, or re-key it to another provider (VME-1). */
export async function changeVmEncryption(actor: Actor, raw: z.input<typeof changeVmEncryptionSchema>): Promise<VmRuntime> {
  authorize(actor, "vm:operate");
  const input = parseInput(changeVmEncryptionSchema, raw);
  const vm = await vmRef(input.vmId);
  let providerExternalId: string | undefined;
  if (input.keyProviderId) {
    const kp = await db.keyProvider.findUnique({ where: { id: input.keyProviderId }, select: { externalId: true, siteId: true, name: true } });
    if (!kp || kp.siteId !== vm.siteId) {
      throw new AppError("INVALID_INPUT", "Choose a key provider of the VM's own site.", { keyProviderId: ["Not a key provider of this VM's site"] });
    }
    providerExternalId = kp.externalId;
  }
  const action = `vm.${input.action}`;
  try {
    const runtime = await platformCall(() => {
      if (input.action === "decrypt") return platform().decryptVm(vm.externalId);
      if (input.action === "encrypt") return platform().encryptVm(vm.externalId, providerExternalId!);
      return platform().rekeyVm(vm.externalId, providerExternalId!);
    });
    await syncInventoryFromPlatform();
    await recordAuditEvent({ actor, action, objectType: "vm", objectId: vm.id, outcome: "success", details: { vm: vm.name, keyProvider: providerExternalId ?? null, keyId: runtime.keyId } });
    return runtime;
  } catch (e) {
    await recordAuditEvent({ actor, action, objectType: "vm", objectId: vm.id, outcome: "failure", details: { vm: vm.name, error: e instanceof Error ? e.message : String(e) } });
    throw e;
  }
}
