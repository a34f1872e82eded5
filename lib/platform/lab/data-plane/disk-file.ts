// One VMDK on a datastore folder, laid out like vSphere's files (INV-4):
//   <base>.vmdk           descriptor (text, disk-descriptor.ts)
//   <base>-flat.vmdk      flat extent: sparse file, length = capacity, created with truncate
//                         (a snapshot delta's extent is <base>-delta.vmdk, same layout)
//   <base>-alloc.map      allocation map of 1 MiB blocks: header (formats.ts) + bitmap, bit b of
//                         byte b>>3 (LSB first) set once block b holds data
// Encrypted disks store only XTS ciphertext in the extent. The map matters for them: a hole reads
// as zeros, and zeros are not a valid ciphertext, so reads must know which blocks to decrypt.
//
// This class moves stored bytes; DiskView (disk-view.ts) adds layering and encryption on top.

import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { open, readFile, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "./atomic-file";
import { formatDescriptor, parseDescriptor, type DiskDescriptor } from "./disk-descriptor";
import { DiskView, readerOf } from "./disk-view";
import { FILE_SUFFIX, FORMAT_VERSION, HEADER_SIZE, KEY_SIZE, MAGIC } from "./formats";
import { CBT_BLOCK_SIZE, HostError, SECTOR_SIZE, type DiskReader } from "./types";
import { XtsCipher } from "./xts";

export interface CreateDiskOptions {
  capacityBytes: number;
  encrypted: boolean;
  /** The KEK id the disk's key chain starts from (the VM's keyId); encrypted disks only. */
  keyId?: string | null;
  /** The disk's DEK, to record a key check value; required when encrypted. */
  dek?: Buffer;
  uuid?: string;
}

export class DiskFile {
  private closed = false;
  private mapWrites: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly baseName: string,
    readonly descriptor: DiskDescriptor,
    private readonly extent: FileHandle,
    private readonly map: FileHandle,
    private readonly bitmap: Uint8Array,
  ) {}

  /** A new base disk `<dir>/<baseName>.vmdk` with an empty (all-hole) flat extent. */
  static async create(dir: string, baseName: string, o: CreateDiskOptions): Promise<DiskFile> {
    if (!Number.isSafeInteger(o.capacityBytes) || o.capacityBytes <= 0 || o.capacityBytes % SECTOR_SIZE !== 0) {
      throw new HostError("InvalidArgument", `disk capacity must be a positive multiple of ${SECTOR_SIZE}, got ${o.capacityBytes}`);
    }
    if (o.encrypted && !o.dek) throw new HostError("InvalidArgument", "an encrypted disk needs its DEK at creation");
    const uuid = o.uuid ?? randomUUID();
    return DiskFile.createFiles(dir, baseName, {
      cid: randomBytes(4).toString("hex"),
      parentCid: null,
      kind: "flat",
      capacityBytes: o.capacityBytes,
      extentFile: baseName + FILE_SUFFIX.flatExtent,
      allocationMapFile: baseName + FILE_SUFFIX.allocationMap,
      parentFileNameHint: null,
      uuid,
      encrypted: o.encrypted,
      keyId: o.encrypted ? (o.keyId ?? null) : null,
      keyCheck: o.encrypted ? keyCheckValue(o.dek!, uuid) : null,
    });
  }

  /**
   * A new, empty snapshot delta above `parent` (same capacity, uuid and keys), in `dir` (default
   * the parent's folder; replica points keep theirs in the VM home, lab-replica-points.ts).
   */
  static async createDelta(parent: DiskFile, baseName: string, dir: string = parent.dir): Promise<DiskFile> {
    const p = parent.descriptor;
    return DiskFile.createFiles(dir, baseName, {
      ...p,
      cid: randomBytes(4).toString("hex"),
      parentCid: p.cid,
      kind: "delta",
      extentFile: baseName + FILE_SUFFIX.deltaExtent,
      allocationMapFile: baseName + FILE_SUFFIX.allocationMap,
      parentFileNameHint: parent.baseName + FILE_SUFFIX.descriptor,
    });
  }

  private static async createFiles(dir: string, baseName: string, d: DiskDescriptor): Promise<DiskFile> {
    const extent = await open(path.join(dir, d.extentFile), "wx+");
    await extent.truncate(d.capacityBytes); // sparse: no blocks are used until written
    const blocks = blockCountOf(d.capacityBytes);
    const map = await open(path.join(dir, d.allocationMapFile), "wx+");
    const header = Buffer.alloc(HEADER_SIZE.allocationMap);
    MAGIC.allocationMap.copy(header, 0);
    header[4] = FORMAT_VERSION.allocationMap;
    header.writeUInt32LE(blocks, 8);
    await map.write(header, 0, header.length, 0);
    await map.truncate(HEADER_SIZE.allocationMap + Math.ceil(blocks / 8));
    // The descriptor last: its presence means the disk is complete.
    await writeFileAtomic(path.join(dir, baseName + FILE_SUFFIX.descriptor), formatDescriptor(d));
    return new DiskFile(dir, baseName, d, extent, map, new Uint8Array(Math.ceil(blocks / 8)));
  }

  static async open(dir: string, baseName: string): Promise<DiskFile> {
    const descriptorPath = path.join(dir, baseName + FILE_SUFFIX.descriptor);
    let text: string;
    try {
      text = await readFile(descriptorPath, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new HostError("NotFound", `no disk ${descriptorPath}`);
      throw err;
    }
    const d = parseDescriptor(text, descriptorPath);
    const blocks = blockCountOf(d.capacityBytes);
    const raw = await readFile(path.join(dir, d.allocationMapFile));
    if (raw.length !== HEADER_SIZE.allocationMap + Math.ceil(blocks / 8) || !raw.subarray(0, 4).equals(MAGIC.allocationMap)) {
      throw new HostError("FileFault", `allocation map of ${descriptorPath} is damaged`);
    }
    if (raw[4] !== FORMAT_VERSION.allocationMap || raw.readUInt32LE(8) !== blocks) {
      throw new HostError("FileFault", `allocation map of ${descriptorPath} has version ${raw[4]} / ${raw.readUInt32LE(8)} blocks`);
    }
    const extent = await open(path.join(dir, d.extentFile), "r+");
    const map = await open(path.join(dir, d.allocationMapFile), "r+");
    return new DiskFile(dir, baseName, d, extent, map, new Uint8Array(raw.subarray(HEADER_SIZE.allocationMap)));
  }

  get capacityBytes(): number {
    return this.descriptor.capacityBytes;
  }
  get encrypted(): boolean {
    return this.descriptor.encrypted;
  }
  get blockCount(): number {
    return blockCountOf(this.capacityBytes);
  }
  /** The files of this VMDK, as names in `dir`. */
  get fileNames(): string[] {
    return [this.baseName + FILE_SUFFIX.descriptor, this.descriptor.extentFile, this.descriptor.allocationMapFile];
  }

  isAllocated(block: number): boolean {
    return (this.bitmap[block >> 3] & (1 << (block & 7))) !== 0;
  }

  allocatedBlocks(): number[] {
    const out: number[] = [];
    for (let b = 0; b < this.blockCount; b++) if (this.isAllocated(b)) out.push(b);
    return out;
  }

  /** Stored bytes at `offset` into `target` (no allocation check: DiskView decides what to read). */
  async readStored(offset: number, target: Buffer): Promise<void> {
    for (let done = 0; done < target.length; ) {
      const { bytesRead } = await this.extent.read(target, done, target.length - done, offset + done);
      if (bytesRead === 0) {
        target.fill(0, done); // a shortened extent: what is missing is a hole
        return;
      }
      done += bytesRead;
    }
  }

  async writeStored(offset: number, data: Buffer): Promise<void> {
    for (let done = 0; done < data.length; ) {
      const { bytesWritten } = await this.extent.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  /**
   * Records block `block` as holding data (one byte written in place). The map writes of
   * concurrent writers go one after the other: two bits of one byte set by two writes at once
   * must not have an older copy of the byte land last.
   */
  markAllocated(block: number): Promise<void> {
    const i = block >> 3;
    this.bitmap[i] |= 1 << (block & 7);
    const written = this.mapWrites.then(() => this.map.write(this.bitmap, i, 1, HEADER_SIZE.allocationMap + i)).then(() => undefined);
    this.mapWrites = written.catch(() => undefined);
    return written;
  }

  /** HostError CryptoKeyMismatch unless `dek` is this disk's key. */
  checkKey(dek: Buffer): void {
    if (!this.encrypted) return;
    if (dek.length !== KEY_SIZE.dek || keyCheckValue(dek, this.descriptor.uuid) !== this.descriptor.keyCheck) {
      throw new HostError("CryptoKeyMismatch", `the key offered for ${this.baseName} is not the disk's key`);
    }
  }

  /** The stored bytes, as a SAN reader sees them: ciphertext for an encrypted disk, holes as zeros. */
  openRaw(): DiskReader {
    return readerOf(new DiskView([this], null));
  }

  /** Cleartext of this extent alone (for a base disk under a snapshot: the frozen content). */
  openCleartext(dek?: Buffer): DiskReader {
    if (!this.encrypted) return this.openRaw();
    if (!dek) throw new HostError("InvalidArgument", `${this.baseName} is encrypted: its DEK is needed`);
    this.checkKey(dek);
    return readerOf(new DiskView([this], new XtsCipher(dek)));
  }

  /** Makes written data and allocation bits durable (before a merged delta is deleted). */
  async sync(): Promise<void> {
    await Promise.all([this.extent.sync(), this.map.sync()]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.extent.close(), this.map.close()]);
  }

  /** Closes and deletes the three files (a merged snapshot delta). */
  async remove(): Promise<void> {
    await this.close();
    // Descriptor first: without it the leftovers are orphans, never a half disk.
    for (const f of this.fileNames) await rm(path.join(this.dir, f), { force: true });
  }
}

export function blockCountOf(capacityBytes: number): number {
  return Math.ceil(capacityBytes / CBT_BLOCK_SIZE);
}

/** 16 hex digits of HMAC-SHA-256(DEK, disk uuid): tells a wrong key from bad data, reveals nothing. */
export function keyCheckValue(dek: Buffer, uuid: string): string {
  return createHmac("sha256", dek).update(`strongroom key check v1|${uuid}`).digest("hex").slice(0, 16);
}
