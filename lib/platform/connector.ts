// The platform connector: how the rest of Strongroom sees a vSphere estate (INV-1…3, VME-2, VME-4).
//
// Everything above this interface (services, engine, console) must not know which connector it
// talks to. The built-in `lab` connector is a simulated vSphere; a real vCenter connector would
// implement the same interface later.
//
// Identity: every object carries an `externalId` that is stable across syncs and unique within
// its site (vSphere's managed object reference, e.g. "vm-1042"). Sites are unique by `externalId`
// across the whole platform. References between objects use those external ids.

export type TransportMode = "san" | "hotadd" | "nbd" | "nbdssl";
export const TRANSPORT_MODES: readonly TransportMode[] = ["san", "hotadd", "nbd", "nbdssl"] as const;

/** vSphere privileges that matter for encrypted VMs (TRN-3). */
export type CryptoPrivilege = "Cryptographer.Access" | "Cryptographer.AddDisk";

export type SiteRole = "production" | "dr";
export type KeyProviderKind = "native" | "standard";
export type DatastoreType = "VMFS" | "NFS" | "vSAN" | "vVol";
export type PowerState = "poweredOn" | "poweredOff" | "suspended";
export type ProxyKind = "vm" | "physical";

export interface PlatformSite {
  externalId: string; // e.g. "vc-prod-ams"
  name: string;
  role: SiteRole;
  vcenterHost: string; // e.g. "vcsa-prod.ams.lab"
  location: string;
}

export interface PlatformTenant {
  externalId: string; // unique across the platform, e.g. "tenant-acme"
  name: string;
}

export interface PlatformHost {
  externalId: string; // "host-12"
  siteExternalId: string;
  name: string; // "esx01.prod.lab"
  cluster: string;
  esxiVersion: string;
  cpuCores: number;
  memoryGiB: number;
  connectionState: "connected" | "disconnected" | "maintenance";
}

export interface PlatformStoragePolicy {
  externalId: string;
  siteExternalId: string;
  name: string;
  /** True when the policy carries the VM encryption rule (INV-3). */
  encryption: boolean;
  description: string;
}

export interface PlatformDatastore {
  externalId: string; // "datastore-31"
  siteExternalId: string;
  name: string;
  type: DatastoreType;
  capacityBytes: number;
  freeBytes: number;
  /** Storage policies (external ids) this datastore is compatible with. */
  compatiblePolicyExternalIds: string[];
}

export interface PlatformKmsServer {
  host: string;
  port: number;
}

export interface PlatformKeyProvider {
  externalId: string; // "kp-tenant-acme"
  siteExternalId: string;
  name: string;
  kind: KeyProviderKind;
  /** Standard providers only: the KMS cluster's servers. Empty for native. */
  servers: PlatformKmsServer[];
  tenantExternalId: string | null;
  isDefault: boolean;
}

/**
 * A port group of a site (INV-1; a standard vSwitch port group, vSphere's `Network`): VMs' NICs connect to
 * it by name on the host they run on, so a network exists on a host only when that host has the port
 * group (`hostExternalIds`).
 */
export interface PlatformNetwork {
  externalId: string; // "network-14"
  siteExternalId: string;
  name: string; // "VM Network", "Prod-App VLAN 110"
  /** 802.1Q VLAN id of the port group; 0 = untagged. */
  vlanId: number;
  /** The hosts that have this port group. */
  hostExternalIds: string[];
}

export type NicAdapterType = "vmxnet3" | "e1000e";
export const NIC_ADAPTER_TYPES: readonly NicAdapterType[] = ["vmxnet3", "e1000e"] as const;

/** A virtual network adapter in a VM's configuration (vSphere's VirtualEthernetCard). */
export interface PlatformNic {
  deviceKey: number; // 4000, 4001, …
  label: string; // "Network adapter 1"
  adapterType: NicAdapterType;
  macAddress: string; // "00:50:56:8a:12:34"
  /** The port group it is backed by (ids of the VM's site), or null: backed by no network. */
  networkExternalId: string | null;
  /** The port group's name as the configuration holds it (a standard backing's deviceName), or null. */
  networkName: string | null;
  /** Connected (and connected at power-on); a NIC without a network is never connected. */
  connected: boolean;
}

export interface PlatformDisk {
  externalId: string; // "vm-1042:2000" (VM + device key)
  label: string; // "Hard disk 1"
  deviceKey: number; // 2000, 2001, …
  capacityBytes: number;
  datastoreExternalId: string;
  storagePolicyExternalId: string;
  fileName: string; // "[ds-prod-01] web-01/web-01.vmdk"
  encrypted: boolean;
  /** Per-disk key id (KMIP uid of the disk's KEK) when encrypted, else null. */
  keyId: string | null;
}

