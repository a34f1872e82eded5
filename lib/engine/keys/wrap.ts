// Wrap records (FORMAT.md "Wrap record"): one key encrypted under another, with a commitment to
// the wrapping key that is checked before any unwrap, and a check value of the wrapped key that
// is verified after it.
//
// AES-GCM is not key-committing: a ciphertext can be built that authenticates under two keys, and
// without a commitment a "try every key" loop can be turned into a key-search oracle. Deriving
// both the GCM key and a commitment from the wrapping key with HKDF (the "CTX"/derive-then-commit
// construction) makes a wrong key fail on a 32-byte comparison, before decryption is attempted.

import { constants, createHash, createPublicKey, privateDecrypt, publicEncrypt, timingSafeEqual, type KeyObject } from "node:crypto";
import { ByteReader, ByteWriter, systemRandom, type RandomSource } from "../bytes";
import { InvalidArgumentError, UnsupportedFormatError, WrongKeyError } from "../errors";
import { FORMAT_VERSION, MAGIC, SIZES, WrapId, type WrapIdValue } from "../format-registry";
import { gcmOpen, gcmSeal } from "./aead";
import { hkdf, keyCheck, SecretKey, type KeyRole } from "./secret-key";

export interface WrapRecord {
  wrapId: WrapIdValue;
  wrappingKeyId: Buffer;
  targetKeyId: Buffer;
  commitment: Buffer;
  targetCheck: Buffer;
  nonce: Buffer;
  wrapped: Buffer;
}

const COMMIT_INFO = Buffer.from("strongroom/v1/wrap-commitment");
const WRAP_KEY_INFO = Buffer.from("strongroom/v1/wrap-key");

export function encodeWrap(w: ByteWriter, rec: WrapRecord): ByteWriter {
  return w
    .u8(rec.wrapId)
    .id(rec.wrappingKeyId)
    .id(rec.targetKeyId)
    .bytes(rec.commitment)
    .bytes(rec.targetCheck)
    .bytes8(rec.nonce)
    .bytes32(rec.wrapped);
}

export function decodeWrap(r: ByteReader): WrapRecord {
  const wrapId = r.u8();
  if (!Object.values(WrapId).includes(wrapId as WrapIdValue) || wrapId === WrapId.aesKw) {
    throw new UnsupportedFormatError(r.file, `wrap algorithm ${wrapId} is not supported`);
  }
  return {
    wrapId: wrapId as WrapIdValue,
    wrappingKeyId: r.id(),
    targetKeyId: r.id(),
    commitment: Buffer.from(r.take(SIZES.hash)),
    targetCheck: Buffer.from(r.take(SIZES.hash)),
    nonce: Buffer.from(r.bytes8()),
    wrapped: Buffer.from(r.bytes32()),
  };
}

