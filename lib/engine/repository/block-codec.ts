// One disk block on its way into and out of a pack (BKP-3): zero check, BLAKE3 content hash,
// zstd-1 when it helps, AES-256-GCM under the session key with the record's identity as associated
// data. Pure functions over bytes, so the pipeline can run them on worker threads.
//
// Associated data binds the record to its content hash and its place (repository, pack, entry),
// not to a restore point: dedupe stores a block once for many points. Which point/disk/block uses
// it is recorded in each point's sealed body, authenticated under that point's metakey.

import { createCipheriv, createDecipheriv } from "node:crypto";
import { blake3 } from "@napi-rs/blake-hash";
import { Compressor, decompress } from "zstd-napi";
import * as zstdBinding from "zstd-napi/binding";
import { ByteWriter, isAllZero } from "../bytes";
import { CompressionId, FORMAT_VERSION, MAGIC, SIZES } from "../format-registry";
import { gcmOpen, gcmSeal } from "../keys/aead";
import type { DamageReason } from "../errors";

export interface RecordIdentity {
  repositoryId: Buffer;
  packId: Buffer;
  entryIndex: number;
  sessionKeyId: Buffer;
  compressionId: number;
  plainLength: number;
  contentHash: Buffer;
}

export function blockAad(id: RecordIdentity): Buffer {
  return new ByteWriter()
    .ascii(MAGIC.blockAad)
    .u16(FORMAT_VERSION.blockAad)
    .id(id.repositoryId)
    .id(id.packId)
    .u32(id.entryIndex)
    .id(id.sessionKeyId)
    .u8(id.compressionId)
    .u32(id.plainLength)
    .bytes(id.contentHash)
    .finish();
}

export type PreparedBlock =
  | { kind: "zero"; plainLength: number }
  | { kind: "data"; plainLength: number; contentHash: Buffer; payload: Buffer; compressionId: number };

let compressor: Compressor | undefined;

/** zstd level 1: ~270 MB/s on binary data here, and ~4 GB/s on data it cannot shrink. */
function zstd1(data: Uint8Array): Buffer {
  if (!compressor) {
    compressor = new Compressor();
    compressor.setParameters({ compressionLevel: 1, checksumFlag: false });
  }
  return compressor.compress(data);
}

/**
 * Zero blocks are recognised by comparison before any hashing (cheapest first). Compression is
 * kept only when it saves at least 1/64 of the block: below that, decompression costs more at
 * restore than the bytes it saves.
 */
export function prepareBlock(data: Uint8Array, compression: number = CompressionId.zstd): PreparedBlock {
  if (isAllZero(data)) return { kind: "zero", plainLength: data.length };
  const plain = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const contentHash = blake3(plain);
  if (compression === CompressionId.zstd) {
    const packed = zstd1(plain);
    if (packed.length <= plain.length - Math.ceil(plain.length / 64)) {
      return { kind: "data", plainLength: plain.length, contentHash, payload: packed, compressionId: CompressionId.zstd };
    }
  }
  return { kind: "data", plainLength: plain.length, contentHash, payload: plain, compressionId: CompressionId.none };
}

/** record = nonce || ciphertext || tag. */
export function sealRecord(sessionKey: Buffer, nonce: Buffer, payload: Uint8Array, identity: RecordIdentity): Buffer {
  const { ciphertext, tag } = gcmSeal(sessionKey, nonce, payload, blockAad(identity));
  return Buffer.concat([nonce, ciphertext, tag]);
}

export function recordHash(record: Uint8Array): Buffer {
  return blake3(record);
}

// ---- The allocation-free variants of the hot path (worker threads and the inline lane) ----
//
// Same bytes as prepareBlock / sealRecord (tests compare them), but written into buffers the caller
// owns and reuses: a fresh 1 MiB Buffer per block costs more than the cipher here (page faults).

/** Bytes a compressed payload may need (zstd's bound for one block). */
export function compressedBound(blockLength: number): number {
  return zstdBinding.compressBound(blockLength);
}

/** Record bytes for a payload: nonce || ciphertext || tag. */
export function recordLengthOf(payloadLength: number): number {
  return SIZES.gcmNonce + payloadLength + SIZES.gcmTag;
}

export interface HashedBlock {
  contentHash: Buffer;
  compressionId: number;
  /** Length of the payload: the compressed bytes in `scratch`, or the plain block (compression none). */
  payloadLength: number;
}

let cctx: zstdBinding.CCtx | undefined;

/**
 * The data half of prepareBlock for a block already known not to be zero: BLAKE3 content hash and
 * zstd level 1 into `scratch` (at least compressedBound(plain.length) bytes), kept only when it
 * saves at least 1/64. With zstd kept, the payload is scratch[0, payloadLength); otherwise `plain`.
 */
export function hashAndCompressInto(plain: Buffer, compression: number, scratch: Buffer): HashedBlock {
  const contentHash = blake3(plain);
  if (compression === CompressionId.zstd) {
    if (!cctx) {
      cctx = new zstdBinding.CCtx();
      cctx.setParameter(zstdBinding.CParameter.compressionLevel, 1);
      cctx.setParameter(zstdBinding.CParameter.checksumFlag, 0);
    }
    const packed = cctx.compress2(scratch, plain);
    if (packed <= plain.length - Math.ceil(plain.length / 64)) return { contentHash, compressionId: CompressionId.zstd, payloadLength: packed };
  }
  return { contentHash, compressionId: CompressionId.none, payloadLength: plain.length };
}

