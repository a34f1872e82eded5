// Restore tests need an encrypted (native key) two-disk VM that is running. In a full db run
// other files power VMs off, decrypt or re-key them, so the VM is made so rather than hoped for.
import type { PlatformVm } from "@/lib/platform/connector";
import { platform } from "@/lib/services/inventory/platform";

/** Undoes what encryptedTwoDiskVm changed (power, encryption), for the files that run after. */
export type UndoVm = () => Promise<void>;

export async function encryptedTwoDiskVm(o: { tenant?: boolean; undo?: (u: UndoVm) => void } = {}): Promise<PlatformVm> {
  const p = platform();
  const inv = await p.inventory();
  const native = (v: PlatformVm) => inv.keyProviders.find((k) => k.siteExternalId === v.siteExternalId && k.kind === "native");
  const fits = (v: PlatformVm) => v.disks.length >= 2 && !v.vtpm && !!native(v) && !v.name.startsWith("rst") && (!o.tenant || v.tenantExternalId !== null);
  const ready = inv.vms.find((v) => fits(v) && v.encrypted && v.keyProviderExternalId?.endsWith("-native"));
  let vm = ready ?? inv.vms.find((v) => fits(v) && !v.encrypted);
  if (!vm) throw new Error("the lab estate has no two-disk VM that can be encrypted with a native key");
  const id = vm.externalId;
  // Another file may have dedicated the site's native provider to another tenant: restores would
  // then (rightly) refuse it for this VM. Give it back to the site.
  const kp = native(vm)!;
  if (kp.tenantExternalId !== null && kp.tenantExternalId !== vm.tenantExternalId) await p.assignKeyProviderTenant(kp.siteExternalId, kp.externalId, null);
  const wasPower = (await p.vmRuntime(id)).powerState;
  const encryptedHere = !vm.encrypted;
  if (encryptedHere) {
    if (wasPower !== "poweredOff") await p.powerOff(id);
    await p.encryptVm(id, native(vm)!.externalId);
  }
  if ((await p.vmRuntime(id)).powerState !== "poweredOn") await p.powerOn(id);
  o.undo?.(async () => {
    const now = (await p.vmRuntime(id)).powerState;
    if (encryptedHere) {
      if (now !== "poweredOff") await p.powerOff(id);
      await p.decryptVm(id);
    }
    const after = (await p.vmRuntime(id)).powerState;
    if (after !== wasPower && wasPower !== "suspended") await (wasPower === "poweredOn" ? p.powerOn(id) : p.powerOff(id));
  });
  vm = (await p.inventory()).vms.find((v) => v.externalId === vm!.externalId)!;
  return vm;
}

/** The session a started restore queued; fails when it became a four-eyes request instead (SEC-2). */
export function sessionOf(started: { sessionId: string } | { approvalRequestId: string }): string {
  if (!("sessionId" in started)) throw new Error(`expected the restore to start, but it became approval request ${started.approvalRequestId}`);
  return started.sessionId;
}
