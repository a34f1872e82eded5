// What a restore (and later a replica) asks of the platform: create a VM on a host with its home
// and each disk on a chosen datastore and storage policy, encrypted as asked (vSphere's
// CryptoSpecEncrypt / CryptoSpecNoOp shapes), registered with a saved keyId + encryption.bundle and
// NVRAM when the key is reachable (RST-5); open a disk of it for writing through a transport mode;
// delete a VM; add an empty disk to an existing VM, replacing one of its disks or not, and detach
// one (RST-7's disk restore; checked by create-vm-rules.ts planAttachDisk). Power on/off are
// RuntimeOperations (connector.ts). The lab implements it
// (lab-restore-host.ts), the memory connector too (testing/memory-connector.ts); one contract suite
// (testing/restore-host-contract.ts) holds them to the same answers.
//
// Refusals are HostErrors, checked before anything is created, in this order: the target (host,
// datastores, policies, key provider, each NIC's network on the host) exists → the placement is valid (INV-3/RST-3: an encrypted
// home or disk only on a datastore compatible with the VM Encryption Policy; an encrypted disk
// needs an encrypted home; a vTPM needs an encrypted VM, INV-2) → the name is free in the folder →
// each datastore has space → the key provider answers (VME-3). A failure part-way leaves no VM.

import type { NicAdapterType, PlatformVm, TransportMode } from "./connector";
import type { NetworkTransportTuning } from "./backup-host";
import type { DiskWriter } from "./disk-io";
import type { PolicyProxy } from "./transport-policy";

/** How the new VM's home (its configuration, NVRAM, the VM key) is encrypted. */
export type HomeCryptoSpec =
  /** Unencrypted (CryptoSpecNoOp on a VM without encryption). */
  | { kind: "none" }
  /** CryptoSpecEncrypt with a new key from the provider. */
  | { kind: "new-key"; keyProviderExternalId: string }
  /** CryptoSpecEncrypt with an existing key id of the provider (RST-4: same key). */
  | { kind: "key-id"; keyProviderExternalId: string; keyId: string }
  /**
   * Registered with the saved keyId and encryption.bundle (RST-5): the disks' keys and the NVRAM
   * key are the original ones, so the backed-up NVRAM (and a vTPM's contents) come back as they were.
   */
  | { kind: "saved-keys"; keyProviderExternalId: string; keyId: string; encryptionBundle: string };

export interface NewVmDisk {
  deviceKey: number;
  label: string;
  capacityBytes: number;
  datastoreExternalId: string;
  storagePolicyExternalId: string;
  /** Encrypted with the VM's key (the home must be encrypted), or not (RST-3: per disk). */
  encrypted: boolean;
}

/**
 * A network adapter of the new VM. With a network it is backed by that port group, which the host
 * must have; without one (null) it is created backed by no network and not connected — what a
 * restore's "disconnected" mapping asks for.
 */
export interface NewVmNic {
  deviceKey: number;
  label: string;
  adapterType: NicAdapterType;
  networkExternalId: string | null;
  /** Connected (at power-on too); only with a network. */
  connected: boolean;
  /** A manual MAC to keep; omitted: the platform assigns a new one (a copy must not clash with its original). */
  macAddress?: string;
}

export interface CreateVmRequest {
  siteExternalId: string;
  hostExternalId: string;
  name: string;
  /** Inventory folder, e.g. "/Tenants/Acme/Web"; the name must be free in it. */
  folder: string;
  tenantExternalId: string | null;
  guestOs: string;
  cpuCount: number;
  memoryMiB: number;
  home: { datastoreExternalId: string; storagePolicyExternalId: string; crypto: HomeCryptoSpec };
  disks: NewVmDisk[];
  /** Network adapters (none when omitted). */
  nics?: NewVmNic[];
  /** Add a vTPM (needs an encrypted home, INV-2). */
  vtpm: boolean;
  /**
   * The NVRAM file as the backup stored it (encrypted under the saved keys). Only with
   * crypto "saved-keys" or an unencrypted home (an unencrypted VM's NVRAM is cleartext); otherwise
   * the platform makes a generic NVRAM.
   */
  nvram?: Buffer;
}

export interface OpenDiskForWriteOptions {
  vmExternalId: string;
  deviceKey: number;
  mode: TransportMode;
  proxy: PolicyProxy;
  nbd?: NetworkTransportTuning;
}

/**
 * A new, empty disk for an existing VM (RST-7, disk restore): `AddVirtualDisk` with a crypto spec.
 * With `replace`, the VM's disk of that device key is detached and its files deleted first (the
 * restored disk takes its place); otherwise the device key must be free. An encrypted disk only on
 * an encrypted VM, on a datastore compatible with the VM Encryption Policy, with a policy that
 * encrypts (RST-3, INV-3); the VM must be powered off.
 */
export interface AttachDiskRequest {
  vmExternalId: string;
  disk: NewVmDisk;
  replace: boolean;
}

export interface VmRestoreHost {
  /** Creates (registers) a powered-off VM as asked; answers it as the inventory will show it. */
  createVm(request: CreateVmRequest): Promise<PlatformVm>;
  /** Opens a disk of a powered-off VM for writing cleartext (the host encrypts an encrypted disk). */
  openDiskForWrite(o: OpenDiskForWriteOptions): Promise<DiskWriter>;
  /** Deletes a powered-off VM and its files (a failed restore's leftovers; an overwritten original). */
  deleteVm(vmExternalId: string): Promise<void>;
  /** Adds an empty disk to a powered-off VM (replacing one when asked); answers the VM as the inventory will show it. */
  attachDisk(request: AttachDiskRequest): Promise<PlatformVm>;
  /** Detaches a disk of a powered-off VM and deletes its files; answers the VM as the inventory will show it. */
  detachDisk(vmExternalId: string, deviceKey: number): Promise<PlatformVm>;
}

/** Datastore bytes a request needs, per datastore: the disks' capacities (thin disks may use less). */
export function spaceNeeded(request: Pick<CreateVmRequest, "disks">): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of request.disks) out.set(d.datastoreExternalId, (out.get(d.datastoreExternalId) ?? 0) + d.capacityBytes);
  return out;
}