/** "SRWR" || version || wrapId || wrappingKeyId || targetKeyId || context. */
export function wrapAad(wrapId: number, wrappingKeyId: Buffer, targetKeyId: Buffer, context: Buffer): Buffer {
  return new ByteWriter().ascii(MAGIC.wrapAad).u16(FORMAT_VERSION.wrapAad).u8(wrapId).id(wrappingKeyId).id(targetKeyId).bytes(context).finish();
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Checks the unwrapped bytes against the record's targetCheck and builds the key. */
export function acceptUnwrapped(rec: WrapRecord, raw: Buffer, role: KeyRole, keyRef: string): SecretKey {
  try {
    if (raw.length !== SIZES.key || !sameBytes(keyCheck(raw, rec.targetKeyId), rec.targetCheck)) throw new WrongKeyError(keyRef);
    return new SecretKey(role, rec.targetKeyId, raw);
  } finally {
    raw.fill(0);
  }
}

// ---- symmetric: aes-256-gcm-committed ----

export function wrapWithKey(wrapping: SecretKey, target: SecretKey, context: Buffer, random: RandomSource = systemRandom): WrapRecord {
  const nonce = random(SIZES.gcmNonce);
  const raw = wrapping.expose();
  const kek = hkdf(raw, nonce, WRAP_KEY_INFO);
  const aad = wrapAad(WrapId.aes256GcmCommitted, wrapping.id, target.id, context);
  const { ciphertext, tag } = gcmSeal(kek, nonce, target.expose(), aad);
  kek.fill(0);
  return {
    wrapId: WrapId.aes256GcmCommitted,
    wrappingKeyId: wrapping.id,
    targetKeyId: target.id,
    commitment: hkdf(raw, nonce, COMMIT_INFO),
    targetCheck: keyCheck(target.expose(), target.id),
    nonce,
    wrapped: Buffer.concat([ciphertext, tag]),
  };
}

/** True when `wrapping` is the key this record was wrapped under (no decryption involved). */
export function commitsTo(rec: WrapRecord, wrapping: SecretKey): boolean {
  return (
    rec.wrapId === WrapId.aes256GcmCommitted &&
    rec.wrappingKeyId.equals(wrapping.id) &&
    sameBytes(hkdf(wrapping.expose(), rec.nonce, COMMIT_INFO), rec.commitment)
  );
}

export function unwrapWithKey(rec: WrapRecord, wrapping: SecretKey, context: Buffer, role: KeyRole, keyRef = `key ${wrapping.idHex}`): SecretKey {
  if (!commitsTo(rec, wrapping)) throw new WrongKeyError(keyRef);
  const kek = hkdf(wrapping.expose(), rec.nonce, WRAP_KEY_INFO);
  const aad = wrapAad(rec.wrapId, rec.wrappingKeyId, rec.targetKeyId, context);
  const body = rec.wrapped;
  const raw = gcmOpen(kek, rec.nonce, body.subarray(0, body.length - SIZES.gcmTag), body.subarray(body.length - SIZES.gcmTag), aad);
  kek.fill(0);
  // The commitment matched, so a failure here is damage or a wrap moved to another context.
  if (!raw) throw new WrongKeyError(keyRef);
  return acceptUnwrapped(rec, raw, role, keyRef);
}

// ---- asymmetric: rsa-oaep-sha256 (recovery keysets) and kms-rsa-oaep-sha256 (local wrap) ----

export function spkiFingerprint(spki: Uint8Array): Buffer {
  return createHash("sha256").update(spki).digest();
}

export function rsaOaepEncrypt(publicKey: KeyObject, plaintext: Buffer, label?: Buffer): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: label }, plaintext);
}

export function rsaOaepDecrypt(privateKey: KeyObject, ciphertext: Buffer, label?: Buffer): Buffer | null {
  try {
    return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: label }, ciphertext);
  } catch {
    return null;
  }
}

/**
 * Wraps under an RSA public key. For recovery keysets the OAEP label binds the wrap to its context;
 * a KMS decrypt has no label, so kms-rsa-oaep-sha256 relies on targetCheck (which binds the key id).
 */
export function wrapWithPublicKey(
  wrapId: typeof WrapId.rsaOaepSha256 | typeof WrapId.kmsRsaOaepSha256,
  wrappingKeyId: Buffer,
  publicKey: KeyObject,
  target: SecretKey,
  context: Buffer,
): WrapRecord {
  if (publicKey.asymmetricKeyType !== "rsa") throw new InvalidArgumentError("recovery and KMS public keys must be RSA");
  const spki = publicKey.export({ type: "spki", format: "der" });
  const label = wrapId === WrapId.rsaOaepSha256 ? wrapAad(wrapId, wrappingKeyId, target.id, context) : undefined;
  return {
    wrapId,
    wrappingKeyId,
    targetKeyId: target.id,
    commitment: spkiFingerprint(spki),
    targetCheck: keyCheck(target.expose(), target.id),
    nonce: Buffer.alloc(0),
    wrapped: rsaOaepEncrypt(publicKey, target.expose(), label),
  };
}

/** Commitment check for RSA wraps: the private key's public half must be the one that wrapped. */
export function rsaCommitsTo(rec: WrapRecord, privateKeyOrPublic: KeyObject): boolean {
  const publicKey = privateKeyOrPublic.type === "private" ? createPublicKey(privateKeyOrPublic) : privateKeyOrPublic;
  return sameBytes(spkiFingerprint(publicKey.export({ type: "spki", format: "der" })), rec.commitment);
}

export function unwrapWithPrivateKey(rec: WrapRecord, privateKey: KeyObject, context: Buffer, role: KeyRole, keyRef: string): SecretKey {
  if (rec.wrapId !== WrapId.rsaOaepSha256 || !rsaCommitsTo(rec, privateKey)) throw new WrongKeyError(keyRef);
  const raw = rsaOaepDecrypt(privateKey, rec.wrapped, wrapAad(rec.wrapId, rec.wrappingKeyId, rec.targetKeyId, context));
  if (!raw) throw new WrongKeyError(keyRef);
  return acceptUnwrapped(rec, raw, role, keyRef);
}
