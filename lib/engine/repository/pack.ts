// Packs (FORMAT.md "Pack"): many encrypted block records in one file, so a repository holds
// thousands of files rather than millions. The builder assembles a pack in memory as a list of
// chunks (written with one vectored put); the table at the end makes every pack self-describing,
// so the index can be rebuilt from packs alone.

import { ByteReader, ByteWriter, checksum, idFromHex, idHex } from "../bytes";
import { FileDamagedError, UnsupportedFormatError } from "../errors";
import { CipherId, FORMAT_VERSION, HashId, MAGIC, SIZES } from "../format-registry";
import { recordHash } from "./block-codec";

export interface PackEntry {
  offset: number;
  length: number;
  sessionKeyId: Buffer;
  compressionId: number;
  plainLength: number;
  recordHash: Buffer;
}

export interface PackTable {
  packId: Buffer;
  repositoryId: Buffer;
  createdAt: number;
  entries: PackEntry[];
}

/** packs/<first two hex digits>/<packId>: spreads packs over 256 folders. */
export function packFileName(packId: Buffer | string): string {
  const hex = typeof packId === "string" ? packId : idHex(packId);
  return `packs/${hex.slice(0, 2)}/${hex}`;
}

export function packIdFromFileName(name: string): Buffer {
  return idFromHex(name.slice(name.lastIndexOf("/") + 1), name);
}

export function encodeEntry(w: ByteWriter, e: PackEntry): ByteWriter {
  return w.u32(e.offset).u32(e.length).id(e.sessionKeyId).u8(e.compressionId).u32(e.plainLength).bytes(e.recordHash);
}

export function decodeEntry(r: ByteReader): PackEntry {
  return {
    offset: r.u32(),
    length: r.u32(),
    sessionKeyId: r.id(),
    compressionId: r.u8(),
    plainLength: r.u32(),
    recordHash: Buffer.from(r.take(SIZES.hash)),
  };
}

function encodeHeader(repositoryId: Buffer, packId: Buffer, createdAt: number): Buffer {
  return new ByteWriter()
    .ascii(MAGIC.pack)
    .u16(FORMAT_VERSION.pack)
    .u8(CipherId.aes256gcm)
    .u8(HashId.blake3_256)
    .id(repositoryId)
    .id(packId)
    .u64(createdAt)
    .finish();
}

export class PackBuilder {
  private readonly header: Buffer;
  private readonly records: Buffer[] = [];
  readonly entries: PackEntry[] = [];
  private size: number;

  constructor(
    readonly repositoryId: Buffer,
    readonly packId: Buffer,
    readonly createdAt: number,
  ) {
    this.header = encodeHeader(repositoryId, packId, createdAt);
    this.size = this.header.length;
  }

  get byteLength(): number {
    return this.size;
  }
  /** The entry index the next record will get (part of its associated data). */
  get nextEntryIndex(): number {
    return this.entries.length;
  }

  add(record: Buffer, meta: Pick<PackEntry, "sessionKeyId" | "compressionId" | "plainLength">): number {
    const fits = this.size + record.length + SIZES.packEntry * (this.entries.length + 1) + 4 + SIZES.packFooter;
    if (fits > 0xffffffff) throw new RangeError("a pack cannot exceed 4 GiB");
    this.entries.push({ offset: this.size, length: record.length, ...meta, recordHash: recordHash(record) });
    this.records.push(record);
    this.size += record.length;
    return this.entries.length - 1;
  }

  /** header || records || table || footer, as chunks for a vectored write. */
  finish(): { chunks: Buffer[]; length: number } {
    const table = new ByteWriter().u32(this.entries.length);
    for (const e of this.entries) encodeEntry(table, e);
    const tableBytes = table.finish();
    const tableOffset = Buffer.alloc(4);
    tableOffset.writeUInt32BE(this.size);
    const sum = checksum(this.header, tableBytes, tableOffset);
    const footer = Buffer.concat([tableOffset, sum, Buffer.from(MAGIC.packEnd, "ascii")]);
    const chunks = [this.header, ...this.records, tableBytes, footer];
    return { chunks, length: this.size + tableBytes.length + footer.length };
  }
}

/**
 * The pipelined twin of PackBuilder (same bytes): a record's place (entry index, offset) is reserved
 * in order as soon as its length is known, and its bytes arrive later, in any order, from whichever
 * lane sealed it — written straight into `buffer` at the record's file offset. The whole pack file
 * (header, records, table, footer) is laid out in that one reused buffer, so it can be written in
 * one piece (with direct I/O when the buffer is page-aligned) and costs no allocation per block.
 */
export class PackAssembler {
  private readonly header: Buffer;
  readonly entries: PackEntry[] = [];
  private size: number;
  private filled = 0;
  private isClosed = false;

  constructor(
    readonly repositoryId: Buffer,
    readonly packId: Buffer,
    readonly createdAt: number,
    /** Holds the pack file; at least header + packTargetSize + one record long (see BackupSession). */
    readonly buffer: Buffer,
  ) {
    this.header = encodeHeader(repositoryId, packId, createdAt);
    this.header.copy(buffer, 0);
    this.size = this.header.length;
  }

