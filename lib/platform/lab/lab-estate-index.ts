// Lookups into the generated estate for the lab's runtime (which VM, datastore, key provider,
// storage policy), and how a VM's real state — power, and for VMs with files their .vmx — shows
// in the inventory. Only VMs the lab touched have overrides, so inventory() patches a handful of
// VMs of a 10 000-VM estate, not every one.

import type { InventorySnapshot, PlatformDatastore, PlatformKeyProvider, PlatformVm, PowerState } from "../connector";
import { HostError, type VmConfig } from "./data-plane";

/** What a VM's .vmx says about its encryption and disks (VME-2). */
export interface VmFilesSummary {
  encrypted: boolean;
  keyProviderExternalId: string | null;
  keyId: string | null;
  hasEncryptionBundle: boolean;
  disks: Map<number, { fileName: string; encrypted: boolean }>;
}

export interface VmOverride {
  powerState?: PowerState;
  files?: VmFilesSummary;
}

export function summarizeVmx(cfg: Readonly<VmConfig>): VmFilesSummary {
  return {
    encrypted: cfg.encrypted,
    keyProviderExternalId: cfg.keyProviderId,
    keyId: cfg.keyId,
    hasEncryptionBundle: cfg.encryptionBundle !== null,
    disks: new Map(cfg.disks.map((d) => [d.deviceKey, { fileName: d.fileName, encrypted: d.encrypted }])),
  };
}

// Storage policy names as estate-infra.ts builds them.
const ENCRYPTION_POLICY = "VM Encryption Policy";
const DEFAULT_POLICY: Record<PlatformDatastore["type"], string> = {
  vSAN: "vSAN Default Storage Policy",
  vVol: "VVol No Requirements Policy",
  VMFS: "Datastore Default",
  NFS: "Datastore Default",
};

export class EstateIndex {
  private readonly vms: Map<string, PlatformVm>;
  private readonly datastores: Map<string, PlatformDatastore>;
  private readonly keyProviders: Map<string, PlatformKeyProvider>;
  private readonly policyIds = new Map<string, string>(); // "<site>|<name>" → id

  constructor(readonly estate: InventorySnapshot) {
    this.vms = new Map(estate.vms.map((v) => [v.externalId, v]));
    this.datastores = new Map(estate.datastores.map((d) => [d.externalId, d]));
    this.keyProviders = new Map(estate.keyProviders.map((k) => [k.externalId, k]));
    for (const p of estate.storagePolicies) this.policyIds.set(`${p.siteExternalId}|${p.name}`, p.externalId);
  }

  /** Adds (or replaces) a VM created at run time; the inventory shows it from now on. */
  addVm(vm: PlatformVm): void {
    if (this.vms.has(vm.externalId)) this.estate.vms = this.estate.vms.map((v) => (v.externalId === vm.externalId ? vm : v));
    else this.estate.vms.push(vm);
    this.vms.set(vm.externalId, vm);
  }

  /** Forgets a deleted VM (created at run time or of the estate). */
  removeVm(vmExternalId: string): void {
    if (!this.vms.delete(vmExternalId)) return;
    this.estate.vms = this.estate.vms.filter((v) => v.externalId !== vmExternalId);
  }

  /** Every VM of the lab now (estate and created). */
  allVms(): readonly PlatformVm[] {
    return this.estate.vms;
  }

  findVm(vmExternalId: string): PlatformVm | undefined {
    return this.vms.get(vmExternalId);
  }

  vm(vmExternalId: string): PlatformVm {
    const vm = this.vms.get(vmExternalId);
    if (!vm) throw new HostError("NotFound", `no VM ${vmExternalId} in the lab`);
    return vm;
  }

  /** The estate's datastores (their free space as generated). */
  allDatastores(): readonly PlatformDatastore[] {
    return this.estate.datastores;
  }

  datastore(externalId: string): PlatformDatastore {
    const ds = this.datastores.get(externalId);
    if (!ds) throw new Error(`the estate names datastore ${externalId} but does not have it`);
    return ds;
  }

  /** A key provider the VM's site knows (a VM can only use its own vCenter's providers). */
  keyProviderFor(vm: PlatformVm, keyProviderExternalId: string): PlatformKeyProvider {
    const kp = this.keyProviders.get(keyProviderExternalId);
    if (!kp) throw new HostError("NotFound", `no key provider ${keyProviderExternalId} in the lab`);
    if (kp.siteExternalId !== vm.siteExternalId) {
      throw new HostError("InvalidArgument", `key provider ${kp.name} belongs to ${kp.siteExternalId}, VM ${vm.name} to ${vm.siteExternalId}`);
    }
    return kp;
  }

  encryptionPolicyId(siteExternalId: string): string {
    const id = this.policyIds.get(`${siteExternalId}|${ENCRYPTION_POLICY}`);
    if (!id) throw new Error(`site ${siteExternalId} has no ${ENCRYPTION_POLICY}`);
    return id;
  }

  /** Datastores of the VM that cannot hold encrypted VMs (INV-3): encryptVm refuses them. */
  incompatibleWithEncryption(vm: PlatformVm): PlatformDatastore[] {
    const policy = this.encryptionPolicyId(vm.siteExternalId);
    const ids = new Set([vm.homeDatastoreExternalId, ...vm.disks.map((d) => d.datastoreExternalId)]);
    return [...ids].map((id) => this.datastore(id)).filter((ds) => !ds.compatiblePolicyExternalIds.includes(policy));
  }

  /** The VM as the inventory shows it with its real state applied. */
  patch(vm: PlatformVm, o: VmOverride): PlatformVm {
    const out: PlatformVm = { ...vm, disks: vm.disks.map((d) => ({ ...d })) };
    if (o.powerState) out.powerState = o.powerState;
    const f = o.files;
    if (!f) return out;
    out.encrypted = f.encrypted;
    out.keyProviderExternalId = f.keyProviderExternalId;
    out.keyId = f.keyId;
    out.hasEncryptionBundle = f.hasEncryptionBundle;
    // Encrypting or decrypting a VM is applying or removing the VM Encryption Policy (INV-3).
    const policyChanged = f.encrypted !== vm.encrypted;
    const policyFor = (dsId: string, current: string) =>
      !policyChanged ? current : f.encrypted ? this.encryptionPolicyId(vm.siteExternalId) : this.defaultPolicyId(vm.siteExternalId, dsId);
    out.homeStoragePolicyExternalId = policyFor(vm.homeDatastoreExternalId, vm.homeStoragePolicyExternalId);
    for (const d of out.disks) {
      const real = f.disks.get(d.deviceKey);
      if (!real) continue;
      d.fileName = real.fileName;
      d.encrypted = real.encrypted;
      // The data plane wraps every disk key under the VM key: the disks' key chain starts at the VM's KEK.
      d.keyId = real.encrypted ? f.keyId : null;
      d.storagePolicyExternalId = policyFor(d.datastoreExternalId, d.storagePolicyExternalId);
    }
    return out;
  }

  private defaultPolicyId(siteExternalId: string, datastoreExternalId: string): string {
    const name = DEFAULT_POLICY[this.datastore(datastoreExternalId).type];
    const id = this.policyIds.get(`${siteExternalId}|${name}`);
    if (!id) throw new Error(`site ${siteExternalId} has no ${name}`);
    return id;
  }
}
