// KmipKmsWrapper: the engine's KmsWrapper (lib/engine/keys/kms.ts) over a real KMS, through this
// folder's KMIP client. It is the one file of lib/kmip that knows about the engine, and it imports
// only the engine's dependency-free error classes and types, so `@/lib/kmip` stays light.
//
// ------------------------------------------------------------------------------- versioning design
//
// A backup job names its KMS key by a stable name, e.g. "strongroom/job/<id>": the KMIP Name
// attribute. Each *version* of that key is a separate KMIP object carrying that Name (KMIP lets
// several objects share a Name); rotating means creating and activating another object with the
// same Name (createKmsBackupKey below, or the KMS administrator's own tooling).
//
// latestVersion(name) Locates the objects with that Name, reads their attributes, keeps the Active
// AES keys and RSA private keys, and takes the newest: by Activation Date (Initial Date when the KMS
// keeps none, as PyKMIP), then Initial Date, then unique identifier (numerically when both are
// decimal, as PyKMIP's are). It returns
//
//   kmsKeyId   = "<name>#<unique identifier>"   (the identifier URI-encoded, so it never holds '#')
//   keyVersion = the object's Initial Date, in seconds since 1970 (a u32 until 2106)
//
// and the engine records both in the key header of every wrap (describeKey shows
// "kms:<kmsId>/<name>#<uid>@<initial date>").
//
// Why the unique identifier is in kmsKeyId, and not only a version number next to the name:
//  - decrypt must find the exact object years later. Looking it up again by (name, ordinal) breaks
//    as soon as the set of objects with that Name changes other than by appending: PyKMIP's Destroy
//    deletes the object (every later ordinal shifts down by one); KMIP ReKey moves the Name to the
//    new key and removes it from the old one (the old key is no longer found by Name at all); an
//    administrator may rename or re-tag keys. The unique identifier is the one thing KMIP promises
//    never changes and is never reused. decrypt therefore needs no Locate: one Decrypt round trip.
//  - the key header has exactly two fields for this (a string and a u32); a KMIP unique identifier
//    is a string (PyKMIP "17", most KMSs a UUID) and does not fit the u32.
// Why the Initial Date as keyVersion, and not a 1-based ordinal among the name's objects:
//  - it is a property of the object itself, set once by the KMS at creation: it never changes,
//    whatever happens to the other versions (an ordinal changes when an older version is destroyed
//    or loses its Name, and then the same object would get a second engine key id on the next
//    latestVersion). It still orders versions (newer versions have a later or equal date).
//  - uniqueness does not rest on it: two versions created in the same second share a keyVersion but
//    differ in kmsKeyId, so their engine key ids (kmsKeyIdOf) differ too.
// Costs: the number is not the friendly "@2" of MemoryKms, and kmsKeyId differs per version (the
// stable name is its part before the last '#': decodeKmsKeyId).
//
// ----------------------------------------------------------------------------------- wrap formats
//
// kms-encrypt: KMIP Encrypt with AES-GCM (KMIP 1.4: Cryptographic Parameters { Block Cipher Mode GCM,
// Cryptographic Algorithm AES, Tag Length 16 }, IV/Counter/Nonce = 12 random bytes from this client,
// Authenticated Encryption Additional Data = the engine's aad). The opaque blob is
//
//     offset  0      1         13          29
//             | 0x01 | IV (12) | tag (16)  | ciphertext (as long as the plaintext) |
//
// (byte 0 is this layout's version). decrypt refuses any other version byte or a blob shorter than
// 29 bytes as a wrong/damaged key without asking the KMS.
//
// kms-rsa-oaep-sha256: the engine wraps locally with the public key (latestVersion returns it, SPKI
// DER, fetched with KMIP Get); decrypt sends KMIP Decrypt { Cryptographic Parameters { Padding
// Method OAEP, Hashing Algorithm SHA-256, Cryptographic Algorithm RSA, and at KMIP 1.4 Mask
// Generator MGF1 with Mask Generator Hashing Algorithm SHA-256 } } with the engine's OAEP
// ciphertext as Data. KmipClient.decrypt only encodes AES parameters, so that request is built here
// and sent on a second connection (RawKmip below), opened only when an RSA key is used.
// PyKMIP 0.10 cannot RSA-decrypt; that path is tested only up to the KMS's refusal.
//
// ------------------------------------------------------------------------------------------ errors
//
// The engine's guard turns unknown errors into KmsUnavailableError("request failed"), so every
// failure here is thrown as an engine error with a reason an operator can act on:
//  - WrongKeyError: the KMS reports an authentication failure on Decrypt (CryptographicFailure; or
//    PyKMIP's GeneralFailure when the same key still encrypts and decrypts a probe), or the blob
//    is not one of ours. This is "wrong key / damaged", never "unavailable".
//  - KmipKmsError (a KmsUnavailableError, code KMS_UNAVAILABLE) with a `problem` discriminant:
//    transport failures, a KMS refusal, GCM needing KMIP 1.4, no Active key of that name, a
//    Deactivated key the KMS will not decrypt with, RSA Decrypt not supported ...
//  - InvalidArgumentError: a key version that is not this wrapper's (other kmsId, a kmsKeyId
//    without "#<uid>", encrypt with an RSA key).
// Messages carry key names, unique identifiers, states and KMIP result codes; never key material,
// plaintext or the KMS's free-text Result Message (kept on `cause` only). Nothing here logs.

