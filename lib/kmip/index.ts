// Public surface of lib/kmip: a dependency-free KMIP 1.2 / 1.4 client.
export { KmipClient, type KmipClientOptions } from "./client";
export { KmipConnection, tlsConnector, type Connector, type ConnectionStats } from "./connection";
export { KmipCodecError, KmipError, KmipTransportError, KmipUsageError } from "./errors";
export type { KmipCodecErrorCode, KmipTransportErrorCode, ResultReasonName, ResultStatusName } from "./errors";
export * from "./enums";
export { Tag, tagName } from "./tags";
export { decodeTtlv, encodeTtlv, DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE_SIZE, type TtlvItem, type TtlvType } from "./ttlv";
export { TtlvFramer } from "./framer";
export { formatTtlv } from "./items";
export * from "./messages";
export type {
  CipherOptions, CreateKeyPairOptions, CreateSymmetricKeyOptions, EncryptResult, GetOptions, KeyPairResult,
  LocateOptions, ManagedObject, QueryResult, RegisterSymmetricKeyOptions, RevokeOptions,
} from "./operations";
export type { AttributeSet, KmipAttribute, PlainValue } from "./attributes";
export {
  KmipKmsWrapper, KmipKmsError, createKmsBackupKey, createKmsRsaBackupKey, encodeKmsKeyId, decodeKmsKeyId, encodeKmsBlob, decodeKmsBlob,
  KMS_BLOB_VERSION, type KmipKmsProblem,
} from "./kmip-kms-wrapper";
