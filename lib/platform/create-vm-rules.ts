// What vSphere checks before it creates a VM (CreateVM_Task with a crypto spec), as one pure
// function both connectors call, so the lab and the memory connector refuse alike and the contract
// suite can hold them to it. It answers the VM record to register, or throws the HostError vSphere
// would answer — before anything exists (see restore-host.ts for the order).

import { randomBytes } from "node:crypto";
import { NIC_ADAPTER_TYPES, type InventorySnapshot, type PlatformDatastore, type PlatformNic, type PlatformStoragePolicy, type PlatformVm } from "./connector";
import { SECTOR_SIZE } from "./disk-io";
import { HostError } from "./errors";
import { spaceNeeded, type AttachDiskRequest, type CreateVmRequest } from "./restore-host";

/** VM names the lab can use as folder and file names; vSphere allows more, this is the common subset. */
const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
const MAX_DISKS = 16;
/** vSphere's limit of network adapters per VM. */
export const MAX_NICS = 10;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export interface PlannedVm {
  vm: PlatformVm;
  /** Datastore → bytes the disks take. */
  space: Map<string, number>;
}

/**
 * Checks `request` against the inventory as it is now and answers the new VM's record (powered off,
 * key id null until the platform creates or applies the key). `freeBytes` answers a datastore's free
 * space (the inventory's figure, less what VMs created since take).
 */
