// The built-in lab connector: a simulated vSphere (INV-1…4, VME-1…5, TRN-1…4). It serves a
// generated estate (estate.ts) and, given a lab folder, runs it on real files: VMs get disk files,
// NVRAM and a .vmx the first time an operation needs them (lab-runtime.ts), their power and
// encryption state changes and survives restarts, and backups read their disks through the lab's
// transport modes (lab-backup-host.ts). Without a folder it is the inventory alone, and runtime
// operations fail with HostError "InvalidState".

import { randomUUID } from "node:crypto";
import type {
  KeyProviderOperations,
  PlatformVm,
  GuestWriteResult,
  InventorySnapshot,
  PlatformConnector,
  PlatformDescription,
  RuntimeOperations,
  VmRuntime,
} from "../connector";
import { HostError, type DiskArea, type LabVm } from "./data-plane";
import { DEFAULT_SEED, DEFAULT_VM_COUNT, generateEstate, type EstateOptions } from "./estate";
import type { BackupDisk, ChangedAreasQuery, OpenDiskForBackupOptions, VmBackupHost, VmFiles } from "../backup-host";
import { LabBackupHost } from "./lab-backup-host";
import { planAttachDisk, planNewVm } from "../create-vm-rules";
import type { DiskWriter } from "../disk-io";
import type { AttachDiskRequest, CreateVmRequest, OpenDiskForWriteOptions, VmRestoreHost } from "../restore-host";
import { openLabDiskForWrite } from "./lab-disk-writer";
import { EstateIndex } from "./lab-estate-index";
import { applyKeyProviderSettings, assignKeyProviderTenant, setDefaultKeyProvider } from "./lab-key-provider-settings";
import { nativeOnlyKeySources, type LabKeySources } from "./lab-key-sources";
import { LabRuntime } from "./lab-runtime";
import { LabReplicaPoints } from "./lab-replica-points";
import type { ReplicaSnapshot, VmReplicaHost } from "../replica-host";
import type { KeyCheck, KeyCheckRequest, VmFailoverHost } from "../failover-host";
import type { NetworkChoice } from "../network-mapping";

export const DEFAULT_DISK_DATA_MIB = 16;

export interface LabConnectorOptions extends EstateOptions {
  /** The lab folder (e.g. ".data/lab"): VM files, lab-state.json, native key providers, host TLS. */
  folder?: string;
  /** Where KEKs come from; default: nativeOnlyKeySources(folder). */
  keySources?: LabKeySources;
  /** MiB of content the guest writes when a disk is first filled (default 16). */
  diskDataMiB?: number;
  /**
   * A simulated link speed for backup reads, in MiB per second per disk being read, asked each
   * time a disk is opened (so a running process can change it); undefined ⇒ as fast as the files.
   */
  readMiBPerSecond?: () => number | undefined;
  /** The same for restore writes (MiB per second per disk being written), asked at each open. */
  writeMiBPerSecond?: () => number | undefined;
}

export class LabConnector implements PlatformConnector, RuntimeOperations, KeyProviderOperations, VmBackupHost, VmRestoreHost, VmReplicaHost, VmFailoverHost {
  private index: EstateIndex | null = null;
  private runtimeInstance: LabRuntime | null = null;
  private backupHost: LabBackupHost | null = null;
  private replicaPoints: LabReplicaPoints | null = null;

  constructor(private readonly options: LabConnectorOptions = {}) {
    const mib = options.diskDataMiB ?? DEFAULT_DISK_DATA_MIB;
    if (!(Number.isInteger(mib) && mib > 0)) throw new RangeError(`diskDataMiB must be a positive integer, got ${mib}`);
  }

  async describe(): Promise<PlatformDescription> {
    return { kind: "lab", simulated: true, name: "Strongroom lab (simulated vSphere)", version: "8.0.3 (simulated)" };
  }

  async inventory(): Promise<InventorySnapshot> {
    const index = this.estateIndex();
    const overrides = this.options.folder ? await this.runtime().overrides() : null;
    // A copy, so a caller that edits its snapshot cannot change what the platform reports next.
    const snapshot = structuredClone(index.estate);
    if (overrides) applyKeyProviderSettings(snapshot, this.runtime().stateStore.keyProviderSettings);
    if (overrides && overrides.size > 0) {
      snapshot.vms = snapshot.vms.map((vm) => {
        const o = overrides.get(vm.externalId);
        return o ? index.patch(vm, o) : vm;
      });
    }
    if (overrides) this.subtractCreatedSpace(snapshot);
    return snapshot;
  }

  /** Creates a powered-off VM (restore, replica) as asked; see restore-host.ts for what it refuses. */
  async createVm(request: CreateVmRequest): Promise<PlatformVm> {
    const runtime = this.runtime();
    const planned = planNewVm(request, await this.inventory(), `vm-${randomUUID().slice(0, 8)}`);
    return runtime.createVm(planned.vm, { crypto: request.home.crypto, nvram: request.nvram });
  }

