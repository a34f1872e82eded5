import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { parseInput } from "@/lib/errors/parse-input";
import type { VmRuntime } from "@/lib/platform/connector";
import { idSchema } from "@/lib/schemas/inventory";
import { platform } from "@/lib/services/inventory/platform";
import { platformCall } from "@/lib/services/inventory/platform-errors";
import { vmRef } from "./vm-ref";

/** Live state of a VM from the platform: power, files, per-disk written bytes and CBT change id. */
export async function getVmRuntime(actor: Actor, rawVmId: unknown): Promise<VmRuntime> {
  authorize(actor, "inventory:read");
  const vm = await vmRef(parseInput(idSchema, rawVmId));
  return platformCall(() => platform().vmRuntime(vm.externalId));
}
