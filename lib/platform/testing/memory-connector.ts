// A platform held in memory: an inventory handed in, VMs created at run time with sparse in-memory
// disks, key providers whose keys are sets of ids and that can be made unreachable. It answers as
// the lab does (create-vm-rules.ts, transport-policy.ts, the same HostErrors), which the shared
// contract suite (restore-host-contract.ts) checks. For the engine's and the services' tests that
// need a platform without files; it moves bytes for real (in memory), so restores can be checked
// bit for bit.

import { randomBytes, randomUUID } from "node:crypto";
import type { BackupDisk, ChangedAreasQuery, OpenDiskForBackupOptions, VmBackupHost, VmFiles } from "../backup-host";
import type { InventorySnapshot, PlatformConnector, PlatformDescription, PlatformVm, VmRuntime } from "../connector";
import { planAttachDisk, planNewVm } from "../create-vm-rules";
import { SECTOR_SIZE, type DiskArea, type DiskWriter, type TransportReader } from "../disk-io";
import { HostError } from "../errors";
import type { AttachDiskRequest, CreateVmRequest, OpenDiskForWriteOptions, VmRestoreHost } from "../restore-host";
import { validReplicaPointName, type ReplicaSnapshot, type VmReplicaHost } from "../replica-host";
import { planNetworks, type KeyCheck, type KeyCheckRequest, type VmFailoverHost } from "../failover-host";
import type { NetworkChoice } from "../network-mapping";
import { checkTransport } from "../transport-policy";

const CHUNK = 64 * 1024;

/** A sparse disk: 64 KiB chunks, absent ones read as zeros. */
export class MemoryDisk {
  readonly chunks = new Map<number, Buffer>();
  constructor(readonly capacityBytes: number) {}

  write(offset: number, data: Buffer): void {
    checkRange(offset, data.length, this.capacityBytes);
    for (let done = 0; done < data.length; ) {
      const at = offset + done;
      const index = Math.floor(at / CHUNK);
      const within = at - index * CHUNK;
      const n = Math.min(CHUNK - within, data.length - done);
      let chunk = this.chunks.get(index);
      if (!chunk) this.chunks.set(index, (chunk = Buffer.alloc(Math.min(CHUNK, this.capacityBytes - index * CHUNK))));
      data.copy(chunk, within, done, done + n);
      done += n;
    }
  }

  readInto(offset: number, target: Buffer): void {
    checkRange(offset, target.length, this.capacityBytes);
    for (let done = 0; done < target.length; ) {
      const at = offset + done;
      const index = Math.floor(at / CHUNK);
      const within = at - index * CHUNK;
      const n = Math.min(CHUNK - within, target.length - done);
      const chunk = this.chunks.get(index);
      if (chunk) chunk.copy(target, done, within, within + n);
      else target.fill(0, done, done + n);
      done += n;
    }
  }

  clone(): MemoryDisk {
    const c = new MemoryDisk(this.capacityBytes);
    for (const [i, b] of this.chunks) c.chunks.set(i, Buffer.from(b));
    return c;
  }
}

interface MemoryVm {
  vm: PlatformVm;
  disks: Map<number, MemoryDisk>;
  nvram: Buffer | null;
  bundle: string | null;
  snapshot: Map<number, MemoryDisk> | null;
  writers: number;
  /** Changed block tracking per disk (INV-4), in 64 KiB chunks. */
  cbt: Map<number, MemoryCbt>;
  /** The backup snapshot's change id per disk. */
  snapshotChangeIds: Map<number, string> | null;
  /** Replica restore points, oldest first: frozen copies of the disks (replica-host.ts). */
  points: Array<{ point: ReplicaSnapshot; disks: Map<number, MemoryDisk> }>;
}

/** CBT of one memory disk: the epoch in which each chunk last changed; a snapshot closes the epoch. */
class MemoryCbt {
  readonly uuid = randomUUID();
  epoch = 1;
  readonly changed = new Map<number, number>();
  record(offset: number, length: number): void {
    for (let i = Math.floor(offset / CHUNK); i <= Math.floor((offset + length - 1) / CHUNK); i++) this.changed.set(i, this.epoch);
  }
  closeEpoch(): string {
    this.epoch++;
    return `${this.uuid}/${this.epoch}`;
  }
  /** Chunks changed since `changeId` (FileFault for another disk's, a malformed or a future id). */
  since(changeId: string): number[] {
    const m = /^([0-9a-f-]{36})\/(\d+)$/.exec(changeId);
    if (!m || m[1] !== this.uuid || Number(m[2]) > this.epoch) throw new HostError("FileFault", `unknown change id ${changeId}`);
    const n = Number(m[2]);
    return [...this.changed].filter(([, e]) => e >= n).map(([i]) => i).sort((a, b) => a - b);
  }
}

