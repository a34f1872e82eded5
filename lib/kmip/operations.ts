// Request payloads and response-payload parsers for each supported operation
// (KMIP 1.2 / 1.4 §4). Pure: TtlvItem in, typed values out. Field order follows
// the specification (PyKMIP, like many servers, reads fields in order).

import { Attr, attributeSet, attributesOf, templateAttribute, toPlain, type AttributeSet, type PlainValue } from "./attributes";
import {
  BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, EncodingOption, KeyFormatType, ObjectType,
  Operation, PaddingMethod, QueryFunction, RevocationReasonCode, WrappingMethod, enumName,
} from "./enums";
import { KmipCodecError, KmipUsageError } from "./errors";
import {
  bytes, children, compact, dateTime, enm, find, findAll, int, need, needEnum, needText, optBytes, optEnum, optInt,
  optText, struct, text,
} from "./items";
import { KMIP_1_4, parseProtocolVersion, protocolVersionItem, versionAtLeast, versionString, type ProtocolVersion } from "./messages";
import { Tag } from "./tags";
import type { TtlvItem } from "./ttlv";

type Name<T> = keyof T & string;
const uid = (id: string) => text(Tag.UniqueIdentifier, id);
/** A Response Payload is required for successful answers of these operations. */
function payloadOf(p: TtlvItem | undefined, op: string): TtlvItem {
  if (p === undefined) throw new KmipCodecError("bad-message", `${op} response has no Response Payload`);
  return p;
}

// ---------------------------------------------------------------- DiscoverVersions

export const discoverVersionsPayload = (versions: ProtocolVersion[] = []): TtlvItem[] => versions.map(protocolVersionItem);
export const parseDiscoverVersions = (p: TtlvItem | undefined): ProtocolVersion[] =>
  p === undefined ? [] : findAll(p, Tag.ProtocolVersion, "Structure").map(parseProtocolVersion);

// ---------------------------------------------------------------- Query

export const queryPayload = (functions: Name<typeof QueryFunction>[]): TtlvItem[] => functions.map((f) => enm(Tag.QueryFunction, QueryFunction[f]));

export interface QueryResult {
  operations: string[];
  objectTypes: string[];
  vendorIdentification?: string;
  serverInformation?: PlainValue;
}
export function parseQuery(p: TtlvItem | undefined): QueryResult {
  if (p === undefined) return { operations: [], objectTypes: [] };
  const info = find(p, Tag.ServerInformation);
  return {
    operations: findAll(p, Tag.Operation, "Enumeration").map((e) => enumName(Operation, e.value)),
    objectTypes: findAll(p, Tag.ObjectType, "Enumeration").map((e) => enumName(ObjectType, e.value)),
    vendorIdentification: optText(p, Tag.VendorIdentification),
    serverInformation: info && toPlain(info),
  };
}

// ---------------------------------------------------------------- Create / Register / CreateKeyPair

export interface CreateSymmetricKeyOptions {
  /** Only AES is supported. */
  algorithm?: "AES";
  length: 128 | 192 | 256;
  name?: string;
  /** Cryptographic Usage Mask bits; default Encrypt | Decrypt. */
  usageMask?: number;
}

const DEFAULT_SYMMETRIC_MASK = CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt;

export function createPayload(o: CreateSymmetricKeyOptions): TtlvItem[] {
  if (![128, 192, 256].includes(o.length)) throw new KmipUsageError(`AES keys are 128, 192 or 256 bits, not ${o.length}`);
  return [
    enm(Tag.ObjectType, ObjectType.SymmetricKey),
    templateAttribute(compact([
      Attr.cryptographicAlgorithm(CryptographicAlgorithm.AES),
      Attr.cryptographicLength(o.length),
      Attr.cryptographicUsageMask(o.usageMask ?? DEFAULT_SYMMETRIC_MASK),
      o.name !== undefined && Attr.name(o.name),
    ])),
  ];
}

export interface CreateResult {
  objectType: string;
  uniqueIdentifier: string;
}
export function parseCreate(p: TtlvItem | undefined): CreateResult {
  const pl = payloadOf(p, "Create");
  return { objectType: enumName(ObjectType, needEnum(pl, Tag.ObjectType)), uniqueIdentifier: needText(pl, Tag.UniqueIdentifier) };
}

