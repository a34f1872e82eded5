// The key hierarchy (SPEC §4): session key and metakey per session, storage key per restore point,
// user key from a password (Argon2id), KMS keys, recovery keysets, and the KeyRing that opens a
// point with whichever of them the operator has.
export { SecretKey, keyCheck, type KeyRole } from "./secret-key";
export { NonceSequence, nonceFor, gcmSeal, gcmOpen } from "./aead";
export { describeKey, encodeKeyHeader, decodeKeyHeader, type KeyHeader, type KdfParams, type KmsScheme } from "./key-header";
export {
  createPasswordKey,
  derivePasswordKey,
  DEFAULT_KDF_PARAMS,
  MIN_KDF_MEMORY_KIB,
  TEST_ONLY_KDF_PARAMS,
  type PasswordKey,
  type PasswordKeyHeader,
  type CreatePasswordKeyOptions,
} from "./user-key";
export { type KmsWrapper, type KmsKeyVersion, type KmsKeyHeader } from "./kms";
export { MemoryKms } from "./memory-kms";
export { RecoveryKeyset, generateRecoveryKeyset, exportKeyset, importKeyset, type ExportedKeyset } from "./recovery-keyset";
export {
  createRecoveryRequest,
  answerRecoveryRequest,
  applyRecoveryResponse,
  PendingRecovery,
  type RecoveryRequest,
  type RecoveryResponse,
} from "./recovery-exchange";
export { keyIdsOf, type Protection, type ProtectionPlan, type ResolvedProtection } from "./protection";
export { KeyRing } from "./key-ring";
