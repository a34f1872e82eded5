// From a restore point and the operator's choices to the VM the platform is asked to create
// (RST-1…5). Pure: the wizard's server-side checks and the restore job call the same function, so
// what the wizard showed is what runs.
//
//   keys     the VM home is encrypted when any disk is, or when a vTPM is kept (INV-2). "same key"
//            registers the VM with the saved keyId and encryption.bundle and its NVRAM as saved
//            (RST-5: Secure Boot state and the vTPM come back) when the point kept them and the
//            target site has that key provider; without a saved bundle it is CryptoSpecEncrypt with
//            the same key id (RST-4). "new key" asks the chosen provider for a new key: a generic
//            NVRAM, and the vTPM's contents are lost (said as a consequence).
//   networks each adapter the point recorded, mapped to a port group of the target host or left
//            disconnected (network-mapping.ts); its adapter type kept, a new MAC (the original VM
//            may still run), connected when mapped and connected at backup. A point made before
//            adapters were recorded restores without any, which is said.
//   policy   each encrypted home/disk carries the target site's VM encryption policy unless the
//            operator chose another; the platform checks datastore compatibility (RST-3/RST-4).

import type { InventorySnapshot, PlatformNic, PlatformVm } from "../../platform/connector";
import { networkMappingProblems, type NetworkChoice } from "../../platform/network-mapping";
import type { CreateVmRequest, HomeCryptoSpec, NewVmDisk, NewVmNic } from "../../platform/restore-host";
import { diskIdOf } from "./backup-vm";

/** What the backup kept about the VM (the point's attributes, BKP-4). */
export interface PointVmAttributes {
  vm: PlatformVm;
  encrypted: boolean;
  keyId?: string | null;
  keyProviderExternalId?: string | null;
  encryptionBundle?: string | null;
  /** base64 of the NVRAM file as stored. */
  nvram?: string | null;
  /** The VM's adapters at backup (`vm.nics`); false for a point made before they were recorded. */
  nicsRecorded: boolean;
}

export interface RestoreDiskChoice {
  /** The disk of the point (its device key at backup time). */
  deviceKey: number;
  datastoreExternalId: string;
  storagePolicyExternalId: string;
  encrypted: boolean;
}

export type RestoreKeyChoice = { kind: "same-key" } | { kind: "new-key"; keyProviderExternalId: string };

export interface VmRestoreChoices {
  siteExternalId: string;
  hostExternalId: string;
  name: string;
  folder: string;
  home: { datastoreExternalId: string; storagePolicyExternalId: string };
  /** The disks to restore (at least one); disks of the point not listed are not restored. */
  disks: RestoreDiskChoice[];
  /** For an encrypted home: the same key (RST-4/5) or a new one from a provider. */
  keys: RestoreKeyChoice;
  /** Each adapter of the point to a network of the target host, or null (disconnected). */
  networks?: NetworkChoice[];
}

export interface VmRestorePlan {
  request: CreateVmRequest;
  /** Target device key → the point's disk id. */
  disks: Array<{ deviceKey: number; sourceDiskId: string; label: string }>;
  /** Consequences to tell the operator before anything is written (RST-5). */
  consequences: string[];
  /** Whether NVRAM and vTPM come back as they were. */
  keepsNvram: boolean;
  keepsVtpm: boolean;
}

export class RestorePlanError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "RestorePlanError";
  }
}