export interface RegisterSymmetricKeyOptions {
  /** Raw key bytes: 16, 24 or 32 for AES. */
  key: Uint8Array;
  algorithm?: "AES";
  name?: string;
  usageMask?: number;
}
export function registerPayload(o: RegisterSymmetricKeyOptions): TtlvItem[] {
  if (![16, 24, 32].includes(o.key.length)) throw new KmipUsageError(`AES keys are 16, 24 or 32 bytes, not ${o.key.length}`);
  return [
    enm(Tag.ObjectType, ObjectType.SymmetricKey),
    templateAttribute(compact([
      Attr.cryptographicUsageMask(o.usageMask ?? DEFAULT_SYMMETRIC_MASK),
      o.name !== undefined && Attr.name(o.name),
    ])),
    struct(Tag.SymmetricKey, [
      struct(Tag.KeyBlock, [
        enm(Tag.KeyFormatType, KeyFormatType.Raw),
        struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, o.key)]),
        enm(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
        int(Tag.CryptographicLength, o.key.length * 8),
      ]),
    ]),
  ];
}

export interface CreateKeyPairOptions {
  algorithm?: "RSA";
  length: 2048 | 3072 | 4096;
  privateKeyName?: string;
  publicKeyName?: string;
  /** Default Sign. */
  privateUsageMask?: number;
  /** Default Verify. */
  publicUsageMask?: number;
}
export function createKeyPairPayload(o: CreateKeyPairOptions): TtlvItem[] {
  if (![2048, 3072, 4096].includes(o.length)) throw new KmipUsageError(`RSA keys are 2048, 3072 or 4096 bits here, not ${o.length}`);
  const side = (name: string | undefined, mask: number) =>
    compact([Attr.cryptographicUsageMask(mask), name !== undefined && Attr.name(name)]);
  return [
    templateAttribute([Attr.cryptographicAlgorithm(CryptographicAlgorithm.RSA), Attr.cryptographicLength(o.length)], Tag.CommonTemplateAttribute),
    templateAttribute(side(o.privateKeyName, o.privateUsageMask ?? CryptographicUsageMask.Sign), Tag.PrivateKeyTemplateAttribute),
    templateAttribute(side(o.publicKeyName, o.publicUsageMask ?? CryptographicUsageMask.Verify), Tag.PublicKeyTemplateAttribute),
  ];
}
export interface KeyPairResult {
  privateKeyId: string;
  publicKeyId: string;
}
export function parseCreateKeyPair(p: TtlvItem | undefined): KeyPairResult {
  const pl = payloadOf(p, "CreateKeyPair");
  return { privateKeyId: needText(pl, Tag.PrivateKeyUniqueIdentifier), publicKeyId: needText(pl, Tag.PublicKeyUniqueIdentifier) };
}

// ---------------------------------------------------------------- Get

export interface GetOptions {
  keyFormatType?: Name<typeof KeyFormatType>;
  /** Ask the KMS to wrap the key with another key it holds (RFC 3394 AES key wrap by default). */
  wrapWith?: { wrappingKeyId: string; mode?: "NISTKeyWrap" | "AESKeyWrapPadding" };
}
export function getPayload(id: string, o: GetOptions = {}): TtlvItem[] {
  return compact([
    uid(id),
    o.keyFormatType !== undefined && enm(Tag.KeyFormatType, KeyFormatType[o.keyFormatType]),
    o.wrapWith !== undefined &&
      struct(Tag.KeyWrappingSpecification, [
        enm(Tag.WrappingMethod, WrappingMethod.Encrypt),
        struct(Tag.EncryptionKeyInformation, [
          uid(o.wrapWith.wrappingKeyId),
          struct(Tag.CryptographicParameters, [enm(Tag.BlockCipherMode, BlockCipherMode[o.wrapWith.mode ?? "NISTKeyWrap"])]),
        ]),
        enm(Tag.EncodingOption, EncodingOption.NoEncoding),
      ]),
  ]);
}

/** A managed object returned by Get. `keyMaterial` is secret: never log it. */
export interface ManagedObject {
  objectType: string;
  uniqueIdentifier: string;
  keyFormatType?: string;
  /** Raw / PKCS#1 / PKCS#8 key bytes, or the wrapped bytes when `wrapping` is set. */
  keyMaterial?: Buffer;
  cryptographicAlgorithm?: string;
  cryptographicLength?: number;
  wrapping?: { method: string; wrappingKeyId?: string; blockCipherMode?: string };
  /** The object structure itself (e.g. a Certificate), for anything not lifted above. */
  object: TtlvItem;
}
const OBJECT_TAGS: number[] = [Tag.SymmetricKey, Tag.PublicKey, Tag.PrivateKey, Tag.SecretData, Tag.SplitKey, Tag.Certificate, Tag.OpaqueObject, Tag.PGPKey, Tag.Template];