export interface MemoryConnectorOptions {
  inventory: InventorySnapshot;
}

export class MemoryConnector implements PlatformConnector, VmRestoreHost, VmBackupHost, VmReplicaHost, VmFailoverHost {
  private readonly vms = new Map<string, MemoryVm>();
  private readonly keys = new Map<string, Set<string>>(); // key provider → key ids
  private readonly unreachable = new Set<string>();
  private readonly estate: InventorySnapshot;

  constructor(o: MemoryConnectorOptions) {
    this.estate = structuredClone(o.inventory);
  }

  /** Makes a key provider (un)reachable from every host, as a KMS outage would (VME-3). */
  setKeyProviderReachable(keyProviderExternalId: string, reachable: boolean): void {
    if (reachable) this.unreachable.delete(keyProviderExternalId);
    else this.unreachable.add(keyProviderExternalId);
  }

  /** Adds a key to a provider (what a KMS holds for a VM encrypted elsewhere). */
  addKey(keyProviderExternalId: string, keyId: string): void {
    this.keyIds(keyProviderExternalId).add(keyId);
  }

  /** Removes a key from a provider (a KMS that lost it). */
  removeKey(keyProviderExternalId: string, keyId: string): void {
    this.keyIds(keyProviderExternalId).delete(keyId);
  }

  async describe(): Promise<PlatformDescription> {
    return { kind: "lab", simulated: true, name: "Strongroom memory platform (tests)", version: "0" };
  }

  async inventory(): Promise<InventorySnapshot> {
    const out = structuredClone(this.estate);
    out.vms.push(...[...this.vms.values()].map((m) => structuredClone(m.vm)));
    for (const ds of out.datastores) ds.freeBytes = this.freeBytes(ds.externalId, ds.freeBytes);
    return out;
  }

  async createVm(request: CreateVmRequest): Promise<PlatformVm> {
    const inventory = await this.inventory();
    const { vm } = planNewVm(request, inventory, `vm-m${randomUUID().slice(0, 8)}`, (ds) => ds.freeBytes);
    let bundle: string | null = null;
    const c = request.home.crypto;
    if (c.kind !== "none") {
      this.requireReachable(c.keyProviderExternalId);
      const ids = this.keyIds(c.keyProviderExternalId);
      if (c.kind === "new-key") {
        vm.keyId = randomUUID();
        ids.add(vm.keyId);
      } else {
        if (!ids.has(c.keyId)) throw new HostError("KeyProviderUnavailable", `key provider ${c.keyProviderExternalId} has no key ${c.keyId}`);
        vm.keyId = c.keyId;
      }
      if (c.kind === "saved-keys") {
        if (!c.encryptionBundle.startsWith(`memory-bundle:${c.keyId}:`)) throw new HostError("CryptoKeyMismatch", "the encryption.bundle cannot be opened with that key");
        bundle = c.encryptionBundle;
      } else bundle = `memory-bundle:${vm.keyId}:${randomBytes(8).toString("hex")}`;
      for (const d of vm.disks) d.keyId = d.encrypted ? vm.keyId : null;
    }
    const nvram = request.nvram ? Buffer.from(request.nvram) : Buffer.from(`generic nvram ${vm.externalId}${request.vtpm ? " vtpm" : ""}`);
    this.vms.set(vm.externalId, { vm, disks: new Map(vm.disks.map((d) => [d.deviceKey, new MemoryDisk(d.capacityBytes)])), nvram, bundle, snapshot: null, writers: 0, cbt: new Map(vm.disks.map((d) => [d.deviceKey, new MemoryCbt()])), snapshotChangeIds: null, points: [] });
    return structuredClone(vm);
  }