  /** A disk of a powered-off VM opened for writing through a transport mode (lab-disk-writer.ts). */
  openDiskForWrite(o: OpenDiskForWriteOptions): Promise<DiskWriter> {
    const mib = this.options.writeMiBPerSecond?.();
    return this.call(() => openLabDiskForWrite(this.runtime(), this.host(), o, this.points(), mib && mib > 0 ? mib * 1024 * 1024 : undefined));
  }

  deleteVm(vmExternalId: string): Promise<void> {
    return this.call(() => this.runtime().deleteVm(vmExternalId));
  }

  /** Adds an empty disk to a powered-off VM, or replaces one (RST-7); see planAttachDisk for what it refuses. */
  async attachDisk(request: AttachDiskRequest): Promise<PlatformVm> {
    const runtime = this.runtime();
    const inventory = await this.inventory();
    const vm = inventory.vms.find((v) => v.externalId === request.vmExternalId);
    if (!vm) throw new HostError("NotFound", `no VM ${request.vmExternalId} in the lab`);
    if (vm.powerState !== "poweredOff") throw new HostError("InvalidState", `${vm.name} is ${vm.powerState}: power it off to change its disks`);
    const planned = planAttachDisk(request, vm, inventory);
    return runtime.attachDisk(vm.externalId, planned, request.disk, request.replace);
  }

  detachDisk(vmExternalId: string, deviceKey: number): Promise<PlatformVm> {
    return this.call(() => this.runtime().detachDisk(vmExternalId, deviceKey));
  }

  vmRuntime(vmExternalId: string): Promise<VmRuntime> {
    return this.call(() => this.runtime().vmRuntime(vmExternalId));
  }
  powerOn(vmExternalId: string): Promise<VmRuntime> {
    return this.call(() => this.runtime().powerOn(vmExternalId));
  }
  powerOff(vmExternalId: string): Promise<VmRuntime> {
    return this.call(() => this.runtime().powerOff(vmExternalId));
  }
  guestWrites(vmExternalId: string, fraction: number, seed?: number): Promise<GuestWriteResult> {
    return this.call(() => this.runtime().guestWrites(vmExternalId, fraction, seed));
  }
  encryptVm(vmExternalId: string, keyProviderExternalId: string): Promise<VmRuntime> {
    return this.call(() => this.runtime().encryptVm(vmExternalId, keyProviderExternalId));
  }
  decryptVm(vmExternalId: string): Promise<VmRuntime> {
    return this.call(() => this.runtime().decryptVm(vmExternalId));
  }
  rekeyVm(vmExternalId: string, keyProviderExternalId: string): Promise<VmRuntime> {
    return this.call(() => this.runtime().rekeyVm(vmExternalId, keyProviderExternalId));
  }

  /** Snapshot (if none) + one disk opened for `proxy` in `mode`; see lab-backup-host.ts. */
  openDiskForBackup(o: OpenDiskForBackupOptions): Promise<BackupDisk> {
    return this.call(() => this.host().openDiskForBackup(o));
  }
  queryChangedAreas(q: ChangedAreasQuery): Promise<DiskArea[]> {
    return this.call(() => this.host().queryChangedAreas(q));
  }
  releaseSnapshot(vmExternalId: string): Promise<void> {
    return this.call(() => this.host().releaseSnapshot(vmExternalId));
  }

  /** What a restore of the VM needs besides its disks: NVRAM as stored, keyId, encryption.bundle (BKP-4). */
  async vmFiles(vmExternalId: string): Promise<VmFiles> {
    const labVm = await this.labVm(vmExternalId);
    const cfg = labVm.config;
    return { nvram: await labVm.readNvramFile(), keyId: cfg.keyId, keyProviderExternalId: cfg.keyProviderId, encryptionBundle: cfg.encryptionBundle };
  }

  /**
   * The VM's files as the data plane holds them (NVRAM file, encryption.bundle: what a backup keeps
   * besides the disks). Created on first use like any operation's; callers must not close it.
   */
  labVm(vmExternalId: string): Promise<LabVm> {
    return this.call(() => this.runtime().hostAccess(vmExternalId, true, async ({ labVm }) => labVm));
  }

  // ── replica restore points (replica-host.ts; lab-replica-points.ts) ──