export function parseGet(p: TtlvItem | undefined): ManagedObject {
  const pl = payloadOf(p, "Get");
  const object = children(pl).find((c) => OBJECT_TAGS.includes(c.tag));
  if (object === undefined) throw new KmipCodecError("bad-message", "Get response carries no managed object");
  const result: ManagedObject = {
    objectType: enumName(ObjectType, needEnum(pl, Tag.ObjectType)),
    uniqueIdentifier: needText(pl, Tag.UniqueIdentifier),
    object,
  };
  const block = find(object, Tag.KeyBlock, "Structure");
  if (block === undefined) return result;
  result.keyFormatType = enumName(KeyFormatType, needEnum(block, Tag.KeyFormatType));
  const alg = optEnum(block, Tag.CryptographicAlgorithm);
  if (alg !== undefined) result.cryptographicAlgorithm = enumName(CryptographicAlgorithm, alg);
  result.cryptographicLength = optInt(block, Tag.CryptographicLength);
  const value = find(block, Tag.KeyValue);
  if (value?.type === "ByteString") result.keyMaterial = Buffer.from(value.value); // wrapped, no encoding
  else if (value?.type === "Structure") result.keyMaterial = optBytes(value, Tag.KeyMaterial); // transparent keys: see `object`
  const wrap = find(block, Tag.KeyWrappingData, "Structure");
  if (wrap !== undefined) {
    const info = find(wrap, Tag.EncryptionKeyInformation, "Structure");
    const params = info && find(info, Tag.CryptographicParameters, "Structure");
    const mode = params && optEnum(params, Tag.BlockCipherMode);
    result.wrapping = {
      method: enumName(WrappingMethod, needEnum(wrap, Tag.WrappingMethod)),
      wrappingKeyId: info && optText(info, Tag.UniqueIdentifier),
      blockCipherMode: mode === undefined ? undefined : enumName(BlockCipherMode, mode),
    };
  }
  return result;
}

// ---------------------------------------------------------------- Locate / GetAttributes

export interface LocateOptions {
  name?: string;
  objectType?: Name<typeof ObjectType>;
  maximumItems?: number;
}
export function locatePayload(o: LocateOptions): TtlvItem[] {
  return compact([
    o.maximumItems !== undefined && int(Tag.MaximumItems, o.maximumItems),
    o.objectType !== undefined && Attr.objectType(ObjectType[o.objectType]),
    o.name !== undefined && Attr.name(o.name),
  ]);
}
export const parseLocate = (p: TtlvItem | undefined): string[] =>
  p === undefined ? [] : findAll(p, Tag.UniqueIdentifier, "TextString").map((t) => t.value);

export const getAttributesPayload = (id: string, names: string[] = []): TtlvItem[] => [uid(id), ...names.map((n) => text(Tag.AttributeName, n))];
export function parseGetAttributes(p: TtlvItem | undefined): AttributeSet {
  const pl = payloadOf(p, "GetAttributes");
  return attributeSet(needText(pl, Tag.UniqueIdentifier), attributesOf(pl));
}

// ---------------------------------------------------------------- Activate / Revoke / Destroy / Register result

export const uidPayload = (id: string): TtlvItem[] => [uid(id)];
export const parseUid = (p: TtlvItem | undefined, op: string): string => needText(payloadOf(p, op), Tag.UniqueIdentifier);

export interface RevokeOptions {
  reason?: Name<typeof RevocationReasonCode>;
  message?: string;
  /** Required by KMIP for KeyCompromise / CACompromise; defaults to now for those. */
  compromiseOccurrenceDate?: Date;
}
export function revokePayload(id: string, o: RevokeOptions = {}): TtlvItem[] {
  const reason = o.reason ?? "CessationOfOperation";
  const compromise = reason === "KeyCompromise" || reason === "CACompromise";
  return compact([
    uid(id),
    struct(Tag.RevocationReason, [
      enm(Tag.RevocationReasonCode, RevocationReasonCode[reason]),
      o.message !== undefined && text(Tag.RevocationMessage, o.message),
    ]),
    (compromise || o.compromiseOccurrenceDate) && dateTime(Tag.CompromiseOccurrenceDate, o.compromiseOccurrenceDate ?? new Date()),
  ]);
}

