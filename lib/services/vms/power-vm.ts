import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { parseInput } from "@/lib/errors/parse-input";
import type { VmRuntime } from "@/lib/platform/connector";
import { powerVmSchema } from "@/lib/schemas/vm-operations";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "@/lib/services/inventory/platform";
import { platformCall } from "@/lib/services/inventory/platform-errors";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import { vmRef } from "./vm-ref";

/** Power a VM on or off. An encrypted VM whose KMS cannot be reached does not power on (VME-3). */
export async function powerVm(actor: Actor, raw: z.input<typeof powerVmSchema>): Promise<VmRuntime> {
  authorize(actor, "vm:operate");
  const input = parseInput(powerVmSchema, raw);
  const vm = await vmRef(input.vmId);
  const action = input.action === "on" ? "vm.power-on" : "vm.power-off";
  try {
    const runtime = await platformCall(() => (input.action === "on" ? platform().powerOn(vm.externalId) : platform().powerOff(vm.externalId)));
    await syncInventoryFromPlatform();
    await recordAuditEvent({ actor, action, objectType: "vm", objectId: vm.id, outcome: "success", details: { vm: vm.name } });
    return runtime;
  } catch (e) {
    await recordAuditEvent({ actor, action, objectType: "vm", objectId: vm.id, outcome: "failure", details: { vm: vm.name, error: e instanceof Error ? e.message : String(e) } });
    throw e;
  }
}
