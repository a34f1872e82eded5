// What a backup asks of the platform (VADP's shape): a snapshot's disk opened for a proxy through
// a transport mode, the changed areas since an earlier snapshot, the snapshot released, and the VM
// files a restore of an encrypted VM needs. The lab implements it (lab-backup-host.ts); the engine
// uses it (lib/engine/pipeline/backup-vm.ts) without knowing which platform answers.

import type { TransportMode } from "./connector";
import type { DiskArea, TransportReader } from "./disk-io";
import type { PolicyProxy } from "./transport-policy";

/** Tuning of a network transport's client (NBD/NBDSSL): timeouts and pipelining. */
export interface NetworkTransportTuning {
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxInFlight?: number;
  maxRequestBytes?: number;
}

export interface OpenDiskForBackupOptions {
  vmExternalId: string;
  deviceKey: number;
  mode: TransportMode;
  proxy: PolicyProxy;
  nbd?: NetworkTransportTuning;
}

export interface BackupDisk {
  /** The snapshot's content of the disk, in cleartext (raw for SAN of an unencrypted disk). */
  reader: TransportReader;
  snapshotId: string;
  /** The disk's CBT change id at the snapshot: the next backup's queryChangedAreas starts here. */
  changeId: string;
}

export interface ChangedAreasQuery {
  vmExternalId: string;
  deviceKey: number;
  /** A change id from an earlier snapshot, or "*" for every written area. */
  changeId: string;
  startOffset?: number;
}

/** The VM files a restore of an encrypted VM needs (BKP-4, RST-5). */
export interface VmFiles {
  /** The NVRAM file as stored (encrypted for an encrypted VM). */
  nvram: Buffer | null;
  keyId: string | null;
  keyProviderExternalId: string | null;
  encryptionBundle: string | null;
}

export interface VmBackupHost {
  /** Takes the VM's snapshot if it has none, then opens one disk of it for `proxy` in `mode`. */
  openDiskForBackup(o: OpenDiskForBackupOptions): Promise<BackupDisk>;
  /** QueryChangedDiskAreas against the VM's current snapshot (INV-4). */
  queryChangedAreas(q: ChangedAreasQuery): Promise<DiskArea[]>;
  /** Removes (merges) the VM's snapshot once every reader is closed. */
  releaseSnapshot(vmExternalId: string): Promise<void>;
  /** The VM files a restore of an encrypted VM needs (BKP-4); omitted ⇒ not kept. */
  vmFiles?(vmExternalId: string): Promise<VmFiles>;
}