import { createPublicKey, randomBytes } from "node:crypto";
import { EngineError, InvalidArgumentError, KmsUnavailableError, WrongKeyError } from "../engine/errors";
import type { KmsKeyVersion, KmsWrapper } from "../engine/keys/kms";
import type { AttributeSet } from "./attributes";
import { KmipClient, type KmipClientOptions } from "./client";
import type { ManagedObject } from "./operations";
import { KmipConnection, tlsConnector } from "./connection";
import { CryptographicAlgorithm, CryptographicUsageMask, HashingAlgorithm, Operation, PaddingMethod, ResultStatus, enumName } from "./enums";
import { KmipCodecError, KmipError, KmipTransportError, KmipUsageError } from "./errors";
import { bytes, enm, need, struct, text } from "./items";
import { KMIP_1_2, KMIP_1_4, decodeResponse, encodeRequest, versionAtLeast, versionString, type ProtocolVersion } from "./messages";
import { Tag } from "./tags";
import { DEFAULT_MAX_MESSAGE_SIZE, type TtlvItem } from "./ttlv";

type KmsScheme = KmsKeyVersion["scheme"];

/** Version byte of the kms-encrypt blob layout (see the comment at the top). */
export const KMS_BLOB_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BLOB_HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
/** KMIP 1.4 Mask Generator enumeration: MGF1. */
const MASK_GENERATOR_MGF1 = 1;
/** Attributes latestVersion reads from each object carrying the name. */
const VERSION_ATTRIBUTES = [
  "Object Type", "Cryptographic Algorithm", "Cryptographic Length", "Cryptographic Usage Mask", "State",
  "Initial Date", "Activation Date", "Name", "Link",
];
const ENCRYPT_DECRYPT = CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt;

// ------------------------------------------------------------------------------------ error class

export type KmipKmsProblem =
  /** The connection speaks KMIP < 1.4: no AES-GCM (the KMS does not offer 1.4, or it was pinned lower). */
  | "gcm-needs-kmip-1.4"
  /** The KMS does not do KMIP Decrypt with an RSA private key (PyKMIP 0.10 among them). */
  | "rsa-decrypt-unsupported"
  /** No Active AES key or RSA private key carries the name. */
  | "no-active-key"
  /** The key object is gone (destroyed) or not visible to this client certificate. */
  | "key-not-found"
  /** The key object is not Active and the KMS refuses to use it (e.g. Deactivated, for Decrypt). */
  | "key-not-active"
  /** The newest Active object cannot be used (usage mask, algorithm, no public key …). */
  | "key-unsuitable"
  /** Any other refusal by the KMS (KMIP Result Status not Success). */
  | "refused"
  /** Could not talk to the KMS (refused, timeout, TLS, certificate …). */
  | "transport"
  /** The KMS answered something that is not a valid answer. */
  | "bad-answer";

/** A KMIP-level failure, typed for the engine: KMS_UNAVAILABLE, with the precise `problem`. */
export class KmipKmsError extends KmsUnavailableError {
  constructor(
    kmsId: string,
    readonly problem: KmipKmsProblem,
    reason: string,
    cause?: unknown,
  ) {
    super(kmsId, reason);
    if (cause !== undefined) Object.defineProperty(this, "cause", { value: cause, enumerable: false, writable: true, configurable: true });
  }
}

