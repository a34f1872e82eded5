// An opened restore point: its keys unwrapped, its sealed body read. Gives the per-disk block maps
// and reads blocks, checking each record's hash, authentication and content hash against what the
// point's authenticated map expects — so a flipped bit, a truncated pack, or a record moved,
// swapped or copied from another point is refused with the block named (BlockDamagedError).

import { idHex } from "../bytes";
import { BlockDamagedError, EngineError, InvalidArgumentError, NotFoundError, type DamageReason } from "../errors";
import { describeKey } from "../keys/key-header";
import type { SecretKey } from "../keys/secret-key";
import { BlockCodecPool, defaultThreadCount, type CodecSlot } from "../workers/codec-pool";
import { openRecord, recordHash, type OpenResult } from "./block-codec";
import type { PackEntry } from "./pack";
import { packFileName } from "./pack";
import type { BlockEntry, DecodedPoint, DiskMap, PointBody } from "./point-file";
import type { RecordCatalogue } from "./record-catalogue";
import type { RangeReader, RepositoryStore } from "./store";

export interface PointKeys {
  storageKey: SecretKey;
  metakey: SecretKey;
  /** Every session key the point's blocks use, by key id (hex). */
  sessionKeys: Map<string, SecretKey>;
}

export interface DiskInfo {
  diskId: string;
  capacity: number;
  attributes: Record<string, unknown>;
  blockCount: number;
  dataBlocks: number;
  zeroBlocks: number;
}

/** Bytes in block `index` of a disk: blockSize, except a shorter last block. */
export function blockLength(capacity: number, blockSize: number, index: number): number {
  return Math.max(0, Math.min(blockSize, capacity - index * blockSize));
}

export function blockCountOf(capacity: number, blockSize: number): number {
  return Math.ceil(capacity / blockSize);
}

/** Checks one record fetched from a pack against the entry of the pack table and the point's map. */
export function checkRecord(
  repositoryId: Buffer,
  block: Extract<BlockEntry, { kind: "data" }>,
  pe: PackEntry,
  record: Buffer,
  sessionKeys: Map<string, SecretKey> | undefined,
): OpenResult {
  if (record.length < pe.length) return { ok: false, reason: "truncated" };
  if (!recordHash(record).equals(pe.recordHash)) return { ok: false, reason: "record-hash" };
  if (!sessionKeys) return { ok: true, data: Buffer.alloc(0) }; // keyless check stops here
  if (pe.plainLength !== block.plainLength) return { ok: false, reason: "inconsistent" };
  const key = sessionKeys.get(idHex(pe.sessionKeyId));
  if (!key) return { ok: false, reason: "missing-session-key" };
  return openRecord(key.expose(), record, {
    repositoryId,
    packId: Buffer.from(block.packId, "hex"),
    entryIndex: block.entryIndex,
    sessionKeyId: pe.sessionKeyId,
    compressionId: pe.compressionId,
    plainLength: block.plainLength,
    contentHash: block.contentHash,
  });
}

/** Reads one record with a range read and checks it. Damage is returned, not thrown. */
export async function fetchAndCheck(
  store: RepositoryStore,
  catalogue: RecordCatalogue,
  repositoryId: Buffer,
  block: Extract<BlockEntry, { kind: "data" }>,
  sessionKeys: Map<string, SecretKey> | undefined,
): Promise<OpenResult> {
  let pe: PackEntry;
  let record: Buffer;
  try {
    pe = await catalogue.entry(block.packId, block.entryIndex);
    record = await store.getRange(packFileName(block.packId), pe.offset, pe.length);
  } catch (e) {
    if (e instanceof NotFoundError) return { ok: false, reason: "missing-file" };
    if (e instanceof EngineError && e.code === "FILE_DAMAGED") return { ok: false, reason: "missing-index" as DamageReason };
    throw e;
  }
  return checkRecord(repositoryId, block, pe, record, sessionKeys);
}

export interface ReadBlocksOptions {
  /**
   * Worker threads for authentication, decompression and hashing: "auto" (default) for reads of at
   * least 64 MiB, "off", or "on" (tests). The threads start while the first blocks open inline.
   */
  workers?: "auto" | "off" | "on";
  workerThreads?: number;
}

