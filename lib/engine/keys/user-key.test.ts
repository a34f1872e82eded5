// The user key (KEY-4): Argon2id with ≥ 64 MiB by default, parameters recorded in the key header,
// wrong passwords rejected by the commitment. These tests use the real default parameters.
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, WrongKeyError } from "../errors";
import { decodeKeyHeader, encodeKeyHeader } from "./key-header";
import { createPasswordKey, DEFAULT_KDF_PARAMS, derivePasswordKey, MIN_KDF_MEMORY_KIB, TEST_ONLY_KDF_PARAMS, type PasswordKeyHeader } from "./user-key";

describe("password user key", () => {
  it("defaults to Argon2id with at least 64 MiB and records the parameters in the key header", async () => {
    expect(DEFAULT_KDF_PARAMS.memoryKiB).toBeGreaterThanOrEqual(64 * 1024);
    const { header, key } = await createPasswordKey("Tr0ub4dor&3", { hint: "the horse one" });
    expect(header.kdf).toEqual({ algorithm: "argon2id", memoryKiB: 65536, iterations: 3, parallelism: 4 });
    expect(header.salt.length).toBe(16);
    const decoded = decodeKeyHeader(encodeKeyHeader(header)) as PasswordKeyHeader;
    expect(decoded.kdf).toEqual(header.kdf);
    expect(decoded.salt.equals(header.salt)).toBe(true);
    expect(decoded.hint).toBe("the horse one");
    // Another process derives the same key from the header alone.
    const again = await derivePasswordKey("Tr0ub4dor&3", decoded);
    expect(again.key.expose().equals(key.expose())).toBe(true);
  });

  it("rejects a wrong password with WrongKeyError that does not echo it", async () => {
    const { header } = await createPasswordKey("right password");
    const err = await derivePasswordKey("Guess-4711", header).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongKeyError);
    expect(String((err as Error).message)).not.toContain("Guess-4711");
    expect(JSON.stringify(err)).not.toContain("Guess-4711");
  });

  it("refuses less than 64 MiB unless a test says so explicitly", async () => {
    await expect(createPasswordKey("pw", { params: { ...DEFAULT_KDF_PARAMS, memoryKiB: MIN_KDF_MEMORY_KIB - 1 } })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createPasswordKey("pw", { params: TEST_ONLY_KDF_PARAMS })).rejects.toThrow(/64 MiB/);
    const weak = await createPasswordKey("pw", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
    expect(weak.header.kdf.memoryKiB).toBe(256);
  });

  it("normalizes the password (NFC) so the same text derives the same key everywhere", async () => {
    const composed = "caf\u00e9";
    const decomposed = "cafe\u0301";
    const k = await createPasswordKey(composed, { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
    await expect(derivePasswordKey(decomposed, k.header)).resolves.toBeTruthy();
  });

  it("refuses an empty password and a hint that contains the password", async () => {
    await expect(createPasswordKey("", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createPasswordKey("hunter2", { hint: "it is hunter2", params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" })).rejects.toThrow(/hint/);
  });
});