// ------------------------------------------------------------------------------ kmsKeyId and blob

/** "<name>#<unique identifier>" (the identifier URI-encoded). */
export function encodeKmsKeyId(name: string, uniqueIdentifier: string): string {
  if (!name) throw new InvalidArgumentError("a KMS key name is needed");
  if (!uniqueIdentifier) throw new InvalidArgumentError("a KMIP unique identifier is needed");
  return `${name}#${encodeURIComponent(uniqueIdentifier)}`;
}

/** The inverse of encodeKmsKeyId, or undefined for a kmsKeyId that does not name a KMIP object. */
export function decodeKmsKeyId(kmsKeyId: string): { name: string; uniqueIdentifier: string } | undefined {
  const i = kmsKeyId.lastIndexOf("#");
  if (i <= 0 || i === kmsKeyId.length - 1) return undefined;
  try {
    return { name: kmsKeyId.slice(0, i), uniqueIdentifier: decodeURIComponent(kmsKeyId.slice(i + 1)) };
  } catch {
    return undefined; // malformed %-escape
  }
}

export function encodeKmsBlob(iv: Buffer, tag: Buffer, ciphertext: Buffer): Buffer {
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new InvalidArgumentError("AES-GCM blob needs a 12-byte IV and a 16-byte tag");
  return Buffer.concat([Buffer.from([KMS_BLOB_VERSION]), iv, tag, ciphertext]);
}

export function decodeKmsBlob(blob: Buffer): { iv: Buffer; tag: Buffer; ciphertext: Buffer } | undefined {
  if (blob.length < BLOB_HEADER_BYTES || blob[0] !== KMS_BLOB_VERSION) return undefined;
  return {
    iv: blob.subarray(1, 1 + IV_BYTES),
    tag: blob.subarray(1 + IV_BYTES, BLOB_HEADER_BYTES),
    ciphertext: blob.subarray(BLOB_HEADER_BYTES),
  };
}

/** The key as the engine names it (same text as describeKey in lib/engine/keys/key-header.ts). */
function keyRefOf(key: KmsKeyVersion): string {
  return `kms:${key.kmsId}/${key.kmsKeyId}@${key.keyVersion}`;
}

// ---------------------------------------------------------------------------------------- wrapper

export class KmipKmsWrapper implements KmsWrapper {
  /** The KMIP client (one mutual-TLS connection); also usable to provision keys (createKmsBackupKey). */
  readonly client: KmipClient;
  private raw: RawKmip | undefined;

  /**
   * @param kmsId the console's key provider id (KEY-7), recorded in every key header.
   * @param settings the KMIP client settings (one KMS endpoint, CA, client certificate and key).
   *   `protocolVersion` "auto" (default) negotiates with DiscoverVersions; kms-encrypt keys need 1.4.
   */
  constructor(
    readonly kmsId: string,
    private readonly settings: KmipClientOptions,
  ) {
    if (!kmsId) throw new InvalidArgumentError("a KMS wrapper needs the key provider id");
    this.client = new KmipClient(settings);
  }