/** With workers "auto", a read of this many bytes starts worker threads. */
export const READ_WORKER_THRESHOLD_BYTES = 64 * 1024 * 1024;

export interface ReadBlock {
  index: number;
  /** The block's bytes: valid until the next block is asked for (the buffer is reused). */
  data: Buffer;
  /** `data` starts page-aligned in memory (it may be written with direct I/O). */
  aligned: boolean;
}

export class OpenPoint {
  private readonly disksById: Map<string, DiskMap>;

  constructor(
    private readonly store: RepositoryStore,
    private readonly catalogue: RecordCatalogue,
    readonly blockSize: number,
    readonly decoded: DecodedPoint,
    private readonly keys: PointKeys,
    readonly body: PointBody,
  ) {
    this.disksById = new Map(body.disks.map((d) => [d.diskId, d]));
  }

  get pointId(): string {
    return idHex(this.decoded.header.pointId);
  }
  get chainId(): string {
    return idHex(this.decoded.header.chainId);
  }
  get createdAt(): Date {
    return new Date(this.decoded.header.createdAt);
  }
  /** KEY-7: every key that protects this point. */
  get keyIds(): string[] {
    return this.decoded.header.protections.map((p) => describeKey(p.header));
  }
  get attributes(): Record<string, unknown> {
    return this.body.attributes;
  }
  get disks(): DiskInfo[] {
    return this.body.disks.map((d) => {
      let dataBlocks = 0;
      for (const e of d.blocks.values()) if (e.kind === "data") dataBlocks++;
      return {
        diskId: d.diskId,
        capacity: d.capacity,
        attributes: d.attributes,
        blockCount: blockCountOf(d.capacity, this.blockSize),
        dataBlocks,
        zeroBlocks: d.blocks.size - dataBlocks,
      };
    });
  }

  /** The disk's block map: index → zero or (pack, entry, content hash). Missing indexes read as zeros. */
  blockMap(diskId: string): ReadonlyMap<number, BlockEntry> {
    return this.disk(diskId).blocks;
  }

  /** Session keys, for a writer that deduplicates against this point. Engine-internal. */
  sessionKeysForDedupe(): Map<string, SecretKey> {
    return this.keys.sessionKeys;
  }
  storageKeyForChain(): SecretKey {
    return this.keys.storageKey;
  }

  async readBlock(diskId: string, index: number): Promise<Buffer> {
    const disk = this.disk(diskId);
    const length = blockLength(disk.capacity, this.blockSize, index);
    if (!Number.isInteger(index) || index < 0 || length === 0) throw new InvalidArgumentError(`block ${index} is outside disk ${diskId}`);
    const entry = disk.blocks.get(index);
    if (!entry || entry.kind === "zero") return Buffer.alloc(length);
    const result = await fetchAndCheck(this.store, this.catalogue, this.decoded.header.repositoryId, entry, this.keys.sessionKeys);
    if (!result.ok) throw new BlockDamagedError(this.pointId, diskId, index, result.reason, entry.packId);
    return result.data;
  }

