// The lab's virtual machines: which VMs exist (planVms), where they run and how they are encrypted
// (buildVms), and how big the datastores must be to hold them (sizeDatastores).

import type { PlatformDatastore, PlatformDisk, PlatformHost, PlatformVm, PowerState } from "../connector";
import { CORE_VMS, OWNERS, type OwnerKey, type SiteKey, type VmSpec } from "./estate-catalogue";
import type { SiteLayout } from "./estate-infra";
import type { MorefAllocator, Rng } from "./random";

export const GiB = 2 ** 30;
export const TiB = 2 ** 40;

/** Share of generated (non-core) VMs that run at the DR site. */
const DR_SHARE = 0.15;
/** Chance that a data disk lives on another datastore than the VM home (a log or scratch volume). */
const SPLIT_DISK_CHANCE = 0.25;
const POWER_WEIGHTS: Record<PowerState, number> = { poweredOn: 85, poweredOff: 12, suspended: 3 };
const FIRST_DISK_KEY = 2000; // vSphere numbers SCSI disks 2000, 2001, …

/** The core catalogue first, then VMs drawn from each owner's profile. */
export function planVms(vmCount: number, rng: Rng): VmSpec[] {
  const specs = CORE_VMS.slice(0, vmCount);
  const shares = Object.fromEntries(Object.entries(OWNERS).map(([key, o]) => [key, o.share])) as Record<OwnerKey, number>;
  while (specs.length < vmCount) {
    const owner = rng.weighted(shares);
    const profile = OWNERS[owner];
    const protection = rng.weighted(profile.protectionWeights);
    const encrypted = protection !== "plain" && protection !== "plain-guest";
    specs.push({
      owner,
      role: rng.pick(Object.keys(profile.roles)),
      site: rng.chance(DR_SHARE) ? "dr" : "prod",
      protection,
      // Tenants always use their own KMS; the provider splits its VMs between its KMS and native.
      ...(owner === "provider" && encrypted && rng.chance(0.5) ? { native: true } : {}),
    });
  }
  return specs;
}

/** Key ids must never repeat: a repeated KEK id would make two VMs share a key by accident. */
class KeyIds {
  private readonly seen = new Set<string>();
  constructor(private readonly rng: Rng) {}
  next(): string {
    let id = this.rng.uuid();
    while (this.seen.has(id)) id = this.rng.uuid();
    this.seen.add(id);
    return id;
  }
}

export function buildVms(specs: readonly VmSpec[], layouts: Record<SiteKey, SiteLayout>, ids: MorefAllocator, rng: Rng): PlatformVm[] {
  const nameCounters = new Map<string, number>();
  const keyIds = new KeyIds(rng.fork("key-ids"));
  return specs.map((spec) => {
    const owner = OWNERS[spec.owner];
    const profile = owner.roles[spec.role];
    const layout = layouts[spec.site];
    const base = `${owner.prefix}-${spec.role}`;
    const n = (nameCounters.get(base) ?? 0) + 1;
    nameCounters.set(base, n);
    const name = `${base}-${String(n).padStart(2, "0")}`;

    const encrypted = spec.protection.startsWith("vme") || spec.protection.startsWith("vtpm");
    const keyProvider = !encrypted
      ? null
      : spec.owner === "provider"
        ? layout.keyProviders[spec.native ? "native" : "provider"]
        : layout.keyProviders[spec.owner];
    const host = rng.pick(layout.runnableHosts);
    const candidates = reachableDatastores(layout, host, encrypted);
    const home = rng.pick(candidates);
    const policyFor = (ds: PlatformDatastore) => (encrypted ? layout.policies.encryption : defaultPolicy(layout, ds)).externalId;
    const externalId = ids.next("vm");

    const diskCount = rng.int(profile.diskCount[0], profile.diskCount[1]);
    const disks: PlatformDisk[] = [];
    for (let i = 0; i < diskCount; i++) {
      const ds = i > 0 && rng.chance(SPLIT_DISK_CHANCE) ? rng.pick(candidates) : home;
      const sizes = i === 0 || profile.dataDiskGiB.length === 0 ? profile.systemDiskGiB : profile.dataDiskGiB;
      disks.push({
        externalId: `${externalId}:${FIRST_DISK_KEY + i}`,
        label: `Hard disk ${i + 1}`,
        deviceKey: FIRST_DISK_KEY + i,
        capacityBytes: rng.pick(sizes) * GiB,
        datastoreExternalId: ds.externalId,
        storagePolicyExternalId: policyFor(ds),
        fileName: `[${ds.name}] ${name}/${name}${i === 0 ? "" : `_${i}`}.vmdk`,
        encrypted,
        keyId: encrypted ? keyIds.next() : null,
      });
    }

    return {
      externalId,
      siteExternalId: layout.site.externalId,
      hostExternalId: host.externalId,
      tenantExternalId: owner.tenant?.externalId ?? null,
      name,
      folder: `${owner.folderRoot}/${profile.folder}`,
      guestOs: rng.pick(profile.guestOs),
      powerState: rng.weighted(POWER_WEIGHTS),
      cpuCount: rng.pick(profile.cpu),
      memoryMiB: rng.pick(profile.memoryGiB) * 1024,
      homeDatastoreExternalId: home.externalId,
      homeStoragePolicyExternalId: policyFor(home),
      encrypted,
      keyProviderExternalId: keyProvider?.externalId ?? null,
      keyId: encrypted ? keyIds.next() : null,
      hasEncryptionBundle: encrypted,
      vtpm: spec.protection.startsWith("vtpm"),
      guestOsEncrypted: spec.protection.endsWith("-guest"),
      disks,
      nics: [], // estate-networks.ts assigns them once every VM is placed
    };
  });
}