  async latestVersion(name: string): Promise<KmsKeyVersion> {
    if (!name) throw new InvalidArgumentError("a KMS key name is needed");
    const what = `looking up KMS key "${name}"`;
    try {
      const uids = await this.client.locate({ name });
      const named: AttributeSet[] = [];
      for (const uid of uids) {
        try {
          const attrs = await this.client.getAttributes(uid, VERSION_ATTRIBUTES);
          if (attrs.names.includes(name)) named.push(attrs); // a Locate that ignored its filter is not trusted
        } catch (e) {
          if (e instanceof KmipError && e.resultReason === "ItemNotFound") continue; // destroyed meanwhile
          throw e;
        }
      }
      const candidates = named.filter((o) => o.state === "Active" && schemeOf(o) !== undefined).sort(newestFirst);
      const latest = candidates[0];
      if (!latest) {
        throw new KmipKmsError(this.kmsId, "no-active-key", `no Active AES key or RSA private key is named "${name}" (${summarize(named)})`);
      }
      const scheme = schemeOf(latest)!;
      const version: KmsKeyVersion = {
        kmsId: this.kmsId,
        kmsKeyId: encodeKmsKeyId(name, latest.uniqueIdentifier),
        keyVersion: keyVersionOf(this.kmsId, latest),
        scheme,
      };
      const needed = scheme === "kms-encrypt" ? ENCRYPT_DECRYPT : CryptographicUsageMask.Decrypt;
      if (latest.cryptographicUsageMask !== undefined && (latest.cryptographicUsageMask & needed) !== needed) {
        throw new KmipKmsError(
          this.kmsId,
          "key-unsuitable",
          `the newest Active version of "${name}" (object ${latest.uniqueIdentifier}) lacks the ${scheme === "kms-encrypt" ? "Encrypt and Decrypt" : "Decrypt"} usage`,
        );
      }
      if (scheme === "kms-encrypt") await this.requireGcm();
      else version.publicKey = await this.publicKeyOf(latest, named);
      return version;
    } catch (e) {
      throw this.toEngineError(e, what);
    }
  }

  async encrypt(key: KmsKeyVersion, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    const uid = this.objectOf(key);
    if (key.scheme !== "kms-encrypt") throw new InvalidArgumentError("an RSA KMS key wraps locally with its public key; KMIP Encrypt is not used");
    try {
      await this.requireGcm();
      const enc = await this.client.encrypt(uid, plaintext, { mode: "GCM", aad, tagLength: TAG_BYTES });
      if (enc.uniqueIdentifier !== uid || enc.iv?.length !== IV_BYTES || enc.tag?.length !== TAG_BYTES || enc.data.length !== plaintext.length) {
        throw new KmipKmsError(this.kmsId, "bad-answer", `the KMS answered Encrypt with key object ${uid} with an unexpected key id, IV, tag or length`);
      }
      return encodeKmsBlob(enc.iv, enc.tag, enc.data);
    } catch (e) {
      throw this.toEngineError(e, `encrypting with ${keyRefOf(key)}`);
    }
  }

  async decrypt(key: KmsKeyVersion, ciphertext: Buffer, aad: Buffer): Promise<Buffer> {
    const uid = this.objectOf(key);
    const keyRef = keyRefOf(key);
    if (key.scheme === "kms-rsa-oaep-sha256") {
      if (aad.length > 0) throw new InvalidArgumentError("KMIP Decrypt with RSA-OAEP takes no associated data (no OAEP label)");
      try {
        return await this.rsaDecrypt(uid, ciphertext);
      } catch (e) {
        throw await this.decryptFailure(e, key, uid);
      }
    }
    const blob = decodeKmsBlob(ciphertext);
    if (!blob) throw new WrongKeyError(keyRef); // not a blob of ours: damaged
    try {
      await this.requireGcm();
      return await this.client.decrypt(uid, blob.ciphertext, { mode: "GCM", iv: blob.iv, tag: blob.tag, aad });
    } catch (e) {
      throw await this.decryptFailure(e, key, uid);
    }
  }

  /** Create and activate a new AES-256 version of `name` (rotation); see createKmsBackupKey. */
  createVersion(name: string): Promise<KmsKeyVersion & { uniqueIdentifier: string }> {
    return createKmsBackupKey(this.client, name, { kmsId: this.kmsId });
  }

  /** Close the connection(s). Calls already made finish first. */
  async close(): Promise<void> {
    await Promise.all([this.client.close(), this.raw?.close()]);
  }

  // ------------------------------------------------------------------------------------ internals

  /** The KMIP unique identifier a key version names (checked to be this wrapper's). */
  private objectOf(key: KmsKeyVersion): string {
    if (key.kmsId !== this.kmsId) throw new InvalidArgumentError(`KMS key ${keyRefOf(key)} belongs to key provider ${key.kmsId}, not ${this.kmsId}`);
    const parsed = decodeKmsKeyId(key.kmsKeyId);
    if (!parsed) throw new InvalidArgumentError(`KMS key id "${key.kmsKeyId}" does not name a KMIP object (expected <name>#<unique identifier>)`);
    return parsed.uniqueIdentifier;
  }

