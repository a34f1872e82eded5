// The envelope the chain (.vbm) and restore point files share (FORMAT.md):
//   magic || u16 version || u32 header length || header || AES-256-GCM(body) || checksum
// The header is readable without keys; the body is bound to it through its associated data
// (magic || version || BLAKE3(header)), so a header cannot be swapped onto another body.

import { blake3 } from "@napi-rs/blake-hash";
import { ByteReader, ByteWriter, verifyChecksum } from "../bytes";
import { METADATA_NONCE_FIELD } from "../format-registry";
import { nonceFor, openFromBytes, sealToBytes } from "../keys/aead";

export interface SealedFileKind {
  magic: string;
  version: number;
}

function bodyAad(kind: SealedFileKind, headerBytes: Buffer): Buffer {
  return new ByteWriter().ascii(kind.magic).u16(kind.version).bytes(blake3(headerBytes)).finish();
}

/** Seals `body` under `key` and frames it. Each key seals exactly once (fresh per write), so the fixed counter nonce is unique. */
export function writeSealedFile(kind: SealedFileKind, headerBytes: Buffer, body: Uint8Array, key: Buffer): Buffer {
  const sealed = sealToBytes(key, nonceFor(METADATA_NONCE_FIELD, 0), body, bodyAad(kind, headerBytes));
  return new ByteWriter().ascii(kind.magic).u16(kind.version).u32(headerBytes.length).bytes(headerBytes).bytes(sealed).finishWithChecksum();
}

/** Keyless: checks the checksum, magic and version, and splits header from sealed body. */
export function readSealedFile(kind: SealedFileKind, file: string, data: Buffer): { headerBytes: Buffer; sealedBody: Buffer } {
  const r = new ByteReader(verifyChecksum(file, data), file);
  r.header(kind.magic, kind.version);
  const headerBytes = Buffer.from(r.take(r.u32()));
  return { headerBytes, sealedBody: Buffer.from(r.take(r.remaining)) };
}

/** The body in clear, or null when it does not authenticate under `key` with this header. */
export function openSealedBody(kind: SealedFileKind, headerBytes: Buffer, sealedBody: Buffer, key: Buffer): Buffer | null {
  return openFromBytes(key, sealedBody, bodyAad(kind, headerBytes));
}
