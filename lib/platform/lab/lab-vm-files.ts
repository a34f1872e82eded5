// A lab VM's files seen from the estate: creating them from the VM's inventory record (sparse
// disks at its capacities, on its datastores), describing them as a VmRuntime, and reading the
// .vmx of many VMs for the inventory. No state of its own: lab-runtime.ts decides when.

import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { PlatformNic, PlatformVm, PowerState, VmRuntime } from "../connector";
import { CBT_BLOCK_SIZE, parseVmx, resolveDatastorePath, type KeyEncryptionKeySource, type LabDataPlane, type LabVm } from "./data-plane";
import { summarizeVmx, type EstateIndex, type VmFilesSummary } from "./lab-estate-index";

/**
 * Creates the VM's files, encrypted under a new KEK of `source` if given. On failure nothing is
 * left: the VM's folders are removed unless the VM got registered (names are unique in the estate,
 * so `<datastore>/<vm name>/` belongs to this VM alone). Leftovers of an interrupted earlier
 * creation are removed first for the same reason.
 */
export async function createVmFiles(
  dataPlane: LabDataPlane,
  index: EstateIndex,
  vm: PlatformVm,
  source: KeyEncryptionKeySource | null,
  /** A restore's keys (RST-4/RST-5): an existing key id, or the saved bundle; and the saved NVRAM file. */
  restore: { keyId?: string; bundle?: string; nvramFile?: Buffer } = {},
): Promise<LabVm> {
  const ds = (id: string) => index.datastore(id).name;
  const disks = vm.disks.map((d) => ({ deviceKey: d.deviceKey, capacityBytes: d.capacityBytes, datastore: ds(d.datastoreExternalId), label: d.label, encrypted: d.encrypted }));
  const homeDatastore = ds(vm.homeDatastoreExternalId);
  const dirs = [...new Set([homeDatastore, ...disks.map((d) => d.datastore)])].map((d) => path.join(dataPlane.datastoresRoot, d, vm.name));
  const removeUnregistered = async () => {
    if ((await dataPlane.vmIds()).includes(vm.externalId)) return;
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  };
  await removeUnregistered();
  try {
    return await dataPlane.createVm({
      vmId: vm.externalId,
      name: vm.name,
      homeDatastore,
      disks,
      vtpm: vm.vtpm,
      encryption: source ? { source, keyId: restore.keyId, bundle: restore.bundle } : undefined,
      nvramFile: restore.nvramFile,
      seed: vm.externalId,
    });
  } catch (err) {
    await removeUnregistered(); // no partial VM: e.g. the KMS went away between Create and Get
    throw err;
  }
}

/** The VM's runtime view: from its files when it has them, else from the estate. */
export function describeVm(vm: PlatformVm, labVm: LabVm | null, powerState: PowerState): VmRuntime {
  if (!labVm) {
    const disks = vm.disks.map((d) => ({ deviceKey: d.deviceKey, capacityBytes: d.capacityBytes, allocatedBytes: 0, encrypted: d.encrypted, changeId: null }));
    return { vmExternalId: vm.externalId, powerState, hasFiles: false, encrypted: vm.encrypted, keyProviderExternalId: vm.keyProviderExternalId, keyId: vm.keyId, disks, nics: nicsOf(vm) };
  }
  const cfg = labVm.config;
  const disks = cfg.disks.map((d) => {
    const disk = labVm.disk(d.deviceKey);
    const allocatedBytes = disk.allocatedBlocks("live").reduce((sum, b) => sum + Math.min(CBT_BLOCK_SIZE, disk.capacityBytes - b * CBT_BLOCK_SIZE), 0);
    return { deviceKey: d.deviceKey, capacityBytes: disk.capacityBytes, allocatedBytes, encrypted: disk.encrypted, changeId: disk.tracker.currentChangeId() };
  });
  return { vmExternalId: vm.externalId, powerState, hasFiles: true, encrypted: cfg.encrypted, keyProviderExternalId: cfg.keyProviderId, keyId: cfg.keyId, disks, nics: nicsOf(vm) };
}

/** The lab keeps a VM's adapters in its inventory record (the estate's, or lab-state.json for created VMs), not in the .vmx. */
function nicsOf(vm: PlatformVm): PlatformNic[] {
  return (vm.nics ?? []).map((n) => ({ ...n }));
}

/** Reads the .vmx of each VM into `into`; an unreadable one is skipped (the inventory shows the estate's view). */
export async function readVmxSummaries(dataPlane: LabDataPlane, index: EstateIndex, ids: readonly string[], into: Map<string, VmFilesSummary>): Promise<void> {
  // In batches: 10 000 VMs with files must not mean 10 000 open files at once.
  for (let i = 0; i < ids.length; i += 64) {
    await Promise.all(
      ids.slice(i, i + 64).map(async (id) => {
        const vm = index.vm(id);
        const vmx = `[${index.datastore(vm.homeDatastoreExternalId).name}] ${vm.name}/${vm.name}.vmx`;
        try {
          into.set(id, summarizeVmx(parseVmx(await readFile(resolveDatastorePath(dataPlane.datastoresRoot, vmx).file, "utf8"), vmx)));
        } catch {
          // operations on the VM report the fault
        }
      }),
    );
  }
}
