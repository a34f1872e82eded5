// KMS keys as key encryption keys (KEY-5). The engine talks to a key provider through this
// interface only; MemoryKms is its in-memory twin, and a KMIP-backed implementation (lib/kmip
// Encrypt/Decrypt) plugs in later without touching the repository code.
//
// Two schemes:
//  - kms-encrypt: a symmetric key that never leaves the KMS; wrap and unwrap are KMIP
//    Encrypt/Decrypt calls (AES-GCM with our associated data).
//  - kms-rsa-oaep-sha256: an RSA key pair whose private key stays in the KMS. Strongroom keeps the
//    public key and wraps locally; only unwrap calls the KMS (KMIP Decrypt with the private key).

import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { EngineError, InvalidArgumentError, KmsUnavailableError, WrongKeyError } from "../errors";
import { WrapId } from "../format-registry";
import { kmsKeyIdOf, type KeyHeader, type KmsScheme } from "./key-header";
import { keyCheck, type KeyRole, type SecretKey } from "./secret-key";
import { acceptUnwrapped, spkiFingerprint, wrapAad, wrapWithPublicKey, type WrapRecord } from "./wrap";

export type KmsKeyHeader = Extract<KeyHeader, { kind: "kms" }>;

/** One version of one KMS key, as the KMS describes it. */
export interface KmsKeyVersion {
  kmsId: string;
  kmsKeyId: string;
  keyVersion: number;
  scheme: KmsScheme;
  /** SPKI DER, for kms-rsa-oaep-sha256. */
  publicKey?: Buffer;
}

export interface KmsWrapper {
  /** The key provider's id as the console registers it (KEY-7 "KMS id"). */
  readonly kmsId: string;
  /** The current version of a key. Called at session start: a rotated key is used transparently (KEY-5). */
  latestVersion(kmsKeyId: string): Promise<KmsKeyVersion>;
  /** KMIP Encrypt under a kms-encrypt key version. Returns an opaque blob (nonce, ciphertext, tag). */
  encrypt(key: KmsKeyVersion, plaintext: Buffer, aad: Buffer): Promise<Buffer>;
  /** KMIP Decrypt: the inverse of encrypt, or RSA-OAEP-SHA-256 with the private key that stays in the KMS. */
  decrypt(key: KmsKeyVersion, ciphertext: Buffer, aad: Buffer): Promise<Buffer>;
}

export function kmsKeyHeader(v: KmsKeyVersion, createdAt: number): KmsKeyHeader {
  if (v.scheme === "kms-rsa-oaep-sha256" && !v.publicKey?.length) throw new InvalidArgumentError("an RSA KMS key needs its public key");
  return {
    kind: "kms",
    keyId: kmsKeyIdOf(v.kmsId, v.kmsKeyId, v.keyVersion),
    createdAt,
    scheme: v.scheme,
    kmsId: v.kmsId,
    kmsKeyId: v.kmsKeyId,
    keyVersion: v.keyVersion,
    publicKey: v.scheme === "kms-rsa-oaep-sha256" ? Buffer.from(v.publicKey!) : Buffer.alloc(0),
  };
}

export function versionOf(header: KmsKeyHeader): KmsKeyVersion {
  return {
    kmsId: header.kmsId,
    kmsKeyId: header.kmsKeyId,
    keyVersion: header.keyVersion,
    scheme: header.scheme,
    publicKey: header.publicKey.length ? header.publicKey : undefined,
  };
}

/**
 * Identity commitment for kms-encrypt: the key never leaves the KMS, so we cannot commit to its
 * bytes; we commit to which key version must answer, and rely on targetCheck after unwrap.
 */
function kmsIdentityCommitment(header: KmsKeyHeader): Buffer {
  return createHash("sha256").update(header.keyId).update(header.kmsId).update(Buffer.from([0])).update(header.kmsKeyId).digest();
}

export async function wrapWithKms(kms: KmsWrapper, header: KmsKeyHeader, target: SecretKey, context: Buffer): Promise<WrapRecord> {
  if (header.scheme === "kms-rsa-oaep-sha256") {
    const publicKey: KeyObject = createPublicKey({ key: header.publicKey, format: "der", type: "spki" });
    return wrapWithPublicKey(WrapId.kmsRsaOaepSha256, header.keyId, publicKey, target, context);
  }
  const aad = wrapAad(WrapId.kmsEncrypt, header.keyId, target.id, context);
  const wrapped = await guard(kms, () => kms.encrypt(versionOf(header), Buffer.from(target.expose()), aad));
  return {
    wrapId: WrapId.kmsEncrypt,
    wrappingKeyId: header.keyId,
    targetKeyId: target.id,
    commitment: kmsIdentityCommitment(header),
    targetCheck: keyCheck(target.expose(), target.id),
    nonce: Buffer.alloc(0),
    wrapped,
  };
}

/** True when this record names this KMS key version (checked before calling the KMS). */
export function kmsCommitsTo(rec: WrapRecord, header: KmsKeyHeader): boolean {
  if (!rec.wrappingKeyId.equals(header.keyId)) return false;
  if (rec.wrapId === WrapId.kmsEncrypt) return kmsIdentityCommitment(header).equals(rec.commitment);
  if (rec.wrapId === WrapId.kmsRsaOaepSha256) return spkiFingerprint(header.publicKey).equals(rec.commitment);
  return false;
}

export async function unwrapWithKms(
  kms: KmsWrapper,
  header: KmsKeyHeader,
  rec: WrapRecord,
  context: Buffer,
  role: KeyRole,
  keyRef: string,
): Promise<SecretKey> {
  if (!kmsCommitsTo(rec, header)) throw new WrongKeyError(keyRef);
  const aad = rec.wrapId === WrapId.kmsEncrypt ? wrapAad(rec.wrapId, rec.wrappingKeyId, rec.targetKeyId, context) : Buffer.alloc(0);
  const raw = await guard(kms, () => kms.decrypt(versionOf(header), rec.wrapped, aad));
  return acceptUnwrapped(rec, Buffer.from(raw), role, keyRef);
}

/** Turns transport failures into KmsUnavailableError without echoing anything the KMS sent. */
export async function guard<T>(kms: KmsWrapper, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof KmsUnavailableError) throw e;
    if (e instanceof EngineError) throw e;
    throw new KmsUnavailableError(kms.kmsId, e instanceof Error && "code" in e ? String((e as { code: unknown }).code) : "request failed");
  }
}
