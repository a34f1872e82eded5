import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { parseInput } from "@/lib/errors/parse-input";
import type { GuestWriteResult } from "@/lib/platform/connector";
import { guestWritesSchema } from "@/lib/schemas/vm-operations";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "@/lib/services/inventory/platform";
import { platformCall } from "@/lib/services/inventory/platform-errors";
import { vmRef } from "./vm-ref";

/** The lab's simulated guest rewrites a share of its disks' blocks, so CBT has something to report (INV-4). */
export async function runGuestWrites(actor: Actor, raw: z.input<typeof guestWritesSchema>): Promise<GuestWriteResult> {
  authorize(actor, "vm:operate");
  const input = parseInput(guestWritesSchema, raw);
  const vm = await vmRef(input.vmId);
  const result = await platformCall(() => platform().guestWrites(vm.externalId, input.percent / 100));
  await recordAuditEvent({ actor, action: "vm.guest-writes", objectType: "vm", objectId: vm.id, outcome: "success", details: { vm: vm.name, percent: input.percent, changedBlocks: result.changedBlocks } });
  return result;
}
