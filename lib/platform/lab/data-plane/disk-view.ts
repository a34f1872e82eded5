// A view of a virtual disk through a stack of extents (top first: a snapshot delta above its base),
// as raw stored bytes or as cleartext. For each 1 MiB block the topmost extent that has the block
// allocated supplies it; a block no extent has is zeros — it is never decrypted, because a hole
// in an encrypted disk is not ciphertext of anything.
//
// Writes go to the top extent. The first write to a block there initialises the whole block, so
// an allocated block is always complete: from the extent below (copy-on-write of stored bytes —
// ciphertext stays valid because the XTS tweak is the disk's sector number, not a file offset) or,
// when no extent has it, zeros (encrypted zeros on an encrypted disk).
//
// Buffers: reads go straight into the caller's buffer and are decrypted in place; writes use
// 1 MiB buffers owned by the view (one or two per write in progress), allocated on first use and
// reused. Writes may run concurrently when they touch different blocks (VirtualDisk locks blocks).

import type { DiskFile } from "./disk-file";
import { CBT_BLOCK_SIZE, HostError, SECTOR_SIZE, type DiskReader } from "./types";
import type { XtsCipher } from "./xts";
import { labXtsPool } from "./xts-pool";

export type ViewMode = "raw" | "cleartext";

/** Idle write buffers a view keeps (more are allocated while more writes run, then dropped). */
const MAX_SPARE = 16;

export class DiskView {
  /** Idle 1 MiB write buffers (ciphertext of a write, or a block being initialised). */
  private readonly spare: Buffer[] = [];

  /** `xts` null: raw view (or a disk that is not encrypted). */
  constructor(
    private readonly layers: readonly DiskFile[],
    private readonly xts: XtsCipher | null,
  ) {
    if (layers.length === 0) throw new Error("a disk view needs at least one extent");
  }