export function planNewVm(request: CreateVmRequest, inventory: InventorySnapshot, newExternalId: string, freeBytes: (ds: PlatformDatastore) => number = (ds) => ds.freeBytes): PlannedVm {
  const r = request;
  const site = inventory.sites.find((s) => s.externalId === r.siteExternalId);
  if (!site) throw new HostError("NotFound", `no site ${r.siteExternalId}`);
  const host = inventory.hosts.find((h) => h.externalId === r.hostExternalId && h.siteExternalId === site.externalId);
  if (!host) throw new HostError("NotFound", `no host ${r.hostExternalId} in ${site.name}`);
  if (host.connectionState !== "connected") throw new HostError("InvalidState", `host ${host.name} is ${host.connectionState === "maintenance" ? "in maintenance mode" : "disconnected"}: pick another host`);
  if (!VM_NAME.test(r.name)) throw new HostError("InvalidArgument", `"${r.name}" is not a usable VM name: use letters, digits, dot, dash or underscore (up to 80), starting with a letter or digit`);
  if (!r.folder.startsWith("/")) throw new HostError("InvalidArgument", `the folder "${r.folder}" must be a path starting with /`);
  if (!(Number.isInteger(r.cpuCount) && r.cpuCount >= 1 && r.cpuCount <= 768)) throw new HostError("InvalidArgument", `cpuCount ${r.cpuCount} is out of range`);
  if (!(Number.isInteger(r.memoryMiB) && r.memoryMiB >= 4 && r.memoryMiB <= 24 * 1024 * 1024)) throw new HostError("InvalidArgument", `memoryMiB ${r.memoryMiB} is out of range`);
  if (r.disks.length < 1 || r.disks.length > MAX_DISKS) throw new HostError("InvalidArgument", `a VM has 1 to ${MAX_DISKS} disks, not ${r.disks.length}`);
  const keys = new Set<number>();
  for (const d of r.disks) {
    if (!Number.isInteger(d.deviceKey) || d.deviceKey < 0 || keys.has(d.deviceKey)) throw new HostError("InvalidArgument", `disk device key ${d.deviceKey} is invalid or given twice`);
    keys.add(d.deviceKey);
    if (!(Number.isSafeInteger(d.capacityBytes) && d.capacityBytes > 0 && d.capacityBytes % SECTOR_SIZE === 0)) {
      throw new HostError("InvalidArgument", `${d.label}: capacity ${d.capacityBytes} must be a positive multiple of ${SECTOR_SIZE} bytes`);
    }
  }

  const nics = planNics(r, inventory, site.name, host.name, keys);

  const datastore = (id: string, what: string) => {
    const ds = inventory.datastores.find((x) => x.externalId === id && x.siteExternalId === site.externalId);
    if (!ds) throw new HostError("NotFound", `${what}: no datastore ${id} in ${site.name}`);
    return ds;
  };
  const policy = (id: string, what: string) => {
    const p = inventory.storagePolicies.find((x) => x.externalId === id && x.siteExternalId === site.externalId);
    if (!p) throw new HostError("NotFound", `${what}: no storage policy ${id} in ${site.name}`);
    return p;
  };
  const crypto = r.home.crypto;
  const encryptedHome = crypto.kind !== "none";
  if (crypto.kind !== "none") {
    const kpId = crypto.keyProviderExternalId;
    if (!inventory.keyProviders.some((k) => k.externalId === kpId && k.siteExternalId === site.externalId)) {
      throw new HostError("NotFound", `no key provider ${kpId} in ${site.name}`);
    }
  }
  // INV-3 / RST-3: encryption is applied by the VM Encryption Policy, and only datastores compatible
  // with it can hold an encrypted home or disk; an unencrypted one must not carry that policy.
  const placement = (what: string, ds: PlatformDatastore, p: PlatformStoragePolicy, encrypted: boolean) => {
    if (!ds.compatiblePolicyExternalIds.includes(p.externalId)) {
      throw new HostError("InvalidArgument", `${what}: datastore ${ds.name} is not compatible with the storage policy ${p.name}`);
    }
    if (encrypted && !p.encryption) throw new HostError("InvalidArgument", `${what} is to be encrypted, so it needs a storage policy with the VM encryption rule, not ${p.name}`);
    if (!encrypted && p.encryption) throw new HostError("InvalidArgument", `${what} is to be unencrypted, but ${p.name} encrypts: pick a policy without the VM encryption rule`);
  };
  const homeDs = datastore(r.home.datastoreExternalId, "VM home");
  placement("The VM home", homeDs, policy(r.home.storagePolicyExternalId, "VM home"), encryptedHome);
  for (const d of r.disks) {
    const ds = datastore(d.datastoreExternalId, d.label);
    placement(d.label, ds, policy(d.storagePolicyExternalId, d.label), d.encrypted);
    if (d.encrypted && !encryptedHome) throw new HostError("InvalidArgument", `${d.label} is to be encrypted, which needs an encrypted VM home`);
  }
  if (r.vtpm && !encryptedHome) throw new HostError("InvalidArgument", "a vTPM needs an encrypted VM (the VM home must be encrypted)");
  if (r.nvram && (r.home.crypto.kind === "new-key" || r.home.crypto.kind === "key-id")) {
    throw new HostError("InvalidArgument", "a saved NVRAM opens only with the saved keys (keyId and encryption.bundle); with a new key the VM gets a generic NVRAM");
  }

  const clash = inventory.vms.find((v) => v.siteExternalId === site.externalId && v.folder === r.folder && v.name === r.name);
  if (clash) throw new HostError("DuplicateName", `a VM named ${r.name} already exists in ${r.folder} (${clash.externalId})`);
  const space = spaceNeeded(r);
  for (const [dsId, bytes] of space) {
    const ds = datastore(dsId, "disks");
    const free = freeBytes(ds);
    if (bytes > free) throw new HostError("InsufficientSpace", `datastore ${ds.name} has ${gib(free)} free, the disks need ${gib(bytes)}`);
  }

  const vm: PlatformVm = {
    externalId: newExternalId,
    siteExternalId: site.externalId,
    hostExternalId: host.externalId,
    tenantExternalId: r.tenantExternalId,
    name: r.name,
    folder: r.folder,
    guestOs: r.guestOs,
    powerState: "poweredOff",
    cpuCount: r.cpuCount,
    memoryMiB: r.memoryMiB,
    homeDatastoreExternalId: homeDs.externalId,
    homeStoragePolicyExternalId: r.home.storagePolicyExternalId,
    encrypted: encryptedHome,
    keyProviderExternalId: crypto.kind === "none" ? null : crypto.keyProviderExternalId,
    keyId: null,
    hasEncryptionBundle: encryptedHome,
    vtpm: r.vtpm,
    guestOsEncrypted: false,
    disks: r.disks.map((d, i) => ({
      externalId: `${newExternalId}:${d.deviceKey}`,
      label: d.label,
      deviceKey: d.deviceKey,
      capacityBytes: d.capacityBytes,
      datastoreExternalId: d.datastoreExternalId,
      storagePolicyExternalId: d.storagePolicyExternalId,
      fileName: `[${datastore(d.datastoreExternalId, d.label).name}] ${r.name}/${r.name}${i === 0 ? "" : `_${i}`}.vmdk`,
      encrypted: d.encrypted,
      keyId: null,
    })),
    nics,
  };
  return { vm, space };
}

