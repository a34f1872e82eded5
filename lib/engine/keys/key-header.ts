// Key headers (FORMAT.md "Key header"): the public description of a key encryption key that may
// protect storage keys — a password's KDF parameters, a KMS key version, a recovery keyset's
// public key. Stored in keys/<keyId> and embedded in every protection, never holding a secret.

import { createHash } from "node:crypto";
import { ByteReader, ByteWriter, idHex, verifyChecksum } from "../bytes";
import { FileDamagedError, UnsupportedFormatError } from "../errors";
import { FORMAT_VERSION, KdfId, KeyHeaderKind, MAGIC, WrapId } from "../format-registry";

export interface KdfParams {
  algorithm: "argon2id";
  /** Memory in KiB (Argon2 m). */
  memoryKiB: number;
  /** Passes (Argon2 t). */
  iterations: number;
  /** Lanes (Argon2 p). */
  parallelism: number;
}

export type KmsScheme = "kms-encrypt" | "kms-rsa-oaep-sha256";

export type KeyHeader =
  | {
      kind: "password";
      keyId: Buffer;
      createdAt: number;
      kdf: KdfParams;
      salt: Buffer;
      /** keyCheck(userKey, keyId): rejects a wrong password before any unwrap. */
      commitment: Buffer;
      hint: string;
    }
  | {
      kind: "kms";
      keyId: Buffer;
      createdAt: number;
      scheme: KmsScheme;
      kmsId: string;
      kmsKeyId: string;
      keyVersion: number;
      /** SPKI DER for kms-rsa-oaep-sha256; empty for kms-encrypt. */
      publicKey: Buffer;
    }
  | { kind: "recovery-keyset"; keyId: Buffer; createdAt: number; publicKey: Buffer };

/**
 * The key id as people and the KEY-7 list see it: `password:<id>`,
 * `kms:<kmsId>/<keyId>@<version>`, `keyset:<id>`.
 */
export function describeKey(header: KeyHeader): string {
  switch (header.kind) {
    case "password":
      return `password:${idHex(header.keyId)}`;
    case "kms":
      return `kms:${header.kmsId}/${header.kmsKeyId}@${header.keyVersion}`;
    case "recovery-keyset":
      return `keyset:${idHex(header.keyId)}`;
  }
}

/** Deterministic key id of one version of a KMS key: a rotated version is another key (KEY-5/7). */
export function kmsKeyIdOf(kmsId: string, kmsKeyId: string, keyVersion: number): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(keyVersion);
  return createHash("sha256")
    .update(Buffer.from(kmsId, "utf8"))
    .update(Buffer.from([0]))
    .update(Buffer.from(kmsKeyId, "utf8"))
    .update(Buffer.from([0]))
    .update(version)
    .digest()
    .subarray(0, 16);
}

/** A recovery keyset's id is the first 16 bytes of SHA-256 of its public key (self-proving). */
export function keysetIdOf(publicKeySpki: Uint8Array): Buffer {
  return createHash("sha256").update(publicKeySpki).digest().subarray(0, 16);
}

export function encodeKeyHeader(header: KeyHeader): Buffer {
  const w = new ByteWriter().ascii(MAGIC.keyHeader).u16(FORMAT_VERSION.keyHeader);
  switch (header.kind) {
    case "password":
      w.u8(KeyHeaderKind.password).id(header.keyId).u64(header.createdAt);
      w.u8(KdfId.argon2id).u32(header.kdf.memoryKiB).u32(header.kdf.iterations).u8(header.kdf.parallelism);
      w.bytes8(header.salt).bytes(header.commitment).str16(header.hint);
      break;
    case "kms":
      w.u8(KeyHeaderKind.kms).id(header.keyId).u64(header.createdAt);
      w.u8(header.scheme === "kms-encrypt" ? WrapId.kmsEncrypt : WrapId.kmsRsaOaepSha256);
      w.str16(header.kmsId).str16(header.kmsKeyId).u32(header.keyVersion).bytes32(header.publicKey);
      break;
    case "recovery-keyset":
      w.u8(KeyHeaderKind.recoveryKeyset).id(header.keyId).u64(header.createdAt).bytes32(header.publicKey);
      break;
  }
  return w.finishWithChecksum();
}

export function decodeKeyHeader(data: Buffer, file = "key header"): KeyHeader {
  const r = new ByteReader(verifyChecksum(file, data), file);
  r.header(MAGIC.keyHeader, FORMAT_VERSION.keyHeader);
  const kind = r.u8();
  const keyId = r.id();
  const createdAt = r.u64();
  let header: KeyHeader;
  if (kind === KeyHeaderKind.password) {
    const kdfId = r.u8();
    if (kdfId !== KdfId.argon2id) throw new UnsupportedFormatError(file, `KDF ${kdfId} is not supported`);
    const kdf: KdfParams = { algorithm: "argon2id", memoryKiB: r.u32(), iterations: r.u32(), parallelism: r.u8() };
    header = { kind: "password", keyId, createdAt, kdf, salt: Buffer.from(r.bytes8()), commitment: Buffer.from(r.take(32)), hint: r.str16() };
  } else if (kind === KeyHeaderKind.kms) {
    const wrapId = r.u8();
    if (wrapId !== WrapId.kmsEncrypt && wrapId !== WrapId.kmsRsaOaepSha256) throw new UnsupportedFormatError(file, `KMS scheme ${wrapId} is not supported`);
    const scheme: KmsScheme = wrapId === WrapId.kmsEncrypt ? "kms-encrypt" : "kms-rsa-oaep-sha256";
    header = { kind: "kms", keyId, createdAt, scheme, kmsId: r.str16(), kmsKeyId: r.str16(), keyVersion: r.u32(), publicKey: Buffer.from(r.bytes32()) };
    if (!kmsKeyIdOf(header.kmsId, header.kmsKeyId, header.keyVersion).equals(keyId)) throw new FileDamagedError(file, "inconsistent", "KMS key id does not match its name");
  } else if (kind === KeyHeaderKind.recoveryKeyset) {
    header = { kind: "recovery-keyset", keyId, createdAt, publicKey: Buffer.from(r.bytes32()) };
    if (!keysetIdOf(header.publicKey).equals(keyId)) throw new FileDamagedError(file, "inconsistent", "keyset id does not match its public key");
  } else {
    throw new UnsupportedFormatError(file, `key kind ${kind} is not supported`);
  }
  r.expectEnd();
  return header;
}
