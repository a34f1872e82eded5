// An opened restore point: its keys unwrapped, its sealed body read. Gives the per-disk block maps
// and reads blocks, checking each record's hash, authentication and content hash against what the
// point's authenticated map expects — so a flipped bit, a truncated pack, or a record moved,
// swapped or copied from another point is refused with the block named (BlockDamagedError).

import { idHex } from "../bytes";
import { BlockDamagedError, EngineError, InvalidArgumentError, NotFoundError, type DamageReason } from "../errors";
import { describeKey } from "../keys/key-header";
import type { SecretKey } from "../keys/secret-key";
import { openRecord, recordHash, type OpenResult } from "./block-codec";
import type { PackEntry } from "./pack";
import { packFileName } from "./pack";
import type { BlockEntry, DecodedPoint, DiskMap, PointBody } from "./point-file";
import type { RecordCatalogue } from "./record-catalogue";
import type { RepositoryStore } from "./store";

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
