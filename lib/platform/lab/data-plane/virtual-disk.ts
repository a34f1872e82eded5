// A virtual disk as its host sees it: the base VMDK, a snapshot delta above it while a snapshot
// exists, changed block tracking, and — for an encrypted disk whose VM is unlocked — the DEK in
// memory. Guest writes (the workload) come here: CBT records them, then they land in the top
// extent. snapshot.ts adds and removes the delta.
//
// Writes run side by side, as a host serves a restoring proxy's parallel writes: writes to
// different 1 MiB blocks at once, writes touching the same block one after the other (a first
// partial write of a block reads, patches and writes the whole block; CBT records it first).
// Snapshot changes, a CBT reset and close are exclusive: they wait for the writes in progress and
// hold back the ones after them (arrivals served in order), so a snapshot never cuts a write in
// half. Every block is still encrypted by this host (VME-1) before it is stored. Reads are not
// queued: a block is visible to readers only after its data is written (the allocation bit comes
// last), so a concurrent read sees the old or the new content.

import path from "node:path";
import { ChangeTracker } from "./cbt";
import { DiskFile, blockCountOf, type CreateDiskOptions } from "./disk-file";
import { BlockLocks } from "./block-locks";
import { DiskView, blockOf, checkRange, readerOf, type ViewMode } from "./disk-view";
import { WriteGate } from "../transport/write-gate";
import { FILE_SUFFIX } from "./formats";
import { HostError, type DiskArea, type DiskReader, type GuestDisk } from "./types";
import { XtsCipher } from "./xts";

export class VirtualDisk implements GuestDisk {
  private deltaFile: DiskFile | null = null;
  private xts: XtsCipher | null = null;
  private view: DiskView;
  /** Writes shared, snapshot changes / CBT reset / close exclusive (FIFO). */
  private readonly gate = new WriteGate();
  /** Writes in progress per 1 MiB block: a write waits for the earlier ones on its blocks. */
  private readonly blockLocks = new BlockLocks();
  /** Open readers of the frozen (snapshot) content; a snapshot cannot be removed under them. */
  snapshotReaders = 0;
  /** Set while snapshot.ts merges the delta: no new snapshot reader may start. */
  consolidating = false;

  private constructor(
    readonly baseFile: DiskFile,
    readonly tracker: ChangeTracker,
  ) {
    this.view = new DiskView([baseFile], null);
  }

  /** A new, empty disk `<dir>/<name>.vmdk` with change tracking on. */
  static async create(dir: string, name: string, o: CreateDiskOptions): Promise<VirtualDisk> {
    const base = await DiskFile.create(dir, name, o);
    const tracker = await ChangeTracker.create(ctkPath(dir, name), base.blockCount);
    return new VirtualDisk(base, tracker);
  }

  /** Opens a disk; `deltaName` is the snapshot delta on top of it, if the VM has a snapshot. */
  static async open(dir: string, name: string, deltaName?: string | null): Promise<VirtualDisk> {
    const base = await DiskFile.open(dir, name);
    const tracker = await ChangeTracker.open(ctkPath(dir, name), blockCountOf(base.capacityBytes));
    const disk = new VirtualDisk(base, tracker);
    if (deltaName) {
      const delta = await DiskFile.open(dir, deltaName);
      if (delta.descriptor.parentCid !== base.descriptor.cid || delta.capacityBytes !== base.capacityBytes) {
        await Promise.all([delta.close(), base.close(), tracker.close()]);
        throw new HostError("FileFault", `${deltaName} is not a delta of ${name} (parent CID mismatch)`);
      }
      disk.setDelta(delta);
    }
    return disk;
  }

  get name(): string {
    return this.baseFile.baseName;
  }
  get dir(): string {
    return this.baseFile.dir;
  }
  get capacityBytes(): number {
    return this.baseFile.capacityBytes;
  }
  get encrypted(): boolean {
    return this.baseFile.encrypted;
  }
  get uuid(): string {
    return this.baseFile.descriptor.uuid;
  }
  get keyId(): string | null {
    return this.baseFile.descriptor.keyId;
  }
  get delta(): DiskFile | null {
    return this.deltaFile;
  }
  /** An unencrypted disk is always usable; an encrypted one once its DEK is loaded. */
  get unlocked(): boolean {
    return !this.encrypted || this.xts !== null;
  }