export function planVmRestore(source: PointVmAttributes, choices: VmRestoreChoices, target: Pick<InventorySnapshot, "keyProviders" | "networks" | "hosts">): VmRestorePlan {
  const vm = source.vm;
  if (choices.disks.length === 0) throw new RestorePlanError("disks", "Choose at least one disk to restore.");
  const seen = new Set<number>();
  const disks: NewVmDisk[] = [];
  for (const c of choices.disks) {
    const d = vm.disks.find((x) => x.deviceKey === c.deviceKey);
    if (!d || seen.has(c.deviceKey)) throw new RestorePlanError("disks", `The restore point has no disk ${c.deviceKey} (or it is chosen twice).`);
    seen.add(c.deviceKey);
    disks.push({ deviceKey: d.deviceKey, label: d.label, capacityBytes: d.capacityBytes, datastoreExternalId: c.datastoreExternalId, storagePolicyExternalId: c.storagePolicyExternalId, encrypted: c.encrypted });
  }
  const anyEncrypted = disks.some((d) => d.encrypted);
  // A vTPM lives in the encrypted VM home: it is kept when the home stays encrypted.
  const homeEncrypted = anyEncrypted || (vm.vtpm && choices.keys.kind === "same-key" && source.encrypted);
  const consequences: string[] = [];
  let crypto: HomeCryptoSpec = { kind: "none" };
  let nvram: Buffer | undefined;
  let keepsNvram = false;
  if (homeEncrypted) {
    if (choices.keys.kind === "same-key") {
      const kp = source.keyProviderExternalId;
      if (!source.encrypted || !kp || !source.keyId) throw new RestorePlanError("keys", "The VM was not encrypted at backup time, so there is no original key: choose a key provider for a new key.");
      if (!target.keyProviders.some((k) => k.externalId === kp && k.siteExternalId === choices.siteExternalId)) {
        throw new RestorePlanError("keys", `The target site does not have the VM's key provider (${kp}), so the same key cannot be used: choose a new key from a provider of the target site.`);
      }
      if (source.encryptionBundle && source.nvram) {
        crypto = { kind: "saved-keys", keyProviderExternalId: kp, keyId: source.keyId, encryptionBundle: source.encryptionBundle };
        nvram = Buffer.from(source.nvram, "base64");
        keepsNvram = true;
      } else {
        crypto = { kind: "key-id", keyProviderExternalId: kp, keyId: source.keyId };
        consequences.push("The backup did not keep the VM's encryption.bundle and NVRAM: the VM gets the same key but a generic NVRAM. UEFI Secure Boot settings and the boot order may need to be set again.");
      }
    } else {
      const kp = choices.keys.keyProviderExternalId;
      if (!target.keyProviders.some((k) => k.externalId === kp && k.siteExternalId === choices.siteExternalId)) throw new RestorePlanError("keys", `Key provider ${kp} is not one of the target site's.`);
      crypto = { kind: "new-key", keyProviderExternalId: kp };
      if (source.encrypted) consequences.push("The VM is encrypted with a new key: it gets a generic NVRAM, so UEFI Secure Boot settings and the boot disk may need reconfiguring.");
    }
  } else if (source.encrypted) {
    consequences.push("The VM is restored unencrypted: its NVRAM was encrypted with the original keys, so it gets a generic NVRAM (UEFI Secure Boot settings and the boot disk may need reconfiguring).");
  }
  const keepsVtpm = vm.vtpm && homeEncrypted;
  if (vm.vtpm && !keepsVtpm) consequences.push("The VM's vTPM cannot be kept without VM encryption: it is left out, and whatever the guest sealed in it (BitLocker keys, credentials) is lost.");
  else if (vm.vtpm && !keepsNvram) consequences.push("The vTPM is added new: whatever the guest sealed in the old one (BitLocker keys, credentials) is lost.");

  const nics = planNics(source, choices, target);
  if (!source.nicsRecorded) consequences.push("This restore point was made before Strongroom recorded network adapters: the VM is restored without any. Add its adapters in vSphere after the restore.");

  const request: CreateVmRequest = {
    siteExternalId: choices.siteExternalId,
    hostExternalId: choices.hostExternalId,
    name: choices.name,
    folder: choices.folder,
    tenantExternalId: vm.tenantExternalId,
    guestOs: vm.guestOs,
    cpuCount: vm.cpuCount,
    memoryMiB: vm.memoryMiB,
    home: { ...choices.home, crypto },
    disks,
    nics,
    vtpm: keepsVtpm,
    nvram,
  };
  return { request, disks: disks.map((d) => ({ deviceKey: d.deviceKey, sourceDiskId: diskIdOf(d.deviceKey), label: d.label })), consequences, keepsNvram, keepsVtpm };
}

function planNics(source: PointVmAttributes, choices: VmRestoreChoices, target: Pick<InventorySnapshot, "networks" | "hosts">): NewVmNic[] {
  const nics: PlatformNic[] = source.vm.nics;
  const mapping = choices.networks ?? [];
  const host = target.hosts.find((h) => h.externalId === choices.hostExternalId && h.siteExternalId === choices.siteExternalId);
  const networks = target.networks.filter((n) => n.siteExternalId === choices.siteExternalId);
  const problem = networkMappingProblems(nics, mapping, networks, choices.hostExternalId, host?.name ?? choices.hostExternalId)[0];
  if (problem) throw new RestorePlanError(problem.nicDeviceKey === null ? "networks" : `networks.${problem.nicDeviceKey}`, problem.message);
  return nics.map((nic) => {
    const networkExternalId = mapping.find((m) => m.nicDeviceKey === nic.deviceKey)!.networkExternalId;
    return { deviceKey: nic.deviceKey, label: nic.label, adapterType: nic.adapterType, networkExternalId, connected: networkExternalId !== null && nic.connected };
  });
}

/** The point's attributes as the backup wrote them, checked (a point from another tool fails here). */
export function pointVmAttributes(attributes: Record<string, unknown>): PointVmAttributes {
  const vm = attributes.vm as PlatformVm | undefined;
  if (attributes.kind !== "vm" || !vm || typeof vm !== "object" || !Array.isArray(vm.disks)) throw new RestorePlanError("point", "The restore point does not describe a VM.");
  const str = (k: string) => (typeof attributes[k] === "string" ? (attributes[k] as string) : null);
  // Points made before adapters were recorded have no `nics`: they restore with none.
  const nicsRecorded = Array.isArray(vm.nics);
  const restored: PlatformVm = { ...vm, nics: nicsRecorded ? vm.nics : [] };
  return { vm: restored, encrypted: attributes.encrypted === true, keyId: str("keyId"), keyProviderExternalId: str("keyProviderExternalId"), encryptionBundle: str("encryptionBundle"), nvram: str("nvram"), nicsRecorded };
}