/**
 * Datastores a VM on this host can use: vSAN only within the host's own cluster; for an encrypted
 * VM, only datastores compatible with the site's VM Encryption Policy (INV-3).
 */
export function reachableDatastores(layout: SiteLayout, host: PlatformHost, encrypted: boolean): PlatformDatastore[] {
  const encryptionPolicy = layout.policies.encryption.externalId;
  return layout.datastores.filter(
    (ds) =>
      (ds.type !== "vSAN" || layout.vsanCluster.get(ds.externalId) === host.cluster) &&
      (!encrypted || ds.compatiblePolicyExternalIds.includes(encryptionPolicy)),
  );
}

/** The policy vSphere applies to an unencrypted VM on this datastore. */
function defaultPolicy(layout: SiteLayout, ds: PlatformDatastore) {
  if (ds.type === "vSAN") return layout.policies.vsanDefault;
  if (ds.type === "vVol") return layout.policies.vvolDefault;
  return layout.policies.datastoreDefault;
}

const MIN_CAPACITY_TIB: Record<PlatformDatastore["type"], number> = { vSAN: 16, VMFS: 4, NFS: 8, vVol: 10 };
const MAX_VMFS_TIB = 64; // VMFS 6's volume limit

/**
 * Sizes every datastore around what was placed on it, so free space always agrees with the disks
 * (thick-provisioned, for simplicity), the VM homes (configuration plus swap or suspend file) and a
 * little of everything else a datastore collects (ISOs, templates, logs).
 */
export function sizeDatastores(datastores: PlatformDatastore[], vms: readonly PlatformVm[], rng: Rng): void {
  const used = new Map<string, number>();
  const addUse = (id: string, bytes: number) => used.set(id, (used.get(id) ?? 0) + bytes);
  for (const vm of vms) {
    const memoryBytes = vm.powerState === "poweredOff" ? 0 : vm.memoryMiB * 2 ** 20;
    addUse(vm.homeDatastoreExternalId, GiB + memoryBytes);
    for (const disk of vm.disks) addUse(disk.datastoreExternalId, disk.capacityBytes);
  }
  for (const ds of datastores) {
    const vmBytes = used.get(ds.externalId) ?? 0;
    const targetFill = 0.35 + rng.float() * 0.45; // 35–80 % full with VMs
    let tib = Math.max(MIN_CAPACITY_TIB[ds.type], Math.ceil(vmBytes / targetFill / TiB));
    // Never past the VMFS limit, unless the VMs alone need it (they never do at 40 VMs per datastore).
    if (ds.type === "VMFS") tib = Math.max(Math.min(tib, MAX_VMFS_TIB), Math.ceil(vmBytes / 0.9 / TiB));
    ds.capacityBytes = tib * TiB;
    const otherBytes = Math.floor(Math.min(ds.capacityBytes - vmBytes, ds.capacityBytes * (0.01 + rng.float() * 0.05)));
    ds.freeBytes = ds.capacityBytes - vmBytes - otherBytes;
  }
}