  /** Loads the DEK (HostError CryptoKeyMismatch if it is not this disk's key). */
  unlock(dek: Buffer): void {
    if (!this.encrypted) return;
    this.baseFile.checkKey(dek);
    this.xts = new XtsCipher(dek);
    this.rebuildView();
  }

  /** Forgets the DEK (the VM was closed or its keys revoked). */
  lock(): void {
    this.xts = null;
    this.rebuildView();
  }

  /** A guest write of cleartext: recorded by CBT first, then stored in the top extent. */
  async write(offset: number, data: Buffer): Promise<void> {
    await this.gate.run(false, async () => {
      this.requireKey();
      // Validate before recording, so a refused write does not show up as a change.
      checkRange(offset, data.length, this.capacityBytes);
      if (data.length === 0) return;
      const release = await this.blockLocks.acquire(blockOf(offset), blockOf(offset + data.length - 1));
      try {
        await this.tracker.recordChange(offset, data.length);
        await this.view.write(offset, data);
      } finally {
        release();
      }
    });
  }

  /** The live disk (base + delta) in cleartext. */
  async read(offset: number, length: number): Promise<Buffer> {
    this.requireKey();
    return this.view.read(offset, length);
  }

  async readInto(offset: number, target: Buffer): Promise<void> {
    this.requireKey();
    return this.view.readInto(offset, target);
  }

  /** A reader of the live disk; "raw" is the stored bytes (ciphertext when encrypted). */
  openLive(mode: ViewMode): DiskReader {
    if (mode === "raw") return readerOf(() => new DiskView(this.layers(), null));
    this.requireKey();
    return readerOf(() => (this.requireKey(), this.view)); // follows snapshots, and a lock()
  }

  /** Blocks holding data in the live disk, or in the base alone (the snapshot's content). */
  allocatedBlocks(scope: "live" | "base" = "live"): number[] {
    const base = this.baseFile.allocatedBlocks();
    if (scope === "base" || !this.deltaFile) return base;
    return [...new Set([...base, ...this.deltaFile.allocatedBlocks()])].sort((a, b) => a - b);
  }

  /** QueryChangedDiskAreas on the live disk ("*" = every allocated area). */
  queryChangedAreas(changeId: string, startOffset = 0): DiskArea[] {
    return this.tracker.queryChangedAreas(changeId, { capacityBytes: this.capacityBytes, allocatedBlocks: () => this.allocatedBlocks("live"), startOffset });
  }

  /** CBT reset (e.g. after a restore over the disk): every older change id becomes unknown. */
  resetChangeTracking(): Promise<string> {
    return this.exclusive(() => this.tracker.reset());
  }

  /** Runs `work` with no guest write or snapshot change in progress. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.gate.run(true, work);
  }

  /** snapshot.ts: put a delta on top (or take it away after merging). Call inside exclusive(). */
  setDelta(delta: DiskFile | null): void {
    this.deltaFile = delta;
    this.rebuildView();
  }

  /** The frozen content under a snapshot (the base alone). */
  frozenView(mode: ViewMode): DiskView {
    if (mode === "cleartext") this.requireKey();
    return new DiskView([this.baseFile], mode === "cleartext" ? this.xts : null);
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      this.xts = null;
      await Promise.all([this.baseFile.close(), this.deltaFile?.close(), this.tracker.close()]);
    });
  }

  private layers(): DiskFile[] {
    return this.deltaFile ? [this.deltaFile, this.baseFile] : [this.baseFile];
  }

  private rebuildView(): void {
    this.view = new DiskView(this.layers(), this.xts);
  }

  private requireKey(): void {
    if (!this.unlocked) throw new HostError("InvalidState", `${this.name} is encrypted and its key is not loaded (the VM is locked)`);
  }
}

export function ctkPath(dir: string, name: string): string {
  return path.join(dir, name + FILE_SUFFIX.changeTracking);
}
