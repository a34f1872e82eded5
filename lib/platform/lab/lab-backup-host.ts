// Groundwork for the backup engine: what a backup asks of the lab's ESXi hosts (VADP's shape).
//
//   openDiskForBackup   take the VM's snapshot if it has none, then open one disk of it for a
//                       proxy through a transport mode (TRN-1…4): HotAdd and SAN in-process,
//                       NBD/NBDSSL over real loopback TCP from one LabTransportHost, started on
//                       first use with the lab's own TLS identity (lab-host-tls.ts).
//   queryChangedAreas   QueryChangedDiskAreas against that snapshot (INV-4).
//   releaseSnapshot     remove (merge) the snapshot once every reader is closed.
//
// Order of refusals: the transport policy's static rules first (SAN of an encrypted disk, HotAdd
// from a proxy of another key provider, missing privileges), before a snapshot is taken or a key is
// fetched (TRN-5); then the VM's keys (VME-3: KeyProviderUnavailable, nothing taken); then the
// snapshot and the reader. A powered-off VM's keys are loaded only while its reader is opened:
// the reader keeps its own cipher, as an open NBD session does, and the host forgets the keys.

import type { BackupDisk, ChangedAreasQuery, NetworkTransportTuning, OpenDiskForBackupOptions } from "../backup-host";
import type { TransportMode } from "../connector";
import type { DiskWriter } from "../disk-io";
import type { PolicyProxy } from "../transport-policy";
import { HostError, type DiskArea } from "./data-plane";
import type { LabRuntime } from "./lab-runtime";
import { loadOrCreateHostTls } from "./lab-host-tls";
import { throttledReader } from "./read-throttle";
import { LabTransportHost, checkTransport, openDiskForWriteViaTransport, openDiskViaTransport, type LabHostDisk, type TransportDiskRef } from "./transport";

export class LabBackupHost {
  private host: Promise<LabTransportHost> | null = null;
  /** Disks the transport host may serve, by disk external id: the last snapshot opened for each. */
  private readonly disks = new Map<string, LabHostDisk>();

  constructor(
    private readonly runtime: LabRuntime,
    private readonly folder: string,
    /** The simulated link speed of backup reads (bytes per second), asked at each open; none ⇒ as fast as the files. */
    private readonly readBytesPerSecond: () => number | undefined = () => undefined,
  ) {}

  openDiskForBackup(o: OpenDiskForBackupOptions): Promise<BackupDisk> {
    return this.runtime.hostAccess(o.vmExternalId, true, async ({ vm, labVm, poweredOn, unlock, changed }) => {
      const platformDisk = vm.disks.find((d) => d.deviceKey === o.deviceKey);
      if (!platformDisk) throw new HostError("NotFound", `${vm.name} has no disk ${o.deviceKey}`);
      const encrypted = labVm.disk(o.deviceKey).encrypted;
      const ref: TransportDiskRef = { diskId: platformDisk.externalId, encrypted, keyProviderExternalId: encrypted ? labVm.config.keyProviderId : null };
      const early = checkTransport(o.mode, ref, o.proxy, { keyProviderReachable: true });
      if (!early.allowed) throw early.error;

      const wasLocked = labVm.locked;
      try {
        // VME-3: the host serves cleartext only with the VM's keys. Reachability is proven here,
        // by fetching them, so the transport host's own check can answer "reachable".
        if (encrypted) await unlock();
        let snapshot = labVm.config.snapshot;
        if (!snapshot) {
          snapshot = await labVm.createSnapshot("Strongroom backup");
          await changed(); // another process writing this VM must now write into the delta
        }
        const snapshotId = snapshot.id;
        const changeId = snapshot.disks.find((d) => d.deviceKey === o.deviceKey)?.changeId;
        if (!changeId) throw new HostError("NotFound", `snapshot ${snapshot.id} of ${vm.name} has no disk ${o.deviceKey}`);
        this.disks.set(ref.diskId, {
          encrypted,
          keyProviderExternalId: ref.keyProviderExternalId,
          openCleartext: async () => labVm.openSnapshotDisk(snapshotId, o.deviceKey, "cleartext"),
          openRaw: async () => labVm.openSnapshotDisk(snapshotId, o.deviceKey, "raw"),
        });
        const reader = await openDiskViaTransport({ mode: o.mode, proxy: o.proxy, disk: ref, host: await this.transportHost(), nbd: o.nbd });
        const rate = this.readBytesPerSecond();
        return { reader: rate ? throttledReader(reader, rate) : reader, snapshotId, changeId };
      } finally {
        if (wasLocked && !poweredOn) labVm.lock();
      }
    });
  }

  /** QueryChangedDiskAreas on the VM's current snapshot (NotFound without one; FileFault for an unknown id). */
  queryChangedAreas(q: ChangedAreasQuery): Promise<DiskArea[]> {
    return this.runtime.hostAccess(q.vmExternalId, false, async ({ vm, labVm }) => {
      const snapshot = labVm.config.snapshot;
      if (!snapshot) throw new HostError("NotFound", `${vm.name} has no snapshot`);
      return labVm.queryChangedAreas(snapshot.id, q.deviceKey, q.changeId, q.startOffset ?? 0);
    });
  }

  /** Removes the VM's snapshot, if it has one (InvalidState while a reader of it is open). */
  async releaseSnapshot(vmExternalId: string): Promise<void> {
    if (!(await this.runtime.vmRuntime(vmExternalId)).hasFiles) return;
    await this.runtime.hostAccess(vmExternalId, false, async ({ vm, labVm, changed }) => {
      const snapshot = labVm.config.snapshot;
      if (!snapshot) return;
      await labVm.removeSnapshot(snapshot.id);
      await changed();
      for (const d of vm.disks) this.disks.delete(d.externalId);
    });
  }

  /**
   * Serves a disk to a proxy for writing (a restore target) through `mode`, as the host serves a
   * snapshot for reading: the disk is registered under its own id while the writer is open.
   */
  async openDiskForWrite(o: { diskId: string; disk: LabHostDisk; mode: TransportMode; proxy: PolicyProxy; nbd?: NetworkTransportTuning }): Promise<DiskWriter> {
    const id = `${o.diskId}#write`;
    this.disks.set(id, o.disk);
    try {
      const writer = await openDiskForWriteViaTransport({ mode: o.mode, proxy: o.proxy, disk: { diskId: id, encrypted: o.disk.encrypted, keyProviderExternalId: o.disk.keyProviderExternalId }, host: await this.transportHost(), nbd: o.nbd });
      const done = () => void this.disks.delete(id);
      return {
        capacityBytes: writer.capacityBytes,
        mode: writer.mode,
        write: (offset, data) => writer.write(offset, data),
        close: () => writer.close().finally(done),
        abort: () => writer.abort().finally(done),
      };
    } catch (err) {
      this.disks.delete(id);
      throw err;
    }
  }

  /** Stops the NBD service (open NBD readers fail from then on). */
  async close(): Promise<void> {
    const host = this.host;
    this.host = null;
    await (await host?.catch(() => null))?.stop();
  }

  private transportHost(): Promise<LabTransportHost> {
    if (!this.host) {
      this.host = loadOrCreateHostTls(this.folder).then((tls) => LabTransportHost.start({ disk: (id) => this.disks.get(id), tls }));
      this.host.catch(() => (this.host = null)); // a failed start is retried by the next backup
    }
    return this.host;
  }
}