  get capacityBytes(): number {
    return this.layers[0].capacityBytes;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length, this.capacityBytes);
    const target = Buffer.alloc(length);
    await this.fill(offset, target);
    return target;
  }

  /** Fills `target` (a whole number of sectors) from `offset`; allocates nothing. */
  async readInto(offset: number, target: Buffer): Promise<void> {
    checkRange(offset, target.length, this.capacityBytes);
    await this.fill(offset, target);
  }

  private async fill(offset: number, target: Buffer): Promise<void> {
    const end = offset + target.length;
    let at = offset;
    while (at < end) {
      // One run: consecutive blocks served by the same extent (or by none) → one pread.
      const source = this.sourceOf(blockOf(at));
      let runEnd = Math.min(end, (blockOf(at) + 1) * CBT_BLOCK_SIZE);
      while (runEnd < end && this.sourceOf(blockOf(runEnd)) === source) runEnd = Math.min(end, runEnd + CBT_BLOCK_SIZE);
      const part = target.subarray(at - offset, runEnd - offset);
      if (!source) part.fill(0);
      else {
        await source.readStored(at, part);
        this.xts?.decryptSectors(at / SECTOR_SIZE, part, part);
      }
      at = runEnd;
    }
  }

  private sourceOf(block: number): DiskFile | undefined {
    return this.layers.find((l) => l.isAllocated(block));
  }

  /**
   * Writes cleartext `data` at `offset` into the top extent. Concurrent writes must touch
   * different blocks: the owner (VirtualDisk) orders writes to one block.
   */
  async write(offset: number, data: Buffer): Promise<void> {
    checkRange(offset, data.length, this.capacityBytes);
    const scratch = this.spare.pop() ?? Buffer.alloc(CBT_BLOCK_SIZE);
    try {
      await this.writeWith(offset, data, scratch);
    } finally {
      if (this.spare.length < MAX_SPARE) this.spare.push(scratch);
    }
  }

  private async writeWith(offset: number, data: Buffer, scratch: Buffer): Promise<void> {
    const top = this.layers[0];
    const end = offset + data.length;
    for (let at = offset; at < end; ) {
      const block = blockOf(at);
      const blockStart = block * CBT_BLOCK_SIZE;
      const blockEnd = Math.min(blockStart + CBT_BLOCK_SIZE, this.capacityBytes);
      const segEnd = Math.min(end, blockEnd);
      const segment = data.subarray(at - offset, segEnd - offset);
      if (top.isAllocated(block) || (at === blockStart && segEnd === blockEnd)) {
        await top.writeStored(at, await this.stored(at, segment, scratch));
      } else {
        await this.initialiseAndWrite(block, blockStart, blockEnd, at, segment);
      }
      if (!top.isAllocated(block)) await top.markAllocated(block); // after the data: a crash leaves a hole, never a half block
      at = segEnd;
    }
  }

  /** First partial write to a block of the top extent: build the whole block, then write it. */
  private async initialiseAndWrite(block: number, blockStart: number, blockEnd: number, at: number, segment: Buffer): Promise<void> {
    const top = this.layers[0];
    const below = this.layers.slice(1).find((l) => l.isAllocated(block));
    if (!below && !this.xts) {
      // Unencrypted, nothing below: the rest of the block is already zeros (a file hole).
      await top.writeStored(at, segment);
      return;
    }
    const buffer = this.spare.pop() ?? Buffer.alloc(CBT_BLOCK_SIZE);
    try {
      const whole = buffer.subarray(0, blockEnd - blockStart);
      if (below) await below.readStored(blockStart, whole);
      else {
        whole.fill(0);
        this.xts!.encryptSectors(blockStart / SECTOR_SIZE, whole, whole);
      }
      const slot = whole.subarray(at - blockStart, at - blockStart + segment.length);
      if (this.xts) this.xts.encryptSectors(at / SECTOR_SIZE, segment, slot);
      else segment.copy(slot);
      await top.writeStored(blockStart, whole);
    } finally {
      if (this.spare.length < MAX_SPARE) this.spare.push(buffer);
    }
  }

  /**
   * The bytes to store for cleartext `segment` at `at`: ciphertext in `scratch` (encrypted on the
   * host's XTS threads, xts-pool.ts), or itself.
   */
  private async stored(at: number, segment: Buffer, scratch: Buffer): Promise<Buffer> {
    if (!this.xts) return segment;
    const out = scratch.subarray(0, segment.length);
    await labXtsPool().encrypt(this.xts, at / SECTOR_SIZE, segment, out);
    return out;
  }
}

export function blockOf(offset: number): number {
  return Math.floor(offset / CBT_BLOCK_SIZE);
}

/** Sector-aligned, non-negative, inside the disk — else InvalidArgument, as a host answers. */
export function checkRange(offset: number, length: number, capacityBytes: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new HostError("InvalidArgument", `bad offset/length ${offset}/${length}`);
  }
  if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) {
    throw new HostError("InvalidArgument", `offset ${offset} and length ${length} must be multiples of ${SECTOR_SIZE}`);
  }
  if (offset + length > capacityBytes) {
    throw new HostError("InvalidArgument", `${offset}+${length} is beyond the disk's capacity of ${capacityBytes} bytes`);
  }
}

/**
 * A DiskReader over a view — or over whatever view `view()` returns at each call, for a reader of
 * the live disk that must follow snapshots coming and going. `onClose` lets the owner count readers.
 */
export function readerOf(view: DiskView | (() => DiskView), onClose?: () => void): DiskReader {
  let closed = false;
  const current = () => {
    if (closed) throw new HostError("InvalidState", "the disk reader is closed");
    return typeof view === "function" ? view() : view;
  };
  return {
    capacityBytes: (typeof view === "function" ? view() : view).capacityBytes,
    read: async (offset, length) => current().read(offset, length),
    readInto: async (offset, target) => current().readInto(offset, target),
    close: async () => {
      if (closed) return;
      closed = true;
      onClose?.();
    },
  };
}
