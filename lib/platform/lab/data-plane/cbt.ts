// Changed block tracking (INV-4), like vSphere's `<disk>-ctk.vmdk` and VADP's
// QueryChangedDiskAreas. Time is cut into change epochs; creating a snapshot closes the current
// epoch. For every 1 MiB block the file keeps the epoch in which the block last changed (0 =
// never since tracking began), which answers "what changed since epoch n" exactly: every block
// whose epoch is ≥ n. (A list of blocks per epoch holds the same answer but grows with every
// snapshot; the per-block epoch is fixed-size, as vSphere's own ctk is.)
//
// Change ids are "<tracker uuid>/<epoch>". "<uuid>/n" means "the disk as it was when epoch n
// began"; a snapshot's change id is the epoch its creation opened. An id with another uuid
// (foreign, or from before a reset), a future epoch or a malformed text → HostError "FileFault",
// which makes a backup fall back to a full read (BKP-2).
//
// File layout (formats.ts): header (magic SRCT, version, block count, current epoch, uuid), then
// one u32 LE epoch per block. Change records are written before the data they describe (write
// ahead), so a crash can only over-report a change, never lose one. A missing or damaged file
// starts tracking afresh under a new uuid — exactly a CBT reset.

import { randomUUID } from "node:crypto";
import { open, readFile, type FileHandle } from "node:fs/promises";
import { writeFileAtomic } from "./atomic-file";
import { FORMAT_VERSION, HEADER_SIZE, MAGIC } from "./formats";
import { CBT_BLOCK_SIZE, HostError, type DiskArea } from "./types";

const CHANGE_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/([1-9]\d{0,9})$/;

export class ChangeTracker {
  private constructor(
    private readonly file: string,
    private handle: FileHandle,
    private trackerUuid: string,
    private epoch: number,
    private readonly epochs: Uint32Array,
    /** True when open() found no usable file and started afresh. */
    readonly startedFresh: boolean,
  ) {}

  /** Tracking for a new disk: epoch 1, nothing changed yet. */
  static async create(file: string, blockCount: number): Promise<ChangeTracker> {
    const epochs = new Uint32Array(blockCount);
    const uuid = randomUUID();
    await writeFileAtomic(file, encode(uuid, 1, epochs));
    return new ChangeTracker(file, await open(file, "r+"), uuid, 1, epochs, true);
  }

  static async open(file: string, blockCount: number): Promise<ChangeTracker> {
    const raw = await readFile(file).catch(() => null);
    const expected = HEADER_SIZE.changeTracking + blockCount * 4;
    if (
      !raw || raw.length !== expected || !raw.subarray(0, 4).equals(MAGIC.changeTracking) ||
      raw[4] !== FORMAT_VERSION.changeTracking || raw.readUInt32LE(8) !== blockCount || raw.readUInt32LE(12) < 1
    ) {
      return ChangeTracker.create(file, blockCount); // vSphere resets CBT on an unusable ctk file
    }
    const epochs = new Uint32Array(blockCount);
    for (let b = 0; b < blockCount; b++) epochs[b] = raw.readUInt32LE(HEADER_SIZE.changeTracking + b * 4);
    const uuid = uuidFromBytes(raw.subarray(16, 32));
    return new ChangeTracker(file, await open(file, "r+"), uuid, raw.readUInt32LE(12), epochs, false);
  }

  get uuid(): string {
    return this.trackerUuid;
  }
  get currentEpoch(): number {
    return this.epoch;
  }

  /** The disk as it is now. Writes already made in the open epoch are reported again (safe). */
  currentChangeId(): string {
    return `${this.trackerUuid}/${this.epoch}`;
  }

  /** Records that bytes [offset, offset+length) change now. Call before writing them. */
  async recordChange(offset: number, length: number): Promise<void> {
    if (length <= 0) return;
    const first = Math.floor(offset / CBT_BLOCK_SIZE);
    const last = Math.floor((offset + length - 1) / CBT_BLOCK_SIZE);
    let runStart = -1;
    for (let b = first; b <= last + 1; b++) {
      const dirty = b <= last && this.epochs[b] !== this.epoch;
      if (dirty && runStart < 0) runStart = b;
      if (!dirty && runStart >= 0) {
        this.epochs.fill(this.epoch, runStart, b);
        const bytes = Buffer.from(this.epochs.buffer, this.epochs.byteOffset + runStart * 4, (b - runStart) * 4);
        await this.handle.write(bytes, 0, bytes.length, HEADER_SIZE.changeTracking + runStart * 4);
        runStart = -1;
      }
    }
  }