/**
 * What vSphere checks before it adds a disk to an existing VM (ReconfigVM_Task with a disk add and
 * a crypto spec, RST-7), as one pure function both connectors call. Answers the VM's record with
 * the disk in place (replacing the one of that device key when asked), or throws the HostError
 * vSphere would answer — before anything changes. The caller checks the power state.
 */
export function planAttachDisk(request: AttachDiskRequest, vm: PlatformVm, inventory: InventorySnapshot, freeBytes: (ds: PlatformDatastore) => number = (ds) => ds.freeBytes): PlatformVm {
  const d = request.disk;
  const what = `${vm.name} / ${d.label}`;
  if (!Number.isInteger(d.deviceKey) || d.deviceKey < 0) throw new HostError("InvalidArgument", `disk device key ${d.deviceKey} is invalid`);
  if (!(Number.isSafeInteger(d.capacityBytes) && d.capacityBytes > 0 && d.capacityBytes % SECTOR_SIZE === 0)) {
    throw new HostError("InvalidArgument", `${what}: capacity ${d.capacityBytes} must be a positive multiple of ${SECTOR_SIZE} bytes`);
  }
  const existing = vm.disks.find((x) => x.deviceKey === d.deviceKey);
  if (request.replace && !existing) throw new HostError("NotFound", `${vm.name} has no disk ${d.deviceKey} to replace`);
  if (!request.replace && existing) throw new HostError("InvalidArgument", `${vm.name} already has disk ${d.deviceKey} (${existing.label}): replace it or add the disk under another device key`);
  if (!request.replace && vm.disks.length >= MAX_DISKS) throw new HostError("InvalidArgument", `${vm.name} has ${vm.disks.length} disks, the most a VM can have`);
  const ds = inventory.datastores.find((x) => x.externalId === d.datastoreExternalId && x.siteExternalId === vm.siteExternalId);
  if (!ds) throw new HostError("NotFound", `${what}: no datastore ${d.datastoreExternalId} on the VM's site`);
  const p = inventory.storagePolicies.find((x) => x.externalId === d.storagePolicyExternalId && x.siteExternalId === vm.siteExternalId);
  if (!p) throw new HostError("NotFound", `${what}: no storage policy ${d.storagePolicyExternalId} on the VM's site`);
  // RST-3 / INV-3: an encrypted disk only on an encrypted VM, on a datastore under the VM Encryption Policy.
  if (d.encrypted && !vm.encrypted) throw new HostError("InvalidArgument", `${what} is to be encrypted, but ${vm.name} is not encrypted: an encrypted disk needs an encrypted VM (restore it unencrypted, or encrypt the VM first)`);
  if (!ds.compatiblePolicyExternalIds.includes(p.externalId)) throw new HostError("InvalidArgument", `${what}: datastore ${ds.name} is not compatible with the storage policy ${p.name}`);
  if (d.encrypted && !p.encryption) throw new HostError("InvalidArgument", `${what} is to be encrypted, so it needs a storage policy with the VM encryption rule, not ${p.name}`);
  if (!d.encrypted && p.encryption) throw new HostError("InvalidArgument", `${what} is to be unencrypted, but ${p.name} encrypts: pick a policy without the VM encryption rule`);
  // The replaced disk's space comes back only when it was on the same datastore.
  const freed = existing && existing.datastoreExternalId === ds.externalId ? existing.capacityBytes : 0;
  const free = freeBytes(ds) + freed;
  if (d.capacityBytes > free) throw new HostError("InsufficientSpace", `datastore ${ds.name} has ${gib(free)} free, ${d.label} needs ${gib(d.capacityBytes)}`);
  const disk: PlatformVm["disks"][number] = {
    externalId: `${vm.externalId}:${d.deviceKey}`,
    label: d.label,
    deviceKey: d.deviceKey,
    capacityBytes: d.capacityBytes,
    datastoreExternalId: ds.externalId,
    storagePolicyExternalId: p.externalId,
    fileName: `[${ds.name}] ${vm.name}/${vm.name}_r${d.deviceKey}.vmdk`,
    encrypted: d.encrypted,
    keyId: d.encrypted ? vm.keyId : null,
  };
  const disks = request.replace ? vm.disks.map((x) => (x.deviceKey === d.deviceKey ? disk : x)) : [...vm.disks, disk].sort((a, b) => a.deviceKey - b.deviceKey);
  return { ...vm, disks };
}