// ---------------------------------------------------------------- Encrypt / Decrypt

export type CipherMode = "CBC" | "ECB" | "CTR" | "CFB" | "OFB" | "GCM";
export interface CipherOptions {
  mode: CipherMode;
  /** CBC / ECB only; default PKCS5. */
  padding?: "None" | "PKCS5";
  /** IV / counter / nonce. If absent the KMS generates one and returns it (GCM: the client sends a random 12-byte nonce). */
  iv?: Uint8Array;
  /** GCM only: Authenticated Encryption Additional Data. */
  aad?: Uint8Array;
  /** GCM only: tag length in bytes, default 16. */
  tagLength?: number;
}

function cryptographicParameters(o: CipherOptions): TtlvItem {
  const padded = o.mode === "CBC" || o.mode === "ECB";
  return struct(Tag.CryptographicParameters, [
    enm(Tag.BlockCipherMode, BlockCipherMode[o.mode]),
    padded && enm(Tag.PaddingMethod, PaddingMethod[o.padding ?? "PKCS5"]),
    enm(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
    o.mode === "GCM" && int(Tag.TagLength, o.tagLength ?? 16),
  ]);
}

function checkCipher(o: CipherOptions, version: ProtocolVersion): void {
  if (!(o.mode in BlockCipherMode)) throw new KmipUsageError(`unsupported block cipher mode ${String(o.mode)}`);
  if (o.mode === "GCM" && !versionAtLeast(version, KMIP_1_4)) {
    throw new KmipUsageError(`AES-GCM needs KMIP 1.4 (authenticated encryption fields); this connection speaks KMIP ${versionString(version)}`);
  }
  if (o.mode !== "GCM" && o.aad !== undefined) throw new KmipUsageError("additional authenticated data is only used with GCM");
}

export function encryptPayload(id: string, data: Uint8Array, o: CipherOptions, version: ProtocolVersion): TtlvItem[] {
  checkCipher(o, version);
  return compact([
    uid(id),
    cryptographicParameters(o),
    bytes(Tag.Data, data),
    o.iv !== undefined && bytes(Tag.IVCounterNonce, o.iv),
    o.aad !== undefined && bytes(Tag.AuthenticatedEncryptionAdditionalData, o.aad),
  ]);
}

export interface EncryptResult {
  uniqueIdentifier: string;
  data: Buffer;
  /** The IV / nonce used: the KMS's when it generated one, else the caller's. */
  iv?: Buffer;
  /** GCM authentication tag. */
  tag?: Buffer;
}
export function parseEncrypt(p: TtlvItem | undefined, sentIv?: Uint8Array): EncryptResult {
  const pl = payloadOf(p, "Encrypt");
  const iv = optBytes(pl, Tag.IVCounterNonce) ?? (sentIv && Buffer.from(sentIv));
  return {
    uniqueIdentifier: needText(pl, Tag.UniqueIdentifier),
    data: Buffer.from(need(pl, Tag.Data, "ByteString").value),
    iv,
    tag: optBytes(pl, Tag.AuthenticatedEncryptionTag),
  };
}

export function decryptPayload(id: string, data: Uint8Array, o: CipherOptions & { tag?: Uint8Array }, version: ProtocolVersion): TtlvItem[] {
  checkCipher(o, version);
  if (o.mode === "GCM" && o.tag === undefined) throw new KmipUsageError("AES-GCM decryption needs the authentication tag");
  if (o.mode !== "ECB" && o.iv === undefined) throw new KmipUsageError(`${o.mode} decryption needs the IV / nonce used for encryption`);
  return compact([
    uid(id),
    cryptographicParameters({ ...o, tagLength: o.tag?.length ?? o.tagLength }),
    bytes(Tag.Data, data),
    o.iv !== undefined && bytes(Tag.IVCounterNonce, o.iv),
    o.aad !== undefined && bytes(Tag.AuthenticatedEncryptionAdditionalData, o.aad),
    o.tag !== undefined && bytes(Tag.AuthenticatedEncryptionTag, o.tag),
  ]);
}
export const parseDecrypt = (p: TtlvItem | undefined): Buffer => Buffer.from(need(payloadOf(p, "Decrypt"), Tag.Data, "ByteString").value);