  async openDiskForWrite(o: OpenDiskForWriteOptions): Promise<DiskWriter> {
    const m = this.created(o.vmExternalId);
    if (m.vm.powerState !== "poweredOff") throw new HostError("InvalidState", `${m.vm.name} is ${m.vm.powerState}: power it off to write its disks`);
    const pd = m.vm.disks.find((d) => d.deviceKey === o.deviceKey);
    if (!pd) throw new HostError("NotFound", `${m.vm.name} has no disk ${o.deviceKey}`);
    const decision = checkTransport(o.mode, { encrypted: pd.encrypted, keyProviderExternalId: pd.encrypted ? m.vm.keyProviderExternalId : null }, o.proxy, {
      keyProviderReachable: !m.vm.keyProviderExternalId || !this.unreachable.has(m.vm.keyProviderExternalId),
      access: "write",
    });
    if (!decision.allowed) throw decision.error;
    const disk = m.disks.get(o.deviceKey)!;
    const cbt = m.cbt.get(o.deviceKey)!;
    let open = true;
    m.writers++;
    const end = () => {
      if (open) m.writers--;
      open = false;
    };
    return {
      capacityBytes: disk.capacityBytes,
      mode: o.mode,
      async write(offset, data) {
        if (!open) throw new HostError("InvalidState", "the disk writer is closed");
        checkRange(offset, data.length, disk.capacityBytes);
        cbt.record(offset, data.length);
        disk.write(offset, data);
      },
      async close() {
        end();
      },
      async abort() {
        end();
      },
    };
  }

  async deleteVm(vmExternalId: string): Promise<void> {
    const m = this.created(vmExternalId);
    if (m.vm.powerState !== "poweredOff") throw new HostError("InvalidState", `${m.vm.name} is ${m.vm.powerState}: power it off to delete it`);
    if (m.writers > 0 || m.snapshot) throw new HostError("InvalidState", `${m.vm.name} has a disk open: close it first`);
    this.vms.delete(vmExternalId);
  }

  async attachDisk(request: AttachDiskRequest): Promise<PlatformVm> {
    const m = this.created(request.vmExternalId);
    this.requireIdle(m, "add a disk to");
    const next = planAttachDisk(request, m.vm, await this.inventory(), (ds) => ds.freeBytes);
    if (request.disk.encrypted) this.requireReachable(m.vm.keyProviderExternalId!);
    m.vm = next;
    m.disks.set(request.disk.deviceKey, new MemoryDisk(request.disk.capacityBytes));
    m.cbt.set(request.disk.deviceKey, new MemoryCbt()); // a new disk: every block of it is changed since any earlier id
    return structuredClone(next);
  }

  async detachDisk(vmExternalId: string, deviceKey: number): Promise<PlatformVm> {
    const m = this.created(vmExternalId);
    this.requireIdle(m, "remove a disk of");
    if (!m.vm.disks.some((d) => d.deviceKey === deviceKey)) throw new HostError("NotFound", `${m.vm.name} has no disk ${deviceKey}`);
    if (m.vm.disks.length === 1) throw new HostError("InvalidArgument", `${m.vm.name} has only this disk: a VM keeps at least one`);
    m.vm = { ...m.vm, disks: m.vm.disks.filter((d) => d.deviceKey !== deviceKey) };
    m.disks.delete(deviceKey);
    m.cbt.delete(deviceKey);
    return structuredClone(m.vm);
  }

  async vmRuntime(vmExternalId: string): Promise<VmRuntime> {
    const m = this.created(vmExternalId);
    const vm = m.vm;
    return {
      vmExternalId,
      powerState: vm.powerState,
      hasFiles: true,
      encrypted: vm.encrypted,
      keyProviderExternalId: vm.keyProviderExternalId,
      keyId: vm.keyId,
      disks: vm.disks.map((d) => ({ deviceKey: d.deviceKey, capacityBytes: d.capacityBytes, allocatedBytes: m.disks.get(d.deviceKey)!.chunks.size * CHUNK, encrypted: d.encrypted, changeId: null })),
      nics: vm.nics.map((n) => ({ ...n })),
    };
  }

  async powerOn(vmExternalId: string): Promise<VmRuntime> {
    const m = this.created(vmExternalId);
    if (m.vm.powerState === "poweredOn") throw new HostError("InvalidState", `${m.vm.name} is already powered on`);
    if (m.writers > 0) throw new HostError("InvalidState", `${m.vm.name} has a disk open for writing`);
    if (m.vm.encrypted) this.requireReachable(m.vm.keyProviderExternalId!);
    m.vm.powerState = "poweredOn";
    return this.vmRuntime(vmExternalId);
  }

  async powerOff(vmExternalId: string): Promise<VmRuntime> {
    const m = this.created(vmExternalId);
    if (m.vm.powerState === "poweredOff") throw new HostError("InvalidState", `${m.vm.name} is already powered off`);
    m.vm.powerState = "poweredOff";
    return this.vmRuntime(vmExternalId);
  }

