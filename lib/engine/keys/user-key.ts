// The user key (KEY-4): derived from a backup job's encryption password with Argon2id, recorded
// as a key header (parameters, salt, commitment, hint) so that any later Strongroom derives the
// same key. The password is never stored; the header's commitment rejects a wrong password
// before any storage key is unwrapped.

import { hashRaw } from "@node-rs/argon2";
import { systemRandom, type RandomSource } from "../bytes";
import { InvalidArgumentError, WrongKeyError } from "../errors";
import { describeKey, type KdfParams, type KeyHeader } from "./key-header";
import { keyCheck, SecretKey } from "./secret-key";
import { timingSafeEqual } from "node:crypto";

export type PasswordKeyHeader = Extract<KeyHeader, { kind: "password" }>;

/** Floor for new password keys: 64 MiB of memory (the minimum). */
export const MIN_KDF_MEMORY_KIB = 64 * 1024;

/** RFC 9106 §4 "second recommended option": 64 MiB, 3 passes, 4 lanes (~0.2 s here). */
export const DEFAULT_KDF_PARAMS: KdfParams = { algorithm: "argon2id", memoryKiB: 64 * 1024, iterations: 3, parallelism: 4 };

/**
 * Small parameters for unit tests that are not about the KDF. Creating a key with them requires
 * `allowWeakKdf: "tests-only"`; reading a header with them always works (the header is the truth).
 */
export const TEST_ONLY_KDF_PARAMS: KdfParams = { algorithm: "argon2id", memoryKiB: 256, iterations: 1, parallelism: 1 };

const SALT_BYTES = 16;
const MAX_HINT = 200;

export interface PasswordKey {
  header: PasswordKeyHeader;
  key: SecretKey;
}

export interface CreatePasswordKeyOptions {
  params?: KdfParams;
  /** A reminder stored in clear beside the backups (KEY-4). Must not contain the password. */
  hint?: string;
  random?: RandomSource;
  now?: () => number;
  /** Lets tests use fewer than 64 MiB. Anything else is refused. */
  allowWeakKdf?: "tests-only";
}

function validateParams(p: KdfParams, allowWeak: boolean): void {
  const ok =
    p.algorithm === "argon2id" &&
    Number.isInteger(p.memoryKiB) &&
    Number.isInteger(p.iterations) &&
    Number.isInteger(p.parallelism) &&
    p.iterations >= 1 &&
    p.parallelism >= 1 &&
    p.parallelism <= 255 &&
    p.memoryKiB >= 8 * p.parallelism &&
    p.memoryKiB <= 4 * 1024 * 1024;
  if (!ok) throw new InvalidArgumentError("invalid Argon2id parameters");
  if (!allowWeak && p.memoryKiB < MIN_KDF_MEMORY_KIB) {
    throw new InvalidArgumentError(`Argon2id memory must be at least ${MIN_KDF_MEMORY_KIB} KiB (64 MiB)`);
  }
}

function passwordBytes(password: string): Buffer {
  if (typeof password !== "string" || password.length === 0) throw new InvalidArgumentError("the encryption password is empty");
  // NFC so that the same password typed on another system derives the same key.
  return Buffer.from(password.normalize("NFC"), "utf8");
}

async function argon2(password: string, salt: Buffer, p: KdfParams): Promise<Buffer> {
  const pw = passwordBytes(password);
  try {
    return await hashRaw(pw, {
      algorithm: 2, // Argon2id (const enum in the package's types)
      version: 1, // 0x13
      memoryCost: p.memoryKiB,
      timeCost: p.iterations,
      parallelism: p.parallelism,
      outputLen: 32,
      salt,
    });
  } finally {
    pw.fill(0);
  }
}

/** A new user key for a password (a new password always gets a new key id and salt). */
export async function createPasswordKey(password: string, options: CreatePasswordKeyOptions = {}): Promise<PasswordKey> {
  const params = options.params ?? DEFAULT_KDF_PARAMS;
  validateParams(params, options.allowWeakKdf === "tests-only");
  const hint = options.hint ?? "";
  if (hint.length > MAX_HINT) throw new InvalidArgumentError(`the password hint is longer than ${MAX_HINT} characters`);
  if (hint && password && hint.normalize("NFC").includes(password.normalize("NFC"))) {
    throw new InvalidArgumentError("the password hint must not contain the password");
  }
  const random = options.random ?? systemRandom;
  const keyId = random(16);
  const salt = random(SALT_BYTES);
  const raw = await argon2(password, salt, params);
  try {
    const key = new SecretKey("user", keyId, raw);
    const header: PasswordKeyHeader = {
      kind: "password",
      keyId,
      createdAt: (options.now ?? Date.now)(),
      kdf: { ...params },
      salt,
      commitment: keyCheck(raw, keyId),
      hint,
    };
    return { header, key };
  } finally {
    raw.fill(0);
  }
}

/** Derives the user key of `header` from a password; WrongKeyError if it is not that password. */
export async function derivePasswordKey(password: string, header: PasswordKeyHeader): Promise<PasswordKey> {
  validateParams(header.kdf, true);
  const raw = await argon2(password, header.salt, header.kdf);
  try {
    const check = keyCheck(raw, header.keyId);
    if (!timingSafeEqual(check, header.commitment)) throw new WrongKeyError(describeKey(header));
    return { header, key: new SecretKey("user", header.keyId, raw) };
  } finally {
    raw.fill(0);
  }
}