  /** AES-GCM needs KMIP 1.4 (Authenticated Encryption Additional Data / Tag). */
  private async requireGcm(): Promise<void> {
    const v = await this.client.protocolVersion();
    if (versionAtLeast(v, KMIP_1_4)) return;
    const pinned = this.settings.protocolVersion !== undefined && this.settings.protocolVersion !== "auto";
    let why: string;
    if (pinned) why = `the connection settings pin KMIP ${versionString(v)}`;
    else {
      const offers14 = (await this.client.discoverVersions([KMIP_1_4], KMIP_1_2)).some((o) => o.major === 1 && o.minor === 4);
      why = offers14
        ? `the KMS offers KMIP 1.4 but prefers ${versionString(v)}: pin protocolVersion "1.4" in the connection settings`
        : `the KMS offers only KMIP ${versionString(v)}`;
    }
    throw new KmipKmsError(this.kmsId, "gcm-needs-kmip-1.4", `AES-GCM key wrapping needs KMIP 1.4, and ${why}`);
  }

  /** SPKI DER of the public key belonging to an RSA private key version. */
  private async publicKeyOf(priv: AttributeSet, named: AttributeSet[]): Promise<Buffer> {
    const linked = priv.attributes
      .filter((a) => a.name === "Link")
      .map((a) => a.value as { LinkType?: unknown; LinkedObjectIdentifier?: unknown })
      .find((l) => l.LinkType === "PublicKeyLink" && typeof l.LinkedObjectIdentifier === "string");
    let publicUid = linked?.LinkedObjectIdentifier as string | undefined;
    if (publicUid === undefined) {
      // No Link attribute (PyKMIP keeps none): the public half must carry the same Name and the
      // same Initial Date (KMIP Create Key Pair sets both halves' Initial Date at once).
      const halves = named.filter((o) => o.objectType === "PublicKey" && o.initialDate !== undefined && o.initialDate.getTime() === priv.initialDate?.getTime());
      if (halves.length !== 1) {
        throw new KmipKmsError(
          this.kmsId,
          "key-unsuitable",
          `cannot tell which public key belongs to RSA private key object ${priv.uniqueIdentifier}: the KMS sets no Public Key Link, and ${halves.length} public keys with its name share its Initial Date`,
        );
      }
      publicUid = halves[0].uniqueIdentifier;
    }
    return spkiOf(this.kmsId, await this.client.get(publicUid));
  }

  /** KMIP Decrypt with RSA / OAEP / SHA-256 (MGF1-SHA-256 at KMIP 1.4). */
  private async rsaDecrypt(uid: string, data: Buffer): Promise<Buffer> {
    const version = await this.client.protocolVersion();
    this.raw ??= new RawKmip(this.settings);
    const payload = await this.raw.call(Operation.Decrypt, rsaOaepDecryptPayload(uid, data, version), version);
    if (payload === undefined) throw new KmipCodecError("bad-message", "Decrypt response has no Response Payload");
    return Buffer.from(need(payload, Tag.Data, "ByteString").value);
  }

  /** Classify a Decrypt failure: wrong key / damaged, a key the KMS will not use, or unavailable. */
  private async decryptFailure(e: unknown, key: KmsKeyVersion, uid: string): Promise<unknown> {
    const keyRef = keyRefOf(key);
    const what = `decrypting with ${keyRef}`;
    if (!(e instanceof KmipError) || e.operation !== "Decrypt") return this.toEngineError(e, what);
    const rsa = key.scheme === "kms-rsa-oaep-sha256";
    switch (e.resultReason) {
      case "CryptographicFailure":
        return new WrongKeyError(keyRef);
      case "ItemNotFound":
        return this.toEngineError(e, what);
      case "OperationNotSupported":
      case "FeatureNotSupported":
      case "InvalidMessage": // PyKMIP at KMIP 1.4: cannot parse the Mask Generator fields
      case "InvalidField":
        if (rsa) return this.rsaUnsupported(uid, e);
        break;
      case "PermissionDenied": {
        const state = await this.stateOf(uid);
        if (state !== undefined && state !== "Active") {
          return new KmipKmsError(
            this.kmsId,
            "key-not-active",
            `the KMS refuses to decrypt with key object ${uid} (${keyRef}) because it is ${state} (PermissionDenied). ` +
              `KMIP allows decrypting with a Deactivated key; this KMS does not, so data wrapped under this version opens only with another key (password, recovery keyset)`,
            e,
          );
        }
        if (rsa) return this.rsaUnsupported(uid, e);
        break;
      }
      case "GeneralFailure":
        // PyKMIP answers an AES-GCM authentication failure (wrong aad, tag or ciphertext) with
        // GeneralFailure. Tell it from a sick KMS: if the same key still round-trips a probe, the
        // failure was our data's.
        if (!rsa && (await this.keyStillWorks(uid))) return new WrongKeyError(keyRef);
        break;
    }
    return this.toEngineError(e, what);
  }

