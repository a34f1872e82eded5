// The repository config file (FORMAT.md "config"): identity and the fixed parameters of the
// repository. Written once at creation; every other file names the repository id it belongs to.

import { ByteReader, ByteWriter, idHex, verifyChecksum } from "../bytes";
import { InvalidArgumentError, UnsupportedFormatError } from "../errors";
import { CipherId, CompressionId, FORMAT_VERSION, HashId, MAGIC } from "../format-registry";

export const CONFIG_FILE = "config";

export interface RepositoryConfig {
  repositoryId: Buffer;
  createdAt: number;
  /** Bytes per disk block (BKP-3): a power of two, 4 KiB … 16 MiB. */
  blockSize: number;
  /** A pack is closed once it reaches this size. */
  packTargetSize: number;
  /** Points and packs cannot be deleted until createdAt + immutabilityMs (0 = none). */
  immutabilityMs: number;
  cipherId: number;
  hashId: number;
  compressionId: number;
}

export const DEFAULT_BLOCK_SIZE = 1024 * 1024;
export const DEFAULT_PACK_TARGET = 16 * 1024 * 1024;
export const MAX_PACK_TARGET = 1024 * 1024 * 1024;

export function validateConfig(c: Pick<RepositoryConfig, "blockSize" | "packTargetSize" | "immutabilityMs">): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(c.blockSize) || c.blockSize < 4096 || c.blockSize > 16 * 1024 * 1024) {
    throw new InvalidArgumentError("block size must be a power of two from 4 KiB to 16 MiB");
  }
  if (!Number.isInteger(c.packTargetSize) || c.packTargetSize < 1 || c.packTargetSize > MAX_PACK_TARGET) {
    throw new InvalidArgumentError("pack target size must be from 1 byte to 1 GiB");
  }
  if (!Number.isSafeInteger(c.immutabilityMs) || c.immutabilityMs < 0) throw new InvalidArgumentError("immutability period must be ≥ 0");
}

export function encodeConfig(c: RepositoryConfig): Buffer {
  return new ByteWriter()
    .ascii(MAGIC.config)
    .u16(FORMAT_VERSION.config)
    .id(c.repositoryId)
    .u64(c.createdAt)
    .u32(c.blockSize)
    .u32(c.packTargetSize)
    .u64(c.immutabilityMs)
    .u8(c.cipherId)
    .u8(c.hashId)
    .u8(c.compressionId)
    .u8(0)
    .finishWithChecksum();
}

export function decodeConfig(data: Buffer): RepositoryConfig {
  const r = new ByteReader(verifyChecksum(CONFIG_FILE, data), CONFIG_FILE);
  r.header(MAGIC.config, FORMAT_VERSION.config);
  const c: RepositoryConfig = {
    repositoryId: r.id(),
    createdAt: r.u64(),
    blockSize: r.u32(),
    packTargetSize: r.u32(),
    immutabilityMs: r.u64(),
    cipherId: r.u8(),
    hashId: r.u8(),
    compressionId: r.u8(),
  };
  r.u8();
  r.expectEnd();
  if (c.cipherId !== CipherId.aes256gcm) throw new UnsupportedFormatError(CONFIG_FILE, `cipher ${c.cipherId}`);
  if (c.hashId !== HashId.blake3_256) throw new UnsupportedFormatError(CONFIG_FILE, `hash ${c.hashId}`);
  if (c.compressionId !== CompressionId.none && c.compressionId !== CompressionId.zstd) {
    throw new UnsupportedFormatError(CONFIG_FILE, `compression ${c.compressionId}`);
  }
  return c;
}

export function describeConfig(c: RepositoryConfig): string {
  return `repository ${idHex(c.repositoryId)}`;
}
