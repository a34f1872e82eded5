// KMIP 1.x enumerations used by this client (KMIP 1.4 §9.1.3.2), values
// cross-checked against PyKMIP 0.10. Names are PascalCase; `enumName` turns a
// number back into its name (or "0x…" for a value this table does not know).

import { Tag } from "./tags";

export const Operation = {
  Create: 0x01, CreateKeyPair: 0x02, Register: 0x03, ReKey: 0x04, DeriveKey: 0x05, Certify: 0x06,
  ReCertify: 0x07, Locate: 0x08, Check: 0x09, Get: 0x0a, GetAttributes: 0x0b, GetAttributeList: 0x0c,
  AddAttribute: 0x0d, ModifyAttribute: 0x0e, DeleteAttribute: 0x0f, ObtainLease: 0x10,
  GetUsageAllocation: 0x11, Activate: 0x12, Revoke: 0x13, Destroy: 0x14, Archive: 0x15, Recover: 0x16,
  Validate: 0x17, Query: 0x18, Cancel: 0x19, Poll: 0x1a, Notify: 0x1b, Put: 0x1c, ReKeyKeyPair: 0x1d,
  DiscoverVersions: 0x1e, Encrypt: 0x1f, Decrypt: 0x20, Sign: 0x21, SignatureVerify: 0x22, MAC: 0x23,
  MACVerify: 0x24, RNGRetrieve: 0x25, RNGSeed: 0x26, Hash: 0x27, CreateSplitKey: 0x28,
  JoinSplitKey: 0x29, Import: 0x2a, Export: 0x2b,
} as const;

export const ResultStatus = { Success: 0, OperationFailed: 1, OperationPending: 2, OperationUndone: 3 } as const;

export const ResultReason = {
  ItemNotFound: 0x01, ResponseTooLarge: 0x02, AuthenticationNotSuccessful: 0x03, InvalidMessage: 0x04,
  OperationNotSupported: 0x05, MissingData: 0x06, InvalidField: 0x07, FeatureNotSupported: 0x08,
  OperationCanceledByRequester: 0x09, CryptographicFailure: 0x0a, IllegalOperation: 0x0b,
  PermissionDenied: 0x0c, ObjectArchived: 0x0d, IndexOutOfBounds: 0x0e,
  ApplicationNamespaceNotSupported: 0x0f, KeyFormatTypeNotSupported: 0x10,
  KeyCompressionTypeNotSupported: 0x11, EncodingOptionError: 0x12, KeyValueNotPresent: 0x13,
  AttestationRequired: 0x14, AttestationFailed: 0x15, Sensitive: 0x16, NotExtractable: 0x17,
  ObjectAlreadyExists: 0x18, GeneralFailure: 0x100,
} as const;

export const ObjectType = {
  Certificate: 1, SymmetricKey: 2, PublicKey: 3, PrivateKey: 4, SplitKey: 5, Template: 6,
  SecretData: 7, OpaqueObject: 8, PGPKey: 9,
} as const;

export const CryptographicAlgorithm = {
  DES: 0x01, TripleDES: 0x02, AES: 0x03, RSA: 0x04, DSA: 0x05, ECDSA: 0x06, HMAC_SHA1: 0x07,
  HMAC_SHA224: 0x08, HMAC_SHA256: 0x09, HMAC_SHA384: 0x0a, HMAC_SHA512: 0x0b, HMAC_MD5: 0x0c, DH: 0x0d,
  ECDH: 0x0e, ECMQV: 0x0f, Blowfish: 0x10, Camellia: 0x11, CAST5: 0x12, IDEA: 0x13, MARS: 0x14, RC2: 0x15,
  RC4: 0x16, RC5: 0x17, SKIPJACK: 0x18, Twofish: 0x19, EC: 0x1a,
} as const;

export const KeyFormatType = {
  Raw: 0x01, Opaque: 0x02, PKCS1: 0x03, PKCS8: 0x04, X509: 0x05, ECPrivateKey: 0x06,
  TransparentSymmetricKey: 0x07, TransparentDSAPrivateKey: 0x08, TransparentDSAPublicKey: 0x09,
  TransparentRSAPrivateKey: 0x0a, TransparentRSAPublicKey: 0x0b, TransparentDHPrivateKey: 0x0c,
  TransparentDHPublicKey: 0x0d, TransparentECDSAPrivateKey: 0x0e, TransparentECDSAPublicKey: 0x0f,
  TransparentECDHPrivateKey: 0x10, TransparentECDHPublicKey: 0x11, TransparentECMQVPrivateKey: 0x12,
  TransparentECMQVPublicKey: 0x13, TransparentECPrivateKey: 0x14, TransparentECPublicKey: 0x15,
  PKCS12: 0x16,
} as const;

export const NameType = { UninterpretedTextString: 1, URI: 2 } as const;

export const RevocationReasonCode = {
  Unspecified: 1, KeyCompromise: 2, CACompromise: 3, AffiliationChanged: 4, Superseded: 5,
  CessationOfOperation: 6, PrivilegeWithdrawn: 7,
} as const;