export interface PlatformVm {
  externalId: string; // "vm-1042"
  siteExternalId: string;
  hostExternalId: string;
  tenantExternalId: string | null;
  name: string;
  folder: string; // "/Tenants/Acme/Web"
  guestOs: string;
  powerState: PowerState;
  cpuCount: number;
  memoryMiB: number;
  homeDatastoreExternalId: string;
  homeStoragePolicyExternalId: string;
  encrypted: boolean;
  /** Key provider of the VM's KEK when encrypted (VME-2), else null. */
  keyProviderExternalId: string | null;
  /** The VM's `keyId` (KEK identifier) when encrypted, else null. */
  keyId: string | null;
  /** Whether the configuration holds an `encryption.bundle` (VME-2). */
  hasEncryptionBundle: boolean;
  vtpm: boolean; // requires encrypted = true (INV-2)
  guestOsEncrypted: boolean; // VME-5: invisible to the host, known to the inventory
  disks: PlatformDisk[]; // one to four
  /** Network adapters (the lab's VMs have one or two); records written before NICs existed are read as none. */
  nics: PlatformNic[];
}

export interface PlatformProxy {
  externalId: string;
  siteExternalId: string;
  name: string;
  kind: ProxyKind;
  /** VM proxies: the host it runs on; physical proxies: null. */
  hostExternalId: string | null;
  transportModes: TransportMode[];
  maxTasks: number;
  /** VM proxies that are themselves encrypted: their key provider (TRN-3), else null. */
  keyProviderExternalId: string | null;
  /** Dedicated to one tenant (TRN-6), or shared (null). */
  tenantExternalId: string | null;
  privileges: CryptoPrivilege[];
}

export interface InventorySnapshot {
  sites: PlatformSite[];
  tenants: PlatformTenant[];
  hosts: PlatformHost[];
  storagePolicies: PlatformStoragePolicy[];
  datastores: PlatformDatastore[];
  /** Port groups per site, with the hosts that have them. */
  networks: PlatformNetwork[];
  keyProviders: PlatformKeyProvider[];
  vms: PlatformVm[];
  proxies: PlatformProxy[];
}

export interface PlatformDescription {
  kind: "lab" | "vsphere";
  /** True for the lab: the UI must say it is a simulated vSphere. */
  simulated: boolean;
  name: string;
  version: string;
}

export interface PlatformConnector {
  describe(): Promise<PlatformDescription>;
  /** The whole inventory as the platform sees it now. */
  inventory(): Promise<InventorySnapshot>;
}

// Connector failures are HostErrors (errors.ts), with the codes vSphere answers with.

// ───────────────────────────── runtime operations ─────────────────────────────
// What a platform can do to a VM beyond reporting it. A real vCenter connector would implement
// these through the vSphere API; the lab does them on its own files (lib/platform/lab/data-plane).

export interface VmDiskRuntime {
  deviceKey: number;
  capacityBytes: number;
  /** Bytes the guest has written (allocated blocks); 0 before the disk has files. */
  allocatedBytes: number;
  encrypted: boolean;
  /** CBT change id of the live disk ("<uuid>/<epoch>"), null before the disk has files. */
  changeId: string | null;
}

export interface VmRuntime {
  vmExternalId: string;
  powerState: PowerState;
  /** Whether the VM's files exist yet (the lab creates them on first use). */
  hasFiles: boolean;
  encrypted: boolean;
  keyProviderExternalId: string | null;
  keyId: string | null;
  disks: VmDiskRuntime[];
  /** The VM's network adapters as the host has them configured. */
  nics: PlatformNic[];
}

export interface GuestWriteResult {
  changedBlocks: number;
  bytesWritten: number;
  durationMs: number;
}

/** Thrown by runtime operations: HostError (errors.ts), with the codes vSphere answers with. */
export interface RuntimeOperations {
  /** Power state, files and per-disk allocation/CBT of one VM. */
  vmRuntime(vmExternalId: string): Promise<VmRuntime>;
  /** Fails with HostError "KeyProviderUnavailable" when an encrypted VM's KMS cannot be reached (VME-3). */
  powerOn(vmExternalId: string): Promise<VmRuntime>;
  powerOff(vmExternalId: string): Promise<VmRuntime>;
  /**
   * Lab only (the simulated guest): rewrite `fraction` (0 < f ≤ 1) of the VM's written blocks with
   * fresh content (and fill a disk that has no data yet), through the live disk so CBT records it.
   */
  guestWrites(vmExternalId: string, fraction: number, seed?: number): Promise<GuestWriteResult>;
  /** Encrypt an unencrypted VM with a key provider, decrypt it, or re-key it to another provider (VME-1). */
  encryptVm(vmExternalId: string, keyProviderExternalId: string): Promise<VmRuntime>;
  decryptVm(vmExternalId: string): Promise<VmRuntime>;
  rekeyVm(vmExternalId: string, keyProviderExternalId: string): Promise<VmRuntime>;
}

/** Key provider settings a site's administrator changes (vCenter: Key Providers). */
export interface KeyProviderOperations {
  /** Makes this provider the site's default (the others of the site stop being default). */
  setDefaultKeyProvider(siteExternalId: string, keyProviderExternalId: string): Promise<void>;
  /** Dedicates the provider to a tenant, or to none (the provider's own). */
  assignKeyProviderTenant(siteExternalId: string, keyProviderExternalId: string, tenantExternalId: string | null): Promise<void>;
}