  createSnapshot(vmExternalId: string, name: string): Promise<ReplicaSnapshot> {
    return this.withPoints(vmExternalId, "take a replica point of", (labVm) => this.points().create(labVm, name));
  }
  async listSnapshots(vmExternalId: string): Promise<ReplicaSnapshot[]> {
    if (!(await this.vmRuntime(vmExternalId)).hasFiles) return []; // listing never creates a VM's files
    return this.runtime().hostAccess(vmExternalId, false, ({ labVm }) => this.points().list(labVm));
  }
  revertToSnapshot(vmExternalId: string, snapshotId: string): Promise<void> {
    return this.withPoints(vmExternalId, "revert", (labVm) => this.points().revert(labVm, snapshotId));
  }
  removeSnapshot(vmExternalId: string, snapshotId: string): Promise<void> {
    // A running VM's points may go (a permanent failover commits them, as vSphere removes snapshots of a running VM):
    // the VM's queue keeps the removal apart from the guest's writes.
    return this.withPoints(vmExternalId, "remove a replica point of", (labVm) => this.points().remove(labVm, snapshotId), true);
  }

  // ── failover (failover-host.ts) ──

  checkKey(q: KeyCheckRequest): Promise<KeyCheck> {
    return this.call(() => this.runtime().checkKey(q));
  }
  setNetworks(vmExternalId: string, choices: readonly NetworkChoice[]): Promise<PlatformVm> {
    return this.call(() => this.runtime().setNetworks(vmExternalId, choices));
  }

  setDefaultKeyProvider(siteExternalId: string, keyProviderExternalId: string): Promise<void> {
    return this.call(() => setDefaultKeyProvider(this.runtime().stateStore, this.estateIndex().estate, siteExternalId, keyProviderExternalId));
  }
  assignKeyProviderTenant(siteExternalId: string, keyProviderExternalId: string, tenantExternalId: string | null): Promise<void> {
    return this.call(() => assignKeyProviderTenant(this.runtime().stateStore, this.estateIndex().estate, siteExternalId, keyProviderExternalId, tenantExternalId));
  }

  /** Stops the NBD service and closes every VM's files (keys wiped). */
  async close(): Promise<void> {
    await this.backupHost?.close();
    await this.runtimeInstance?.close();
    this.backupHost = null;
    this.runtimeInstance = null;
    this.replicaPoints = null;
  }

  /** Created VMs' disks take datastore space (thick, as the lab does not track thin allocation). */
  private subtractCreatedSpace(snapshot: InventorySnapshot): void {
    const used = new Map<string, number>();
    for (const vm of Object.values(this.runtime().stateStore.createdVms)) for (const d of vm.disks) used.set(d.datastoreExternalId, (used.get(d.datastoreExternalId) ?? 0) + d.capacityBytes);
    for (const ds of snapshot.datastores) ds.freeBytes -= used.get(ds.externalId) ?? 0;
  }

  private estateIndex(): EstateIndex {
    // Generated once: the estate is deterministic, and a 10 000-VM lab should not be rebuilt per call.
    this.index ??= new EstateIndex(generateEstate(this.options));
    return this.index;
  }

  private runtime(): LabRuntime {
    const folder = this.options.folder;
    if (!folder) throw new HostError("InvalidState", "lab has no folder: runtime operations need one (LabConnector option `folder`)");
    this.runtimeInstance ??= new LabRuntime({
      folder,
      index: this.estateIndex(),
      estate: { seed: this.options.seed ?? DEFAULT_SEED, vmCount: this.options.vmCount ?? DEFAULT_VM_COUNT },
      keySources: this.options.keySources ?? nativeOnlyKeySources(folder),
      diskDataMiB: this.options.diskDataMiB ?? DEFAULT_DISK_DATA_MIB,
      // The guest's writes under replica points go through the same copy-on-write as a writer's
      // (lab-replica-points.ts): a failed-over replica's writes are undone by reverting to its point.
      guestWritePreserver: (labVm, deviceKey) => this.points().preserver(labVm, deviceKey),
    });
    return this.runtimeInstance;
  }

  private points(): LabReplicaPoints {
    this.replicaPoints ??= new LabReplicaPoints(this.runtime().dataPlane.datastoresRoot);
    return this.replicaPoints;
  }

  /** A replica point operation inside the VM's queue: powered off, nothing open for writing. */
  private withPoints<T>(vmExternalId: string, what: string, work: (labVm: LabVm) => Promise<T>, running = false): Promise<T> {
    return this.call(() =>
      this.runtime().hostAccess(vmExternalId, true, async ({ vm, labVm, poweredOn, writing, changed }) => {
        if (poweredOn && !running) throw new HostError("InvalidState", `${vm.name} is powered on: power it off to ${what} it`);
        if (writing) throw new HostError("InvalidState", `${vm.name} has a disk open for writing: wait for it to close`);
        const out = await work(labVm);
        await changed();
        return out;
      }),
    );
  }

  private host(): LabBackupHost {
    const rate = this.options.readMiBPerSecond;
    this.backupHost ??= new LabBackupHost(this.runtime(), this.options.folder!, () => {
      const mib = rate?.();
      return mib && mib > 0 ? mib * 1024 * 1024 : undefined;
    });
    return this.backupHost;
  }

  /** Synchronous throws (no folder) become rejections, as callers of an async API expect. */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }
}