export const BlockCipherMode = {
  CBC: 0x01, ECB: 0x02, PCBC: 0x03, CFB: 0x04, OFB: 0x05, CTR: 0x06, CMAC: 0x07, CCM: 0x08, GCM: 0x09,
  CBC_MAC: 0x0a, XTS: 0x0b, AESKeyWrapPadding: 0x0c, NISTKeyWrap: 0x0d, X9_102_AESKW: 0x0e,
} as const;

export const PaddingMethod = {
  None: 1, OAEP: 2, PKCS5: 3, SSL3: 4, Zeros: 5, ANSI_X923: 6, ISO_10126: 7, PKCS1v15: 8, X931: 9, PSS: 10,
} as const;

export const HashingAlgorithm = {
  MD2: 1, MD4: 2, MD5: 3, SHA1: 4, SHA224: 5, SHA256: 6, SHA384: 7, SHA512: 8, RIPEMD160: 9,
  Tiger: 10, Whirlpool: 11, SHA512_224: 12, SHA512_256: 13,
} as const;

/** Bit flags (an Integer, not an Enumeration). */
export const CryptographicUsageMask = {
  Sign: 0x1, Verify: 0x2, Encrypt: 0x4, Decrypt: 0x8, WrapKey: 0x10, UnwrapKey: 0x20, Export: 0x40,
  MACGenerate: 0x80, MACVerify: 0x100, DeriveKey: 0x200, ContentCommitment: 0x400,
  KeyAgreement: 0x800, CertificateSign: 0x1000, CRLSign: 0x2000,
} as const;

export const QueryFunction = {
  QueryOperations: 1, QueryObjects: 2, QueryServerInformation: 3, QueryApplicationNamespaces: 4,
  QueryExtensionList: 5, QueryExtensionMap: 6, QueryAttestationTypes: 7, QueryRNGs: 8,
  QueryValidations: 9, QueryProfiles: 10, QueryCapabilities: 11, QueryClientRegistrationMethods: 12,
} as const;

export const State = {
  PreActive: 1, Active: 2, Deactivated: 3, Compromised: 4, Destroyed: 5, DestroyedCompromised: 6,
} as const;

export const WrappingMethod = { Encrypt: 1, MACSign: 2, EncryptThenMACSign: 3, MACSignThenEncrypt: 4, TR31: 5 } as const;

export const EncodingOption = { NoEncoding: 1, TTLVEncoding: 2 } as const;

export const LinkType = {
  CertificateLink: 0x101, PublicKeyLink: 0x102, PrivateKeyLink: 0x103, DerivationBaseObjectLink: 0x104,
  DerivedKeyLink: 0x105, ReplacementObjectLink: 0x106, ReplacedObjectLink: 0x107, ParentLink: 0x108,
  ChildLink: 0x109, PreviousLink: 0x10a, NextLink: 0x10b,
} as const;

export type EnumTable = Readonly<Record<string, number>>;
export type EnumKey<T extends EnumTable> = keyof T & string;

/** Name of `value` in `table`, or "0x0000001F" if the table does not know it. */
export function enumName<T extends EnumTable>(table: T, value: number): EnumKey<T> | `0x${string}` {
  for (const [k, v] of Object.entries(table)) if (v === value) return k as EnumKey<T>;
  return `0x${(value >>> 0).toString(16).toUpperCase().padStart(8, "0")}`;
}

/** Names of the bits set in a Cryptographic Usage Mask. */
export function usageMaskNames(mask: number): string[] {
  return Object.entries(CryptographicUsageMask)
    .filter(([, bit]) => (mask & bit) !== 0)
    .map(([name]) => name);
}

/** Which enumeration table gives names to the Enumeration items of a tag (for dumps and attributes). */
export const ENUM_FOR_TAG: ReadonlyMap<number, EnumTable> = new Map<number, EnumTable>([
  [Tag.Operation, Operation],
  [Tag.ResultStatus, ResultStatus],
  [Tag.ResultReason, ResultReason],
  [Tag.ObjectType, ObjectType],
  [Tag.CryptographicAlgorithm, CryptographicAlgorithm],
  [Tag.KeyFormatType, KeyFormatType],
  [Tag.NameType, NameType],
  [Tag.RevocationReasonCode, RevocationReasonCode],
  [Tag.BlockCipherMode, BlockCipherMode],
  [Tag.PaddingMethod, PaddingMethod],
  [Tag.HashingAlgorithm, HashingAlgorithm],
  [Tag.QueryFunction, QueryFunction],
  [Tag.State, State],
  [Tag.WrappingMethod, WrappingMethod],
  [Tag.EncodingOption, EncodingOption],
  [Tag.LinkType, LinkType],
]);

/** Enumeration tables for KMIP 1.x attributes whose value is an Enumeration, by attribute name. */
export const ENUM_FOR_ATTRIBUTE: ReadonlyMap<string, EnumTable> = new Map<string, EnumTable>([
  ["Object Type", ObjectType],
  ["Cryptographic Algorithm", CryptographicAlgorithm],
  ["State", State],
]);