  // ── backup host (created VMs only): reading back what was written ──

  async openDiskForBackup(o: OpenDiskForBackupOptions): Promise<BackupDisk> {
    const m = this.created(o.vmExternalId);
    const pd = m.vm.disks.find((d) => d.deviceKey === o.deviceKey);
    if (!pd) throw new HostError("NotFound", `${m.vm.name} has no disk ${o.deviceKey}`);
    const decision = checkTransport(o.mode, { encrypted: pd.encrypted, keyProviderExternalId: pd.encrypted ? m.vm.keyProviderExternalId : null }, o.proxy, {
      keyProviderReachable: !m.vm.keyProviderExternalId || !this.unreachable.has(m.vm.keyProviderExternalId),
    });
    if (!decision.allowed) throw decision.error;
    if (!m.snapshot) {
      m.snapshot = new Map([...m.disks].map(([k, d]) => [k, d.clone()]));
      m.snapshotChangeIds = new Map([...m.cbt].map(([k, c]) => [k, c.closeEpoch()]));
    }
    const disk = m.snapshot.get(o.deviceKey)!;
    const reader: TransportReader = {
      capacityBytes: disk.capacityBytes,
      mode: o.mode,
      async read(offset, length) {
        const b = Buffer.alloc(length);
        disk.readInto(offset, b);
        return b;
      },
      async readInto(offset, target) {
        disk.readInto(offset, target);
      },
      async close() {},
    };
    return { reader, snapshotId: "memory-snapshot", changeId: m.snapshotChangeIds!.get(o.deviceKey)! };
  }

  async queryChangedAreas(q: ChangedAreasQuery): Promise<DiskArea[]> {
    const m = this.created(q.vmExternalId);
    if (!m.snapshot) throw new HostError("NotFound", `${m.vm.name} has no snapshot`);
    const disk = m.snapshot.get(q.deviceKey);
    if (!disk) throw new HostError("NotFound", `${m.vm.name} has no disk ${q.deviceKey}`);
    const chunks = q.changeId === "*" ? [...disk.chunks.keys()].sort((a, b) => a - b) : m.cbt.get(q.deviceKey)!.since(q.changeId);
    const areas: DiskArea[] = [];
    for (const i of chunks) {
      const start = i * CHUNK;
      const end = Math.min(start + CHUNK, disk.capacityBytes);
      const last = areas[areas.length - 1];
      if (last && last.start + last.length === start) last.length = end - last.start;
      else areas.push({ start, length: end - start });
    }
    const from = q.startOffset ?? 0;
    return areas.filter((a) => a.start + a.length > from).map((a) => (a.start >= from ? a : { start: from, length: a.start + a.length - from }));
  }

  async releaseSnapshot(vmExternalId: string): Promise<void> {
    const m = this.created(vmExternalId);
    m.snapshot = null;
    m.snapshotChangeIds = null;
  }

  // ── replica restore points (replica-host.ts): frozen copies of the disks ──

  async createSnapshot(vmExternalId: string, name: string): Promise<ReplicaSnapshot> {
    const m = this.forPoints(vmExternalId);
    if (!validReplicaPointName(name)) throw new HostError("InvalidArgument", "a replica point's name must be 1–80 printable characters");
    const point: ReplicaSnapshot = {
      id: `rp-${randomUUID().slice(0, 8)}`,
      name,
      createdAt: new Date().toISOString(),
      disks: [...m.cbt].map(([deviceKey, c]) => ({ deviceKey, changeId: c.closeEpoch() })),
    };
    m.points.push({ point, disks: new Map([...m.disks].map(([k, d]) => [k, d.clone()])) });
    return structuredClone(point);
  }

  async listSnapshots(vmExternalId: string): Promise<ReplicaSnapshot[]> {
    return this.created(vmExternalId).points.map((p) => structuredClone(p.point));
  }

  async revertToSnapshot(vmExternalId: string, snapshotId: string): Promise<void> {
    const m = this.forPoints(vmExternalId);
    const k = this.pointIndex(m, snapshotId);
    for (const [deviceKey, frozen] of m.points[k].disks) {
      const live = m.disks.get(deviceKey)!;
      const cbt = m.cbt.get(deviceKey)!;
      // Reverted chunks are changed (CBT), and only those: as the lab, which restores just the blocks written since.
      for (const i of new Set([...live.chunks.keys(), ...frozen.chunks.keys()])) {
        const a = live.chunks.get(i);
        const b = frozen.chunks.get(i);
        if (!(a && b ? a.equals(b) : isZero(a ?? b!))) cbt.record(i * CHUNK, 1);
      }
      live.chunks.clear();
      for (const [i, b] of frozen.chunks) live.chunks.set(i, Buffer.from(b));
    }
    m.points.splice(k + 1);
  }