  /**
   * Reads many blocks in the given order with read-ahead: records are fetched ahead (straight into
   * the codec's slots when the store can) and opened on worker threads while the caller writes the
   * previous block. Same checks and errors as readBlock (BlockDamagedError names a damaged block,
   * in its turn). Each block's buffer is reused once the next one is asked for.
   */
  async *readBlocks(diskId: string, indexes: readonly number[], options: ReadBlocksOptions = {}): AsyncGenerator<ReadBlock> {
    const disk = this.disk(diskId);
    for (const index of indexes) {
      if (!Number.isInteger(index) || index < 0 || blockLength(disk.capacity, this.blockSize, index) === 0) throw new InvalidArgumentError(`block ${index} is outside disk ${diskId}`);
    }
    const mode = options.workers ?? "auto";
    const threads = options.workerThreads ?? defaultThreadCount();
    const pool = new BlockCodecPool({ blockSize: this.blockSize, requireThreads: mode === "on", slots: 2 * threads + 4 });
    const bytes = indexes.length * this.blockSize;
    if (mode === "on" || (mode === "auto" && bytes >= READ_WORKER_THRESHOLD_BYTES)) pool.startThreads(threads);
    const zero = Buffer.alloc(this.blockSize);
    // The packs stay open for the whole read where the store can (no open/close per record).
    const reader = this.store.openRangeReader?.();
    type Opened = { index: number; slot?: CodecSlot; length: number };
    const inflight: Array<Promise<Opened>> = [];
    let next = 0;
    const start = () => {
      const index = indexes[next++];
      const p = this.fetchAndOpen(pool, disk, index, reader);
      p.catch(() => undefined); // surfaced in its turn
      inflight.push(p);
    };
    try {
      while (next < indexes.length && inflight.length < pool.layout.count) start();
      while (inflight.length) {
        const opened = await inflight.shift()!;
        try {
          yield { index: opened.index, data: (opened.slot ? opened.slot.output : zero).subarray(0, opened.length), aligned: !!opened.slot && pool.aligned };
        } finally {
          if (opened.slot) pool.release(opened.slot);
        }
        if (next < indexes.length) start();
      }
    } finally {
      pool.interrupt(new InvalidArgumentError("the block reader was closed"));
      await Promise.allSettled(inflight);
      await reader?.close();
      await pool.close();
    }
  }

  private async fetchAndOpen(pool: BlockCodecPool, disk: DiskMap, index: number, reader: RangeReader | undefined): Promise<{ index: number; slot?: CodecSlot; length: number }> {
    const length = blockLength(disk.capacity, this.blockSize, index);
    const entry = disk.blocks.get(index);
    if (!entry || entry.kind === "zero") return { index, length };
    const damaged = (reason: DamageReason) => new BlockDamagedError(this.pointId, disk.diskId, index, reason, entry.packId);
    let pe: PackEntry;
    try {
      pe = await this.catalogue.entry(entry.packId, entry.entryIndex);
    } catch (e) {
      if (e instanceof NotFoundError) throw damaged("missing-file");
      if (e instanceof EngineError && e.code === "FILE_DAMAGED") throw damaged("missing-index");
      throw e;
    }
    if (pe.length > pool.layout.inputBytes) throw damaged("inconsistent");
    if (pe.plainLength !== entry.plainLength) throw damaged("inconsistent");
    const key = this.keys.sessionKeys.get(idHex(pe.sessionKeyId));
    if (!key) throw damaged("missing-session-key");
    const slot = await pool.acquire();
    try {
      const target = slot.input.subarray(0, pe.length);
      const file = packFileName(entry.packId);
      let got: number;
      try {
        if (reader) got = await reader.readInto(file, pe.offset, target);
        else if (this.store.getRangeInto) got = await this.store.getRangeInto(file, pe.offset, target);
        else {
          const record = await this.store.getRange(file, pe.offset, pe.length);
          got = record.copy(target);
        }
      } catch (e) {
        if (e instanceof NotFoundError) throw damaged("missing-file");
        throw e;
      }
      if (got < pe.length) throw damaged("truncated");
      const identity = {
        repositoryId: this.decoded.header.repositoryId,
        packId: Buffer.from(entry.packId, "hex"),
        entryIndex: entry.entryIndex,
        sessionKeyId: pe.sessionKeyId,
        compressionId: pe.compressionId,
        plainLength: entry.plainLength,
        contentHash: entry.contentHash,
      };
      const r = await pool.open(slot, pe.length, identity, key.expose(), pe.recordHash);
      if (!r.ok) throw damaged(r.reason);
      if (r.length !== length) throw damaged("inconsistent");
      return { index, slot, length };
    } catch (e) {
      pool.release(slot);
      throw e;
    }
  }

  /** Forgets the point's own keys (best effort). The storage key belongs to the KeyRing's cache. */
  close(): void {
    this.keys.metakey.destroy();
    for (const k of this.keys.sessionKeys.values()) k.destroy();
  }

  private disk(diskId: string): DiskMap {
    const d = this.disksById.get(diskId);
    if (!d) throw new NotFoundError(`disk ${diskId} in restore point ${this.pointId}`);
    return d;
  }
}