  get byteLength(): number {
    return this.size;
  }
  get nextEntryIndex(): number {
    return this.entries.length;
  }
  get closed(): boolean {
    return this.isClosed;
  }
  /** Closed, and every reserved record has arrived: ready to be written. */
  get complete(): boolean {
    return this.isClosed && this.filled === this.entries.length;
  }

  /** Reserves the next entry for a record of `length` bytes; returns its entry index. */
  reserve(length: number, meta: Pick<PackEntry, "sessionKeyId" | "compressionId" | "plainLength">): number {
    if (this.isClosed) throw new RangeError("this pack is closed");
    const fits = this.size + length + SIZES.packEntry * (this.entries.length + 1) + 4 + SIZES.packFooter;
    if (fits > 0xffffffff) throw new RangeError("a pack cannot exceed 4 GiB");
    if (this.size + length > this.buffer.length) throw new RangeError("the pack buffer is too small");
    this.entries.push({ offset: this.size, length, ...meta, recordHash: EMPTY_HASH });
    this.size += length;
    return this.entries.length - 1;
  }

  /** Where a reserved entry's record goes in `buffer` (its offset in the pack file). */
  bufferOffsetOf(entryIndex: number): number {
    return this.entries[entryIndex].offset;
  }

  /**
   * A reserved entry's record arrived, with its BLAKE3 (computed where it was sealed): copied from
   * `record`, or already written into `buffer` at bufferOffsetOf(entryIndex) when omitted.
   */
  fill(entryIndex: number, hash: Buffer, record?: Uint8Array): void {
    const e = this.entries[entryIndex];
    if (!e || e.recordHash !== EMPTY_HASH || (record && record.length !== e.length)) throw new RangeError(`entry ${entryIndex} cannot take this record`);
    if (record) this.buffer.set(record, this.bufferOffsetOf(entryIndex));
    e.recordHash = hash;
    this.filled++;
  }

  close(): void {
    this.isClosed = true;
  }

  /**
   * header || records || table || footer. `whole` is the pack file as one view of the buffer when
   * the table fits behind the records (it nearly always does); `chunks` always works (vectored write).
   */
  finish(): { chunks: Buffer[]; length: number; whole?: Buffer } {
    if (!this.complete) throw new RangeError("the pack is not complete");
    const table = new ByteWriter().u32(this.entries.length);
    for (const e of this.entries) encodeEntry(table, e);
    const tableBytes = table.finish();
    const tableOffset = Buffer.alloc(4);
    tableOffset.writeUInt32BE(this.size);
    const sum = checksum(this.header, tableBytes, tableOffset);
    const footer = Buffer.concat([tableOffset, sum, Buffer.from(MAGIC.packEnd, "ascii")]);
    const length = this.size + tableBytes.length + footer.length;
    if (length <= this.buffer.length) {
      tableBytes.copy(this.buffer, this.size);
      footer.copy(this.buffer, this.size + tableBytes.length);
      const whole = this.buffer.subarray(0, length);
      return { chunks: [whole], length, whole };
    }
    return { chunks: [this.buffer.subarray(0, this.size), tableBytes, footer], length };
  }
}

const EMPTY_HASH = Buffer.alloc(0);

/** Decodes a pack's header and table from its first 48 bytes and its tail (table + footer). */
export function decodePackTable(file: string, header: Buffer, tail: Buffer, packLength: number): PackTable {
  if (header.length < SIZES.packHeader || tail.length < SIZES.packFooter) throw new FileDamagedError(file, "truncated");
  const h = new ByteReader(header.subarray(0, SIZES.packHeader), file);
  h.header(MAGIC.pack, FORMAT_VERSION.pack);
  if (h.u8() !== CipherId.aes256gcm || h.u8() !== HashId.blake3_256) throw new UnsupportedFormatError(file, "unknown cipher or hash");
  const repositoryId = h.id();
  const packId = h.id();
  const createdAt = h.u64();
  const footer = tail.subarray(tail.length - SIZES.packFooter);
  if (footer.subarray(36).toString("latin1") !== MAGIC.packEnd) throw new FileDamagedError(file, "truncated", "no pack footer");
  const tableOffset = footer.readUInt32BE(0);
  const tableLength = packLength - SIZES.packFooter - tableOffset;
  if (tableOffset < SIZES.packHeader || tableLength < 4 || tableLength > tail.length - SIZES.packFooter) {
    throw new FileDamagedError(file, "inconsistent", "table offset out of range");
  }
  const table = tail.subarray(tail.length - SIZES.packFooter - tableLength, tail.length - SIZES.packFooter);
  if (!checksum(header.subarray(0, SIZES.packHeader), table, footer.subarray(0, 4)).equals(footer.subarray(4, 36))) {
    throw new FileDamagedError(file, "checksum");
  }
  const r = new ByteReader(table, file);
  const count = r.u32();
  const entries: PackEntry[] = [];
  for (let i = 0; i < count; i++) entries.push(decodeEntry(r));
  r.expectEnd();
  if (!packIdFromFileName(file).equals(packId)) throw new FileDamagedError(file, "inconsistent", "pack id does not match its name");
  return { packId, repositoryId, createdAt, entries };
}

/** Reads a whole pack's table from a complete pack file. */
export function decodePackTableFromFile(file: string, pack: Buffer): PackTable {
  return decodePackTable(file, pack.subarray(0, SIZES.packHeader), pack, pack.length);
}
