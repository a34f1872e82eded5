// The simulated guest of a lab VM (INV-4): what guestWrites does to one live disk. The estate's
// disks are 40 GiB to 1 TiB; the lab writes only a bounded amount of content into them (the
// first fill: `dataBytes` at the start of the disk, the rest stays sparse) and later rewrites a
// fraction of the blocks written so far. Every write goes through VirtualDisk.write, so CBT sees it.
//
// VMs whose guest encrypts its own disks (VME-5: BitLocker, LUKS) get their writes encrypted by a
// "guest" AES-256-XTS key before the host sees them: their blocks are opaque to the host and to a
// backup (nothing compresses), exactly what VME-5 says; CBT still works.

import { createHash } from "node:crypto";
import { CBT_BLOCK_SIZE, DEFAULT_MIX, SECTOR_SIZE, XtsCipher, changeBlocks, fillDisk, type GuestDisk, type VirtualDisk } from "./data-plane";

export interface GuestWriteOptions {
  /** Share of the written blocks to rewrite (0 < f ≤ 1). */
  fraction: number;
  /** Seed of the rewrite; the first fill is seeded by `fillSeed`, so a VM's content is reproducible. */
  seed: string;
  fillSeed: string;
  /** Bytes of content the first fill writes (bounded by the capacity). */
  dataBytes: number;
  /** Key of the guest's own disk encryption (VME-5), or null. */
  guestKey: Buffer | null;
  /** Awaited before each write reaches the disk (the copy-on-write of replica points). */
  beforeWrite?: (offset: number, length: number) => Promise<void>;
}

export interface DiskWriteResult {
  changedBlocks: number;
  bytesWritten: number;
  filled: boolean;
}

/** The guest OS's own disk-encryption key of a VM (deterministic: the guest keeps it, not the lab). */
export function guestDiskKey(vmExternalId: string): Buffer {
  return createHash("sha512").update(`strongroom lab guest-os encryption|${vmExternalId}`).digest();
}

/** Fills an empty disk, or rewrites `fraction` of its written blocks. */
export async function guestWrite(disk: VirtualDisk, o: GuestWriteOptions): Promise<DiskWriteResult> {
  const written = disk.allocatedBlocks("live");
  if (written.length === 0) {
    const prefix = Math.min(disk.capacityBytes, Math.max(SECTOR_SIZE, Math.floor(o.dataBytes / SECTOR_SIZE) * SECTOR_SIZE));
    const target = new GuestView(disk, prefix, null, o.guestKey, o.beforeWrite);
    const report = await fillDisk(target, DEFAULT_MIX, o.fillSeed);
    const { zeros, random, repeated, text } = report.blocks;
    return { changedBlocks: zeros.length + random.length + repeated.length + text.length, bytesWritten: target.bytesWritten, filled: true };
  }
  // Only whole blocks: changeBlocks writes within one block of its view, and a view block must
  // map onto a whole disk block.
  const whole = written.filter((b) => (b + 1) * CBT_BLOCK_SIZE <= disk.capacityBytes);
  if (whole.length === 0) return { changedBlocks: 0, bytesWritten: 0, filled: false };
  const target = new GuestView(disk, whole.length * CBT_BLOCK_SIZE, whole, o.guestKey, o.beforeWrite);
  const changed = await changeBlocks(target, o.fraction, o.seed);
  return { changedBlocks: changed.length, bytesWritten: target.bytesWritten, filled: false };
}

/**
 * A GuestDisk over part of a live disk: its first `capacityBytes`, or — with `blocks` — a compact
 * view whose block i is disk block blocks[i] (so the workload picks among written blocks only).
 */
class GuestView implements GuestDisk {
  bytesWritten = 0;
  private readonly xts: XtsCipher | null;
  private scratch: Buffer | null = null;

  constructor(
    private readonly disk: VirtualDisk,
    readonly capacityBytes: number,
    private readonly blocks: readonly number[] | null,
    guestKey: Buffer | null,
    private readonly beforeWrite?: (offset: number, length: number) => Promise<void>,
  ) {
    this.xts = guestKey ? new XtsCipher(guestKey) : null;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    let at = offset;
    if (this.blocks) {
      const i = Math.floor(offset / CBT_BLOCK_SIZE);
      const within = offset - i * CBT_BLOCK_SIZE;
      if (within + data.length > CBT_BLOCK_SIZE) throw new RangeError("a guest write may not cross a block of the compact view");
      at = this.blocks[i] * CBT_BLOCK_SIZE + within;
    }
    let payload = data;
    if (this.xts) {
      // The guest encrypts by disk sector, as BitLocker and LUKS do.
      this.scratch ??= Buffer.alloc(CBT_BLOCK_SIZE);
      payload = data.length <= this.scratch.length ? this.scratch.subarray(0, data.length) : Buffer.alloc(data.length);
      this.xts.encryptSectors(at / SECTOR_SIZE, data, payload);
    }
    await this.beforeWrite?.(at, payload.length);
    await this.disk.write(at, payload);
    this.bytesWritten += data.length;
  }
}
