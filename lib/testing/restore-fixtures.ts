// Restore tests need an encrypted (native key) two-disk VM that is running. In a full db run
// other files power VMs off, decrypt or re-key them, so the VM is made so rather than hoped for.
import type { PlatformVm } from "@/lib/platform/connector";
import { platform } from "@/lib/services/inventory/platform";

export async function encryptedTwoDiskVm(o: { tenant?: boolean } = {}): Promise<PlatformVm> {
  const p = platform();
  const inv = await p.inventory();
  const native = (v: PlatformVm) => inv.keyProviders.find((k) => k.siteExternalId === v.siteExternalId && k.kind === "native");
  const fits = (v: PlatformVm) => v.disks.length >= 2 && !v.vtpm && !!native(v) && !v.name.startsWith("rst") && (!o.tenant || v.tenantExternalId !== null);
  const ready = inv.vms.find((v) => fits(v) && v.encrypted && v.keyProviderExternalId?.endsWith("-native"));
  let vm = ready ?? inv.vms.find((v) => fits(v) && !v.encrypted);
  if (!vm) throw new Error("the lab estate has no two-disk VM that can be encrypted with a native key");
  if (!vm.encrypted) {
    if ((await p.vmRuntime(vm.externalId)).powerState !== "poweredOff") await p.powerOff(vm.externalId);
    await p.encryptVm(vm.externalId, native(vm)!.externalId);
  }
  if ((await p.vmRuntime(vm.externalId)).powerState !== "poweredOn") await p.powerOn(vm.externalId);
  vm = (await p.inventory()).vms.find((v) => v.externalId === vm!.externalId)!;
  return vm;
}