  async removeSnapshot(vmExternalId: string, snapshotId: string): Promise<void> {
    const m = this.forPoints(vmExternalId, true); // a running VM's points may go (a permanent failover commits them)
    m.points.splice(this.pointIndex(m, snapshotId), 1);
  }

  // ── failover (failover-host.ts) ──

  async checkKey(q: KeyCheckRequest): Promise<KeyCheck> {
    const kp = this.estate.keyProviders.find((k) => k.externalId === q.keyProviderExternalId && k.siteExternalId === q.siteExternalId);
    if (!kp) throw new HostError("NotFound", `site ${q.siteExternalId} has no key provider ${q.keyProviderExternalId}`);
    if (this.unreachable.has(kp.externalId)) return { ok: false, reason: "unreachable", message: `${kp.name} does not answer` };
    if (!this.keyIds(kp.externalId).has(q.keyId)) return { ok: false, reason: "key-not-found", message: `${kp.name} has no key ${q.keyId}` };
    return { ok: true };
  }

  async setNetworks(vmExternalId: string, choices: readonly NetworkChoice[]): Promise<PlatformVm> {
    const m = this.created(vmExternalId);
    if (m.vm.powerState !== "poweredOff") throw new HostError("InvalidState", `${m.vm.name} is ${m.vm.powerState}: power it off to reconnect its network adapters`);
    m.vm = { ...m.vm, nics: planNetworks(m.vm, choices, this.estate.networks) };
    return structuredClone(m.vm);
  }

  private forPoints(vmExternalId: string, running = false): MemoryVm {
    const m = this.created(vmExternalId);
    if (!running && m.vm.powerState !== "poweredOff") throw new HostError("InvalidState", `${m.vm.name} is ${m.vm.powerState}: power it off to change its replica points`);
    if (m.writers > 0) throw new HostError("InvalidState", `${m.vm.name} has a disk open for writing`);
    return m;
  }

  private pointIndex(m: MemoryVm, snapshotId: string): number {
    const k = m.points.findIndex((p) => p.point.id === snapshotId);
    if (k < 0) throw new HostError("NotFound", `${m.vm.name} has no replica point ${snapshotId}`);
    return k;
  }

  async vmFiles(vmExternalId: string): Promise<VmFiles> {
    const m = this.created(vmExternalId);
    return { nvram: m.nvram && Buffer.from(m.nvram), keyId: m.vm.keyId, keyProviderExternalId: m.vm.keyProviderExternalId, encryptionBundle: m.bundle };
  }

  private created(vmExternalId: string): MemoryVm {
    const m = this.vms.get(vmExternalId);
    if (!m) throw new HostError("NotFound", `no VM ${vmExternalId} on this platform`);
    return m;
  }

  private requireIdle(m: MemoryVm, what: string): void {
    if (m.vm.powerState !== "poweredOff") throw new HostError("InvalidState", `${m.vm.name} is ${m.vm.powerState}: power it off to ${what} it`);
    if (m.writers > 0 || m.snapshot) throw new HostError("InvalidState", `${m.vm.name} has a disk open: close it first`);
  }

  private keyIds(kp: string): Set<string> {
    let s = this.keys.get(kp);
    if (!s) this.keys.set(kp, (s = new Set()));
    return s;
  }

  private requireReachable(kp: string): void {
    if (this.unreachable.has(kp)) throw new HostError("KeyProviderUnavailable", `the key provider ${kp} cannot be reached`);
  }

  private freeBytes(dsId: string, estateFree: number): number {
    let used = 0;
    for (const m of this.vms.values()) for (const d of m.vm.disks) if (d.datastoreExternalId === dsId) used += d.capacityBytes;
    return estateFree - used;
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function checkRange(offset: number, length: number, capacity: number): void {
  if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) throw new HostError("InvalidArgument", `offset ${offset} and length ${length} must be multiples of ${SECTOR_SIZE}`);
  if (offset < 0 || offset + length > capacity) throw new HostError("InvalidArgument", `${length} bytes at ${offset} lie beyond the disk's ${capacity} bytes`);
}
