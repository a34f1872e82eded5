// The one registry of magic numbers, format versions and algorithm ids of the repository format
// (lib/engine/repository/FORMAT.md). Modelled on kopia's compression_ids.go: an id written to a
// repository means that thing forever, so tables here are append-only. To stop using an algorithm,
// move its id to RETIRED_IDS with the date; never give the number to something else.

/** Four ASCII bytes at the start (or end) of each file. */
export const MAGIC = {
  config: "SRCF",
  pack: "SRPK",
  packEnd: "SRPE",
  blockAad: "SRBK",
  index: "SRIX",
  keyHeader: "SRKH",
  wrapAad: "SRWR",
  point: "SRPT",
  chain: "SRCH",
  lock: "SRLK",
} as const;

/** The version each writer produces. Readers accept every version from 1 up to this. */
export const FORMAT_VERSION = {
  config: 1,
  pack: 1,
  blockAad: 1,
  index: 1,
  keyHeader: 1,
  wrapAad: 1,
  point: 1,
  chain: 1,
  lock: 2,
} as const satisfies Record<Exclude<keyof typeof MAGIC, "packEnd">, number>;

export const CompressionId = { none: 0, zstd: 1 } as const;
export const CipherId = { aes256gcm: 1 } as const;
export const HashId = { blake3_256: 1 } as const;
export const KdfId = { argon2id: 1 } as const;

/**
 * How a key is wrapped by another. aesKw (RFC 3394) is reserved for keys that a KMS hands out
 * wrapped (KMIP Get with a wrapping key); the repository itself never writes it.
 */
export const WrapId = {
  aesKw: 1,
  aes256GcmCommitted: 2,
  rsaOaepSha256: 3,
  kmsEncrypt: 4,
  kmsRsaOaepSha256: 5,
} as const;

/** What a key header describes: the key encryption keys that may protect a storage key. */
export const KeyHeaderKind = { password: 1, kms: 2, recoveryKeyset: 3 } as const;

export const BlockKind = { zero: 0, data: 1 } as const;
export const LockKind = { shared: 1, exclusive: 2 } as const;

/** Ids that were once written and must never be reassigned. Empty in version 1. */
export const RETIRED_IDS: ReadonlyArray<{ table: string; id: number; retired: string; was: string }> = [];

// Derived names used in messages and reports.
type Values<T> = T[keyof T];
export type CompressionIdValue = Values<typeof CompressionId>;
export type WrapIdValue = Values<typeof WrapId>;
export type KeyHeaderKindValue = Values<typeof KeyHeaderKind>;

export function nameOf(table: Record<string, number>, id: number): string {
  for (const [name, value] of Object.entries(table)) if (value === id) return name;
  return `unknown(${id})`;
}

/** Fixed sizes used by more than one codec. */
export const SIZES = {
  id: 16,
  hash: 32,
  key: 32,
  gcmNonce: 12,
  gcmTag: 16,
  packHeader: 48,
  packEntry: 61,
  packFooter: 40,
  checksum: 32,
} as const;

/** The nonce fixed field reserved for the metakey and chain key (one sealing per key). */
export const METADATA_NONCE_FIELD = 0xffffffff;
