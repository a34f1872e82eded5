// Restore point files (FORMAT.md "points/<pointId>"). The header is readable without keys (which
// keys protect the point, which packs it needs); the body — the per-disk block maps and the
// attributes — is sealed with the metakey, and the header is bound to it through the body's
// associated data. The block maps are where a point says "my block 7 of disk scsi0:0 is entry 3 of
// pack X with content hash H": authenticated here, so records themselves can be shared.

import { compress, decompress } from "zstd-napi";
import { ByteReader, ByteWriter, idFromHex, idHex, ZERO_ID } from "../bytes";
import { FileDamagedError } from "../errors";
import { BlockKind, CompressionId, FORMAT_VERSION, MAGIC, SIZES } from "../format-registry";
import { openSealedBody, readSealedFile, writeSealedFile } from "./sealed-file";
import { decodeProtection, encodeProtection, type Protection } from "../keys/protection";
import type { SecretKey } from "../keys/secret-key";
import { decodeWrap, encodeWrap, type WrapRecord } from "../keys/wrap";

export type BlockEntry =
  | { kind: "zero" }
  | { kind: "data"; packId: string; entryIndex: number; plainLength: number; contentHash: Buffer };

export interface DiskMap {
  diskId: string;
  capacity: number;
  attributes: Record<string, unknown>;
  /** block index → entry; indexes absent were never written and read as zeros. */
  blocks: Map<number, BlockEntry>;
}

export interface PointBody {
  attributes: Record<string, unknown>;
  disks: DiskMap[];
}

export interface PointHeader {
  repositoryId: Buffer;
  pointId: Buffer;
  chainId: Buffer;
  parentPointId: Buffer | null;
  sessionId: Buffer;
  createdAt: number;
  immutableUntil: number;
  storageKeyId: Buffer;
  protections: Protection[];
  sessionKeyWraps: WrapRecord[];
  metakeyWrap: WrapRecord;
  bodyCompressionId: number;
  packIds: Buffer[];
}

export interface DecodedPoint {
  header: PointHeader;
  headerBytes: Buffer;
  sealedBody: Buffer;
  file: string;
}

export function pointFileName(pointId: Buffer | string): string {
  return `points/${typeof pointId === "string" ? pointId : idHex(pointId)}`;
}

export function pointIdFromFileName(name: string): Buffer {
  return idFromHex(name.slice("points/".length), name);
}

/** The context every wrap of this point is bound to: repositoryId || pointId. */
export function pointContext(repositoryId: Buffer, pointId: Buffer): Buffer {
  return Buffer.concat([repositoryId, pointId]);
}

/** The distinct packs a body references, in first-use order (the header's packId list). */
export function packsOf(body: PointBody): string[] {
  const seen = new Set<string>();
  for (const d of body.disks) for (const e of d.blocks.values()) if (e.kind === "data") seen.add(e.packId);
  return [...seen];
}

function encodeHeader(h: PointHeader): Buffer {
  const w = new ByteWriter()
    .id(h.repositoryId)
    .id(h.pointId)
    .id(h.chainId)
    .id(h.parentPointId ?? ZERO_ID)
    .id(h.sessionId)
    .u64(h.createdAt)
    .u64(h.immutableUntil)
    .id(h.storageKeyId)
    .u16(h.protections.length);
  for (const p of h.protections) encodeProtection(w, p);
  w.u16(h.sessionKeyWraps.length);
  for (const s of h.sessionKeyWraps) encodeWrap(w, s);
  encodeWrap(w, h.metakeyWrap).u8(h.bodyCompressionId).u32(h.packIds.length);
  for (const p of h.packIds) w.id(p);
  return w.finish();
}

function encodeBody(body: PointBody, packRefs: Map<string, number>): Buffer {
  const w = new ByteWriter().bytes32(Buffer.from(JSON.stringify(body.attributes), "utf8")).u32(body.disks.length);
  for (const d of body.disks) {
    w.str16(d.diskId).u64(d.capacity).bytes32(Buffer.from(JSON.stringify(d.attributes), "utf8"));
    const indexes = [...d.blocks.keys()].sort((a, b) => a - b);
    w.u32(indexes.length);
    for (const i of indexes) {
      const e = d.blocks.get(i)!;
      if (e.kind === "zero") w.u32(i).u8(BlockKind.zero);
      else w.u32(i).u8(BlockKind.data).u32(packRefs.get(e.packId)!).u32(e.entryIndex).u32(e.plainLength).bytes(e.contentHash);
    }
  }
  return w.finish();
}

