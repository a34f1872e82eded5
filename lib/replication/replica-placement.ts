// Which of a replica's items are encrypted, for a key mode (REP-2, REP-4), and where they may go
// (REP-3): pure, shared by the replication wizard in the browser; the server applies the platform's
// own rules again (check-replication-job.ts). The rule follows the engine (replicaRequest): shared
// keys keep the source's encryption per item; re-key encrypts the replica's home and every disk the
// source encrypts — and an unencrypted source whole; an unencrypted replica encrypts nothing.
import { datastoreRefusal, placementFor, policyChoices, type PlacementDatastore, type PlacementSite } from "@/lib/restore/placement";
import type { REPLICA_KEY_MODES } from "@/lib/schemas/replication";

export type ReplicaKeyModeName = (typeof REPLICA_KEY_MODES)[number];

export interface ReplicaSourceVm {
  encrypted: boolean;
  disks: ReadonlyArray<{ deviceKey: number; encrypted: boolean; capacityBytes: number; storagePolicyExternalId: string }>;
  homeStoragePolicyExternalId: string;
}

export function replicaHomeEncrypted(vm: Pick<ReplicaSourceVm, "encrypted">, keyMode: ReplicaKeyModeName): boolean {
  return keyMode === "re-key" || (keyMode === "shared" && vm.encrypted);
}

export function replicaDiskEncrypted(vm: Pick<ReplicaSourceVm, "encrypted">, disk: { encrypted: boolean }, keyMode: ReplicaKeyModeName): boolean {
  if (keyMode === "shared") return disk.encrypted;
  if (keyMode === "re-key") return disk.encrypted || !vm.encrypted;
  return false;
}

/** Why a datastore cannot take a replica's home or disk, in the administrator's words (null when it can). */
export function replicaDatastoreRefusal(ds: PlacementDatastore, what: "home" | "disk", encrypted: boolean, bytesNeeded: number): string | null {
  if (encrypted && !ds.encryptionCompatible) {
    return what === "home"
      ? "Not under the VM Encryption Policy node: an encrypted replica needs its home (configuration and NVRAM) there"
      : "Not under the VM Encryption Policy node: this disk is encrypted in the replica, so it needs a datastore compatible with an encryption storage policy";
  }
  return datastoreRefusal(ds, what, false, bytesNeeded);
}

/** Why a storage policy cannot be used for an item on a datastore (null when it can). */
export function replicaPolicyRefusal(site: PlacementSite, ds: PlacementDatastore | undefined, policyExternalId: string, encrypted: boolean): string | null {
  const p = policyChoices(site, ds, encrypted).find((x) => x.externalId === policyExternalId);
  return p ? p.refusal : "Choose a storage policy";
}

/** The starting placement of a VM's replica: per item the fitting datastore with most free space and the policy the rule gives. */
export function defaultReplicaPlacement(site: PlacementSite, vm: ReplicaSourceVm, keyMode: ReplicaKeyModeName) {
  return {
    home: placementFor(site, null, vm.homeStoragePolicyExternalId, "home", replicaHomeEncrypted(vm, keyMode), 0),
    disks: vm.disks.map((d) => ({ deviceKey: d.deviceKey, ...placementFor(site, null, d.storagePolicyExternalId, "disk", replicaDiskEncrypted(vm, d, keyMode), d.capacityBytes) })),
  };
}

/** A key mode in words, for lists, pages and the summary. */
export const KEY_MODE_WORDS: Record<string, string> = {
  shared: "Shared keys — the replica keeps the source's key",
  "re-key": "New key at the target — re-keyed by the target site's key provider",
  unencrypted: "Unencrypted replica",
};
