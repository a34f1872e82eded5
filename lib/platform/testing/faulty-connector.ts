// A platform that fails on purpose: wraps another one (the memory connector, the lab) and makes a
// chosen operation fail — at once or after some successful calls, or a disk writer after some
// bytes — as a host that goes away, a datastore that fills up or a KMS outage would. With no fault
// armed it answers exactly as the platform it wraps (it passes the same contract suite), so a test
// of a restore's failure paths runs against the real behaviour around the one failure.

import type { BackupDisk, ChangedAreasQuery, OpenDiskForBackupOptions, VmBackupHost, VmFiles } from "../backup-host";
import type { InventorySnapshot, PlatformConnector, PlatformDescription, PlatformVm, VmRuntime } from "../connector";
import type { DiskArea, DiskWriter } from "../disk-io";
import type { AttachDiskRequest, CreateVmRequest, OpenDiskForWriteOptions, VmRestoreHost } from "../restore-host";
import type { ReplicaSnapshot, VmReplicaHost } from "../replica-host";
import type { KeyCheck, KeyCheckRequest, VmFailoverHost } from "../failover-host";
import type { NetworkChoice } from "../network-mapping";

export type FaultyOperation = "inventory" | "createVm" | "openDiskForWrite" | "write" | "deleteVm" | "attachDisk" | "detachDisk" | "powerOn" | "powerOff" | "openDiskForBackup" | "createSnapshot" | "revertToSnapshot" | "removeSnapshot" | "checkKey" | "setNetworks";

export interface Fault {
  operation: FaultyOperation;
  error: Error;
  /** Calls (for "write": bytes) that succeed before the fault fires; default 0. */
  after?: number;
  /** Fires once (default) or on every call from then on. */
  repeat?: boolean;
}

export type FaultablePlatform = PlatformConnector & VmRestoreHost & VmBackupHost & VmReplicaHost & VmFailoverHost & {
  vmFiles(vmExternalId: string): Promise<VmFiles>;
  vmRuntime(vmExternalId: string): Promise<VmRuntime>;
  powerOn(vmExternalId: string): Promise<VmRuntime>;
  powerOff(vmExternalId: string): Promise<VmRuntime>;
};

export class FaultyConnector implements FaultablePlatform {
  private faults: Array<Fault & { seen: number; fired: boolean }> = [];
  /** Every call made, in order ("createVm", "write 0+1048576", …): what a test asserts on. */
  readonly calls: string[] = [];

  constructor(readonly inner: FaultablePlatform) {}

  arm(fault: Fault): this {
    this.faults.push({ ...fault, seen: 0, fired: false });
    return this;
  }

  disarm(): void {
    this.faults = [];
  }

  describe(): Promise<PlatformDescription> {
    return this.inner.describe();
  }
  async inventory(): Promise<InventorySnapshot> {
    this.check("inventory");
    return this.inner.inventory();
  }
  async createVm(request: CreateVmRequest): Promise<PlatformVm> {
    this.check("createVm");
    return this.inner.createVm(request);
  }
  async openDiskForWrite(o: OpenDiskForWriteOptions): Promise<DiskWriter> {
    this.check("openDiskForWrite");
    const writer = await this.inner.openDiskForWrite(o);
    const self = this;
    return {
      capacityBytes: writer.capacityBytes,
      mode: writer.mode,
      async write(offset, data) {
        self.calls.push(`write ${offset}+${data.length}`);
        self.checkBytes(data.length);
        return writer.write(offset, data);
      },
      close: () => writer.close(),
      abort: () => writer.abort(),
    };
  }
  async deleteVm(vmExternalId: string): Promise<void> {
    this.check("deleteVm");
    return this.inner.deleteVm(vmExternalId);
  }
  async attachDisk(request: AttachDiskRequest): Promise<PlatformVm> {
    this.check("attachDisk");
    return this.inner.attachDisk(request);
  }
  async detachDisk(vmExternalId: string, deviceKey: number): Promise<PlatformVm> {
    this.check("detachDisk");
    return this.inner.detachDisk(vmExternalId, deviceKey);
  }
  vmRuntime(vmExternalId: string): Promise<VmRuntime> {
    return this.inner.vmRuntime(vmExternalId);
  }
  async powerOn(vmExternalId: string): Promise<VmRuntime> {
    this.check("powerOn");
    return this.inner.powerOn(vmExternalId);
  }
  async powerOff(vmExternalId: string): Promise<VmRuntime> {
    this.check("powerOff");
    return this.inner.powerOff(vmExternalId);
  }
  async openDiskForBackup(o: OpenDiskForBackupOptions): Promise<BackupDisk> {
    this.check("openDiskForBackup");
    return this.inner.openDiskForBackup(o);
  }
  queryChangedAreas(q: ChangedAreasQuery): Promise<DiskArea[]> {
    return this.inner.queryChangedAreas(q);
  }
  releaseSnapshot(vmExternalId: string): Promise<void> {
    return this.inner.releaseSnapshot(vmExternalId);
  }
  vmFiles(vmExternalId: string): Promise<VmFiles> {
    return this.inner.vmFiles(vmExternalId);
  }
  async createSnapshot(vmExternalId: string, name: string): Promise<ReplicaSnapshot> {
    this.check("createSnapshot");
    return this.inner.createSnapshot(vmExternalId, name);
  }
  listSnapshots(vmExternalId: string): Promise<ReplicaSnapshot[]> {
    return this.inner.listSnapshots(vmExternalId);
  }
  async revertToSnapshot(vmExternalId: string, snapshotId: string): Promise<void> {
    this.check("revertToSnapshot");
    return this.inner.revertToSnapshot(vmExternalId, snapshotId);
  }
  async removeSnapshot(vmExternalId: string, snapshotId: string): Promise<void> {
    this.check("removeSnapshot");
    return this.inner.removeSnapshot(vmExternalId, snapshotId);
  }
  async checkKey(q: KeyCheckRequest): Promise<KeyCheck> {
    this.check("checkKey");
    return this.inner.checkKey(q);
  }
  async setNetworks(vmExternalId: string, choices: readonly NetworkChoice[]): Promise<PlatformVm> {
    this.check("setNetworks");
    return this.inner.setNetworks(vmExternalId, choices);
  }

  private check(operation: Exclude<FaultyOperation, "write">): void {
    this.calls.push(operation);
    for (const f of this.faults) {
      if (f.operation !== operation || (f.fired && !f.repeat)) continue;
      if (f.seen++ < (f.after ?? 0)) continue;
      f.fired = true;
      throw f.error;
    }
  }

  private checkBytes(n: number): void {
    for (const f of this.faults) {
      if (f.operation !== "write" || (f.fired && !f.repeat)) continue;
      if (!f.fired && f.seen + n <= (f.after ?? 0)) {
        f.seen += n;
        continue;
      }
      f.fired = true;
      throw f.error;
    }
  }
}