const POINT_FILE = { magic: MAGIC.point, version: FORMAT_VERSION.point };

/** Builds the point file. `header.packIds` is derived from the body, so the two always agree. */
export function encodePoint(header: Omit<PointHeader, "packIds" | "bodyCompressionId">, body: PointBody, metakey: SecretKey): Buffer {
  const packIds = packsOf(body);
  const refs = new Map(packIds.map((p, i) => [p, i]));
  let plain = encodeBody(body, refs);
  let bodyCompressionId: number = CompressionId.none;
  const packed = compress(plain, { compressionLevel: 3 });
  if (packed.length < plain.length) {
    plain = packed;
    bodyCompressionId = CompressionId.zstd;
  }
  const full: PointHeader = { ...header, bodyCompressionId, packIds: packIds.map((p) => idFromHex(p)) };
  const headerBytes = encodeHeader(full);
  // One sealing per metakey (fresh each session), so the fixed counter nonce is unique.
  const out = writeSealedFile(POINT_FILE, headerBytes, plain, metakey.expose());
  return out;
}

/** Keyless: checks the checksum and decodes the header; the body stays sealed. */
export function decodePoint(file: string, data: Buffer): DecodedPoint {
  const { headerBytes, sealedBody } = readSealedFile(POINT_FILE, file, data);
  const h = new ByteReader(headerBytes, file);
  const repositoryId = h.id();
  const pointId = h.id();
  const chainId = h.id();
  const parent = h.id();
  const sessionId = h.id();
  const createdAt = h.u64();
  const immutableUntil = h.u64();
  const storageKeyId = h.id();
  const protections: Protection[] = [];
  for (let n = h.u16(), i = 0; i < n; i++) protections.push(decodeProtection(h));
  const sessionKeyWraps: WrapRecord[] = [];
  for (let n = h.u16(), i = 0; i < n; i++) sessionKeyWraps.push(decodeWrap(h));
  const metakeyWrap = decodeWrap(h);
  const bodyCompressionId = h.u8();
  const packIds: Buffer[] = [];
  for (let n = h.u32(), i = 0; i < n; i++) packIds.push(h.id());
  h.expectEnd();
  if (!pointIdFromFileName(file).equals(pointId)) throw new FileDamagedError(file, "inconsistent", "point id does not match its name");
  const header: PointHeader = {
    repositoryId,
    pointId,
    chainId,
    parentPointId: parent.equals(ZERO_ID) ? null : parent,
    sessionId,
    createdAt,
    immutableUntil,
    storageKeyId,
    protections,
    sessionKeyWraps,
    metakeyWrap,
    bodyCompressionId,
    packIds,
  };
  return { header, headerBytes, sealedBody, file };
}

/** Opens the body with the metakey; FileDamagedError("authentication") when it does not open. */
export function openPointBody(p: DecodedPoint, metakey: SecretKey): PointBody {
  let plain = openSealedBody(POINT_FILE, p.headerBytes, p.sealedBody, metakey.expose());
  if (!plain) throw new FileDamagedError(p.file, "authentication", "restore point metadata does not authenticate");
  if (p.header.bodyCompressionId === CompressionId.zstd) plain = decompress(plain);
  const r = new ByteReader(plain, p.file);
  const attributes = JSON.parse(r.bytes32().toString("utf8")) as Record<string, unknown>;
  const disks: DiskMap[] = [];
  for (let n = r.u32(), i = 0; i < n; i++) {
    const diskId = r.str16();
    const capacity = r.u64();
    const diskAttributes = JSON.parse(r.bytes32().toString("utf8")) as Record<string, unknown>;
    const blocks = new Map<number, BlockEntry>();
    for (let m = r.u32(), j = 0; j < m; j++) {
      const index = r.u32();
      const kind = r.u8();
      if (kind === BlockKind.zero) blocks.set(index, { kind: "zero" });
      else if (kind === BlockKind.data) {
        const ref = r.u32();
        const packId = p.header.packIds[ref];
        if (!packId) throw new FileDamagedError(p.file, "inconsistent", "block names an unknown pack");
        blocks.set(index, { kind: "data", packId: idHex(packId), entryIndex: r.u32(), plainLength: r.u32(), contentHash: Buffer.from(r.take(SIZES.hash)) });
      } else throw new FileDamagedError(p.file, "inconsistent", `unknown block kind ${kind}`);
    }
    disks.push({ diskId, capacity, attributes: diskAttributes, blocks });
  }
  r.expectEnd();
  return { attributes, disks };
}