  private rsaUnsupported(uid: string, e: KmipError): KmipKmsError {
    return new KmipKmsError(
      this.kmsId,
      "rsa-decrypt-unsupported",
      `the KMS refused KMIP Decrypt with RSA-OAEP-SHA-256 using private key object ${uid} (${e.resultReason}): ` +
        `it does not support RSA decryption with these parameters (PyKMIP 0.10 decrypts with symmetric keys only, and cannot parse ` +
        `the KMIP 1.4 Mask Generator fields); use a symmetric KMS key (kms-encrypt) with this KMS`,
      e,
    );
  }

  private async stateOf(uid: string): Promise<string | undefined> {
    try {
      return (await this.client.getAttributes(uid, ["State"])).state;
    } catch {
      return undefined;
    }
  }

  private async keyStillWorks(uid: string): Promise<boolean> {
    try {
      const probe = randomBytes(16);
      const aad = Buffer.from("strongroom kms probe");
      const enc = await this.client.encrypt(uid, probe, { mode: "GCM", aad, tagLength: TAG_BYTES });
      const back = await this.client.decrypt(uid, enc.data, { mode: "GCM", iv: enc.iv, tag: enc.tag, aad });
      return back.equals(probe);
    } catch {
      return false;
    }
  }

  private toEngineError(e: unknown, what: string): unknown {
    return toEngineError(this.kmsId, e, what);
  }
}

// ------------------------------------------------------------------------------ provisioning

/**
 * Create and activate a new version of KMS key `name`: an AES-256 key with that Name and the
 * Encrypt | Decrypt usage, made by the KMS. Used by the console to provision a job's KMS key and
 * to rotate it (tests simulate rotation with it). Returns the version as latestVersion would.
 */
export async function createKmsBackupKey(
  kms: KmipClient | KmipClientOptions,
  name: string,
  options: { kmsId: string },
): Promise<KmsKeyVersion & { uniqueIdentifier: string }> {
  return withClient(kms, options.kmsId, `creating a version of KMS key "${name}"`, async (client) => {
    if (!name) throw new InvalidArgumentError("a KMS key name is needed");
    const uid = await client.create({ length: 256, name, usageMask: ENCRYPT_DECRYPT });
    await activateOrDiscard(client, uid);
    const attrs = await client.getAttributes(uid, ["Initial Date"]);
    return {
      kmsId: options.kmsId,
      kmsKeyId: encodeKmsKeyId(name, uid),
      keyVersion: keyVersionOf(options.kmsId, attrs),
      scheme: "kms-encrypt" as const,
      uniqueIdentifier: uid,
    };
  });
}

/**
 * Create and activate an RSA key pair for kms-rsa-oaep-sha256, both halves named `name` (the
 * private key with the Decrypt usage, the public key with Encrypt). Only useful with a KMS that
 * does RSA Decrypt — not PyKMIP 0.10.
 */
export async function createKmsRsaBackupKey(
  kms: KmipClient | KmipClientOptions,
  name: string,
  options: { kmsId: string; length?: 2048 | 3072 | 4096 },
): Promise<KmsKeyVersion & { uniqueIdentifier: string; publicKeyUniqueIdentifier: string }> {
  return withClient(kms, options.kmsId, `creating an RSA version of KMS key "${name}"`, async (client) => {
    if (!name) throw new InvalidArgumentError("a KMS key name is needed");
    const pair = await client.createKeyPair({
      length: options.length ?? 3072,
      privateKeyName: name,
      publicKeyName: name,
      privateUsageMask: CryptographicUsageMask.Decrypt,
      publicUsageMask: CryptographicUsageMask.Encrypt,
    });
    await activateOrDiscard(client, pair.publicKeyId);
    await activateOrDiscard(client, pair.privateKeyId);
    const attrs = await client.getAttributes(pair.privateKeyId, ["Initial Date"]);
    const publicKey = spkiOf(options.kmsId, await client.get(pair.publicKeyId));
    return {
      kmsId: options.kmsId,
      kmsKeyId: encodeKmsKeyId(name, pair.privateKeyId),
      keyVersion: keyVersionOf(options.kmsId, attrs),
      scheme: "kms-rsa-oaep-sha256" as const,
      publicKey,
      uniqueIdentifier: pair.privateKeyId,
      publicKeyUniqueIdentifier: pair.publicKeyId,
    };
  });
}