  /** Closes the current epoch (a snapshot is being taken) and returns the new epoch's change id. */
  async closeEpoch(): Promise<string> {
    this.epoch += 1;
    const header = Buffer.alloc(4);
    header.writeUInt32LE(this.epoch);
    await this.handle.write(header, 0, 4, 12);
    await this.handle.sync(); // a snapshot's change id must not be forgotten
    return this.currentChangeId();
  }

  /** Blocks changed since `changeId` (sorted). HostError FileFault for an unknown id. */
  changedBlocks(changeId: string): number[] {
    const since = this.epochOf(changeId);
    const out: number[] = [];
    for (let b = 0; b < this.epochs.length; b++) if (this.epochs[b] >= since) out.push(b);
    return out;
  }

  /**
   * QueryChangedDiskAreas: merged areas changed since `changeId`, from `startOffset` on. "*" asks
   * for every area in use, which only the disk knows: `allocatedBlocks` answers it.
   */
  queryChangedAreas(changeId: string, o: { capacityBytes: number; allocatedBlocks: () => number[]; startOffset?: number }): DiskArea[] {
    const blocks = changeId === "*" ? o.allocatedBlocks() : this.changedBlocks(changeId);
    const areas = blocksToAreas(blocks, o.capacityBytes);
    const from = o.startOffset ?? 0;
    return areas
      .filter((a) => a.start + a.length > from)
      .map((a) => (a.start >= from ? a : { start: from, length: a.start + a.length - from }));
  }

  /** CBT reset: a new uuid, so every earlier change id becomes unknown (FileFault). */
  async reset(): Promise<string> {
    this.trackerUuid = randomUUID();
    this.epoch = 1;
    this.epochs.fill(0);
    await this.handle.close();
    await writeFileAtomic(this.file, encode(this.trackerUuid, 1, this.epochs));
    this.handle = await open(this.file, "r+");
    return this.currentChangeId();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private epochOf(changeId: string): number {
    const m = typeof changeId === "string" ? changeId.match(CHANGE_ID) : null;
    if (!m) throw new HostError("FileFault", `malformed change id "${String(changeId).slice(0, 80)}"`);
    if (m[1] !== this.trackerUuid) throw new HostError("FileFault", `unknown change id ${changeId}: changed block tracking was reset or the id belongs to another disk`);
    const epoch = Number(m[2]);
    if (epoch > this.epoch) throw new HostError("FileFault", `unknown change id ${changeId}: from the future (current epoch ${this.epoch})`);
    return epoch;
  }
}

/** Sorted block numbers → merged byte areas, the last one clipped to the capacity. */
export function blocksToAreas(blocks: readonly number[], capacityBytes: number): DiskArea[] {
  const areas: DiskArea[] = [];
  for (const b of blocks) {
    const start = b * CBT_BLOCK_SIZE;
    const end = Math.min(start + CBT_BLOCK_SIZE, capacityBytes);
    const last = areas[areas.length - 1];
    if (last && last.start + last.length === start) last.length = end - last.start;
    else areas.push({ start, length: end - start });
  }
  return areas;
}

function encode(uuid: string, epoch: number, epochs: Uint32Array): Buffer {
  const out = Buffer.alloc(HEADER_SIZE.changeTracking + epochs.length * 4);
  MAGIC.changeTracking.copy(out, 0);
  out[4] = FORMAT_VERSION.changeTracking;
  out.writeUInt32LE(epochs.length, 8);
  out.writeUInt32LE(epoch, 12);
  Buffer.from(uuid.replace(/-/g, ""), "hex").copy(out, 16);
  Buffer.from(epochs.buffer, epochs.byteOffset, epochs.byteLength).copy(out, HEADER_SIZE.changeTracking);
  return out;
}

function uuidFromBytes(b: Buffer): string {
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