/** Cipher output is copied out in pieces this size: small allocations are reused by malloc, big ones fault. */
const SEAL_PIECE = 32 * 1024;

/**
 * sealRecord into `out` (at least recordLengthOf(payload.length) bytes): nonce || ciphertext || tag.
 * `payload` may be `out[12, 12 + length)` itself (sealed in place, piece by piece). Returns the
 * record length.
 */
export function sealRecordInto(sessionKey: Buffer, nonce: Buffer, payload: Buffer, identity: RecordIdentity, out: Buffer): number {
  const length = recordLengthOf(payload.length);
  if (out.length < length) throw new RangeError("record buffer too small");
  const cipher = createCipheriv("aes-256-gcm", sessionKey, nonce, { authTagLength: SIZES.gcmTag });
  cipher.setAAD(blockAad(identity));
  nonce.copy(out, 0);
  let at = SIZES.gcmNonce;
  for (let from = 0; from < payload.length; from += SEAL_PIECE) {
    const piece = cipher.update(payload.subarray(from, Math.min(payload.length, from + SEAL_PIECE)));
    at += piece.copy(out, at);
  }
  at += cipher.final().copy(out, at);
  at += cipher.getAuthTag().copy(out, at);
  if (at !== length) throw new RangeError("AES-GCM produced an unexpected length");
  return length;
}

export type OpenIntoResult = { ok: true; length: number } | { ok: false; reason: DamageReason };

let dctx: zstdBinding.DCtx | undefined;

/**
 * openRecord into `out` (at least identity.plainLength bytes): authenticates the record, then
 * decompresses it, and checks the content hash. `record` is used as scratch (a compressed payload
 * is decrypted in place), so it is garbage afterwards. Same reasons as openRecord.
 */
export function openRecordInto(sessionKey: Buffer, record: Buffer, identity: RecordIdentity, out: Buffer): OpenIntoResult {
  if (record.length < SIZES.gcmNonce + SIZES.gcmTag) return { ok: false, reason: "truncated" };
  if (out.length < identity.plainLength) throw new RangeError("block buffer too small");
  const nonce = record.subarray(0, SIZES.gcmNonce);
  const tag = record.subarray(record.length - SIZES.gcmTag);
  const ciphertext = record.subarray(SIZES.gcmNonce, record.length - SIZES.gcmTag);
  const compressed = identity.compressionId === CompressionId.zstd;
  if (!compressed && identity.compressionId !== CompressionId.none) return { ok: false, reason: "decompression" };
  if (!compressed && ciphertext.length !== identity.plainLength) return { ok: false, reason: "authentication" };
  // Plaintext lands in the record's own bytes (zstd payload) or straight in `out` (raw block).
  const target = compressed ? ciphertext : out;
  const decipher = createDecipheriv("aes-256-gcm", sessionKey, nonce, { authTagLength: SIZES.gcmTag });
  decipher.setAAD(blockAad(identity));
  decipher.setAuthTag(tag);
  let at = 0;
  for (let from = 0; from < ciphertext.length; from += SEAL_PIECE) {
    const piece = decipher.update(ciphertext.subarray(from, Math.min(ciphertext.length, from + SEAL_PIECE)));
    at += piece.copy(target, at);
  }
  try {
    at += decipher.final().copy(target, at);
  } catch {
    target.fill(0, 0, at);
    return { ok: false, reason: "authentication" };
  }
  let length = at;
  if (compressed) {
    if (!dctx) dctx = new zstdBinding.DCtx();
    try {
      length = dctx.decompress(out.subarray(0, identity.plainLength), ciphertext.subarray(0, at));
    } catch {
      return { ok: false, reason: "decompression" };
    }
  }
  if (length !== identity.plainLength || !blake3(out.subarray(0, length)).equals(identity.contentHash)) return { ok: false, reason: "content-hash" };
  return { ok: true, length };
}

export type OpenResult = { ok: true; data: Buffer } | { ok: false; reason: DamageReason };

/**
 * Authenticates, decompresses and checks a record against the identity the point expects. The
 * reason tells damage kinds apart: authentication (wrong bytes, moved or swapped record),
 * decompression, content-hash (should not happen after authentication; defence in depth).
 */
export function openRecord(sessionKey: Buffer, record: Buffer, identity: RecordIdentity): OpenResult {
  if (record.length < SIZES.gcmNonce + SIZES.gcmTag) return { ok: false, reason: "truncated" };
  const nonce = record.subarray(0, SIZES.gcmNonce);
  const tag = record.subarray(record.length - SIZES.gcmTag);
  const payload = gcmOpen(sessionKey, nonce, record.subarray(SIZES.gcmNonce, record.length - SIZES.gcmTag), tag, blockAad(identity));
  if (!payload) return { ok: false, reason: "authentication" };
  let data: Buffer;
  if (identity.compressionId === CompressionId.zstd) {
    try {
      data = decompress(payload);
    } catch {
      return { ok: false, reason: "decompression" };
    }
  } else if (identity.compressionId === CompressionId.none) {
    data = payload;
  } else {
    return { ok: false, reason: "decompression" };
  }
  if (data.length !== identity.plainLength || !blake3(data).equals(identity.contentHash)) return { ok: false, reason: "content-hash" };
  return { ok: true, data };
}