async function withClient<T>(kms: KmipClient | KmipClientOptions, kmsId: string, what: string, fn: (c: KmipClient) => Promise<T>): Promise<T> {
  const own = !(kms instanceof KmipClient);
  const client = kms instanceof KmipClient ? kms : new KmipClient(kms);
  try {
    return await fn(client);
  } catch (e) {
    throw toEngineError(kmsId, e, what);
  } finally {
    if (own) await client.close();
  }
}

/** Activate a new object; if that fails, try to destroy it (a PreActive object may be destroyed). */
async function activateOrDiscard(client: KmipClient, uid: string): Promise<void> {
  try {
    await client.activate(uid);
  } catch (e) {
    await client.destroy(uid).catch(() => undefined);
    throw e;
  }
}

// ---------------------------------------------------------------------------------- helpers

function schemeOf(o: AttributeSet): KmsScheme | undefined {
  if (o.objectType === "SymmetricKey" && o.cryptographicAlgorithm === "AES") return "kms-encrypt";
  if (o.objectType === "PrivateKey" && o.cryptographicAlgorithm === "RSA") return "kms-rsa-oaep-sha256";
  return undefined;
}

/** SPKI DER of an RSA public key object as KMIP Get returns it (PKCS#1, as PyKMIP, or X.509). */
function spkiOf(kmsId: string, pub: ManagedObject): Buffer {
  const type = pub.keyFormatType === "PKCS1" ? "pkcs1" : pub.keyFormatType === "X509" ? "spki" : undefined;
  if (pub.objectType !== "PublicKey" || !type || !pub.keyMaterial) {
    throw new KmipKmsError(kmsId, "key-unsuitable", `object ${pub.uniqueIdentifier} is not an RSA public key in PKCS#1 or X.509 format (${pub.objectType}, ${pub.keyFormatType ?? "no key block"})`);
  }
  try {
    const k = createPublicKey({ key: pub.keyMaterial, format: "der", type });
    if (k.asymmetricKeyType !== "rsa" || (k.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Error("not RSA >= 2048");
    return k.export({ format: "der", type: "spki" });
  } catch {
    throw new KmipKmsError(kmsId, "key-unsuitable", `public key object ${pub.uniqueIdentifier} is not an RSA key of at least 2048 bits`);
  }
}

function keyVersionOf(kmsId: string, o: Pick<AttributeSet, "initialDate" | "uniqueIdentifier">): number {
  const seconds = o.initialDate === undefined ? NaN : Math.floor(o.initialDate.getTime() / 1000);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 0xffffffff) {
    throw new KmipKmsError(kmsId, "bad-answer", `the KMS gave key object ${o.uniqueIdentifier} no usable Initial Date`);
  }
  return seconds;
}

const time = (d: Date | undefined) => d?.getTime() ?? 0;

/** Newest first: Activation Date (else Initial Date), then Initial Date, then unique identifier. */
function newestFirst(a: AttributeSet, b: AttributeSet): number {
  return (
    time(b.activationDate ?? b.initialDate) - time(a.activationDate ?? a.initialDate) ||
    time(b.initialDate) - time(a.initialDate) ||
    compareUid(b.uniqueIdentifier, a.uniqueIdentifier)
  );
}

function compareUid(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** "3 objects: 1 PublicKey Active, 2 SymmetricKey Deactivated" (no key material, only types and states). */
function summarize(objects: AttributeSet[]): string {
  if (objects.length === 0) return "no object has this name, or none is visible to this client certificate";
  const counts = new Map<string, number>();
  for (const o of objects) {
    const k = `${o.objectType ?? "object"} ${o.state ?? "(no state)"}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const parts = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, n]) => `${n} ${k}`); // Locate's order varies
  return `${objects.length} object${objects.length > 1 ? "s" : ""}: ${parts.join(", ")}`;
}

function toEngineError(kmsId: string, e: unknown, what: string): unknown {
  if (e instanceof EngineError) return e;
  if (e instanceof KmipTransportError) return new KmipKmsError(kmsId, "transport", `${what}: ${e.message}`, e);
  if (e instanceof KmipCodecError) return new KmipKmsError(kmsId, "bad-answer", `${what}: the KMS sent an invalid KMIP message (${e.code})`, e);
  if (e instanceof KmipUsageError) return new KmipKmsError(kmsId, "refused", `${what}: ${e.message}`, e);
  if (e instanceof KmipError) {
    const code = `${e.resultStatus}${e.resultReason ? ` / ${e.resultReason}` : ""}`;
    if (e.resultReason === "ItemNotFound") {
      return new KmipKmsError(kmsId, "key-not-found", `${what}: KMIP ${e.operation} found no such key object (destroyed, or not visible to this client certificate)`, e);
    }
    return new KmipKmsError(kmsId, "refused", `${what}: KMIP ${e.operation} failed (${code})`, e);
  }
  return e; // a bug, not a KMS failure: let it surface as is
}

function rsaOaepDecryptPayload(uid: string, data: Uint8Array, version: ProtocolVersion): TtlvItem[] {
  const v14 = versionAtLeast(version, KMIP_1_4);
  return [
    text(Tag.UniqueIdentifier, uid),
    // Field order as in KMIP 1.4 §2.1.6 (PyKMIP reads fields in order).
    struct(Tag.CryptographicParameters, [
      enm(Tag.PaddingMethod, PaddingMethod.OAEP),
      enm(Tag.HashingAlgorithm, HashingAlgorithm.SHA256),
      enm(Tag.CryptographicAlgorithm, CryptographicAlgorithm.RSA),
      // KMIP 1.4 defaults the MGF1 hash to SHA-1; Node's OAEP (the engine's local wrap) uses SHA-256 for both.
      v14 && enm(Tag.MaskGenerator, MASK_GENERATOR_MGF1),
      v14 && enm(Tag.MaskGeneratorHashingAlgorithm, HashingAlgorithm.SHA256),
    ]),
    bytes(Tag.Data, data),
  ];
}

/**
 * A bare request channel for what KmipClient does not encode (RSA Decrypt parameters): its own
 * connection with the same settings, one request at a time, same typed errors as the client.
 */
class RawKmip {
  private readonly connection: KmipConnection;
  private readonly maxMessageSize: number;

  constructor(o: KmipClientOptions) {
    const port = o.port ?? 5696;
    this.maxMessageSize = o.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    const connector =
      o.connector ??
      tlsConnector({
        host: o.host,
        port,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        passphrase: o.passphrase,
        servername: o.servername,
        connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
      });
    this.connection = new KmipConnection(connector, {
      endpoint: `${o.host}:${port}`,
      requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
      idleTimeoutMs: o.idleTimeoutMs ?? 60_000,
      maxMessageSize: this.maxMessageSize,
    });
  }

  /** Sends one idempotent operation; returns the Response Payload or throws KmipError / transport / codec errors. */
  async call(operation: number, payload: TtlvItem[], version: ProtocolVersion): Promise<TtlvItem | undefined> {
    const bytes = await this.connection.request(encodeRequest(operation, payload, { version }), { idempotent: true });
    const response = decodeResponse(bytes, { maxMessageSize: this.maxMessageSize });
    if (response.batchItems.length !== 1) throw new KmipCodecError("bad-message", `expected 1 batch item, got ${response.batchItems.length}`);
    const item = response.batchItems[0];
    if (item.resultStatus !== ResultStatus.Success) {
      throw new KmipError({ operation: item.operation ?? operation, resultStatus: item.resultStatus, resultReason: item.resultReason, resultMessage: item.resultMessage });
    }
    if (item.operation !== undefined && item.operation !== operation) {
      throw new KmipCodecError("bad-message", `asked for ${enumName(Operation, operation)}, the KMS answered ${enumName(Operation, item.operation)}`);
    }
    return item.payload;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
