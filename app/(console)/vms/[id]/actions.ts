"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { formatBytes } from "@/lib/format";
import { changeVmEncryptionSchema, guestWritesSchema, powerVmSchema } from "@/lib/schemas/vm-operations";
import { changeVmEncryption } from "@/lib/services/vms/change-vm-encryption";
import { powerVm } from "@/lib/services/vms/power-vm";
import { runGuestWrites } from "@/lib/services/vms/run-guest-writes";

export const powerVmAction = validatedAction("vm.power", powerVmSchema, async (actor, input) => {
  const r = await powerVm(actor, input);
  revalidatePath(`/vms/${input.vmId}`);
  return r.powerState === "poweredOn" ? "Powered on: the host has the VM's keys." : "Powered off.";
});

export const guestWritesAction = validatedAction("vm.guest-writes", guestWritesSchema, async (actor, input) => {
  const r = await runGuestWrites(actor, input);
  return `The guest rewrote ${r.changedBlocks} block(s), ${formatBytes(r.bytesWritten)}, in ${(r.durationMs / 1000).toFixed(1)} s. CBT recorded them.`;
});

export const changeVmEncryptionAction = validatedAction("vm.change-encryption", changeVmEncryptionSchema, async (actor, input) => {
  const r = await changeVmEncryption(actor, input);
  revalidatePath(`/vms/${input.vmId}`);
  if (input.action === "decrypt") return "The VM is no longer encrypted.";
  return `The VM is encrypted with key ${r.keyId} of ${r.keyProviderExternalId}.`;
});