/**
 * The new VM's adapters: device keys unique (disks' included), a known adapter type, each network a
 * port group of the target host (vSphere connects a standard backing by name on that host), a NIC
 * without a network never connected; MACs assigned new unless one is kept, and never one another VM
 * of the site has.
 */
function planNics(r: CreateVmRequest, inventory: InventorySnapshot, siteName: string, hostName: string, deviceKeys: Set<number>): PlatformNic[] {
  const asked = r.nics ?? [];
  if (asked.length > MAX_NICS) throw new HostError("InvalidArgument", `a VM has at most ${MAX_NICS} network adapters, not ${asked.length}`);
  const inUse = new Set(inventory.vms.filter((v) => v.siteExternalId === r.siteExternalId).flatMap((v) => (v.nics ?? []).map((n) => n.macAddress)));
  const keys = new Set(deviceKeys);
  return asked.map((n) => {
    if (!Number.isInteger(n.deviceKey) || n.deviceKey < 0 || keys.has(n.deviceKey)) throw new HostError("InvalidArgument", `${n.label}: device key ${n.deviceKey} is invalid or already used by another device`);
    keys.add(n.deviceKey);
    if (!NIC_ADAPTER_TYPES.includes(n.adapterType)) throw new HostError("InvalidArgument", `${n.label}: adapter type ${String(n.adapterType)} is not one of ${NIC_ADAPTER_TYPES.join(", ")}`);
    let networkName: string | null = null;
    if (n.networkExternalId !== null) {
      const net = inventory.networks.find((x) => x.externalId === n.networkExternalId && x.siteExternalId === r.siteExternalId);
      if (!net) throw new HostError("NotFound", `${n.label}: no network ${n.networkExternalId} in ${siteName}`);
      if (!net.hostExternalIds.includes(r.hostExternalId)) throw new HostError("InvalidArgument", `${n.label}: network ${net.name} is not on host ${hostName}: choose a network of that host, or leave the adapter disconnected`);
      networkName = net.name;
    } else if (n.connected) throw new HostError("InvalidArgument", `${n.label}: an adapter without a network cannot be connected`);
    let mac = n.macAddress?.toLowerCase();
    if (mac !== undefined) {
      if (!MAC.test(mac)) throw new HostError("InvalidArgument", `${n.label}: ${n.macAddress} is not a MAC address (six hex pairs separated by colons)`);
      if (inUse.has(mac)) throw new HostError("InvalidArgument", `${n.label}: MAC ${mac} is already used by another VM of ${siteName}`);
    } else {
      do mac = assignedMac();
      while (inUse.has(mac));
    }
    inUse.add(mac);
    return { deviceKey: n.deviceKey, label: n.label, adapterType: n.adapterType, macAddress: mac, networkExternalId: n.networkExternalId, networkName, connected: n.networkExternalId !== null && n.connected };
  });
}

/** A vCenter-assigned MAC: VMware's OUI 00:50:56, fourth byte 0x80–0xBF. */
function assignedMac(): string {
  const b = randomBytes(3);
  b[0] = 0x80 | (b[0] & 0x3f);
  return `00:50:56:${[...b].map((x) => x.toString(16).padStart(2, "0")).join(":")}`;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
