// Wrapping with key commitment, nonces, and secrets kept out of text.
import { inspect } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { ByteReader, ByteWriter } from "../bytes";
import { NonceExhaustedError, WrongKeyError } from "../errors";
import { WrapId } from "../format-registry";
import * as aead from "./aead";
import { NonceSequence, nonceFor } from "./aead";
import { SecretKey } from "./secret-key";
import { commitsTo, decodeWrap, encodeWrap, unwrapWithKey, wrapWithKey } from "./wrap";

vi.mock("./aead", async (importOriginal) => {
  const original = await importOriginal<typeof import("./aead")>();
  return { ...original, gcmOpen: vi.fn(original.gcmOpen) };
});

const ctx = Buffer.from("repository-and-point-context-32b");

describe("committed AES-256-GCM wrap", () => {
  it("round-trips and survives encoding", () => {
    const kek = SecretKey.generate("storage");
    const target = SecretKey.generate("session");
    const rec = wrapWithKey(kek, target, ctx);
    const decoded = decodeWrap(new ByteReader(encodeWrap(new ByteWriter(), rec).finish(), "test"));
    const out = unwrapWithKey(decoded, kek, ctx, "session");
    expect(out.id.equals(target.id)).toBe(true);
    expect(out.expose().equals(target.expose())).toBe(true);
  });

  it("rejects a wrong key on the commitment, before any decryption is attempted", () => {
    const rec = wrapWithKey(SecretKey.generate("storage"), SecretKey.generate("session"), ctx);
    const wrong = new SecretKey("storage", rec.wrappingKeyId, Buffer.alloc(32, 7)); // right id, wrong bytes
    vi.mocked(aead.gcmOpen).mockClear();
    expect(commitsTo(rec, wrong)).toBe(false);
    expect(() => unwrapWithKey(rec, wrong, ctx, "session")).toThrow(WrongKeyError);
    expect(aead.gcmOpen).not.toHaveBeenCalled();
  });

  it("refuses a wrap moved to another context (point or repository)", () => {
    const kek = SecretKey.generate("storage");
    const rec = wrapWithKey(kek, SecretKey.generate("session"), ctx);
    expect(() => unwrapWithKey(rec, kek, Buffer.from("another-point-context-0000000000"), "session")).toThrow(WrongKeyError);
  });

  it("refuses an unwrap whose result does not match the target check", () => {
    const kek = SecretKey.generate("storage");
    const rec = { ...wrapWithKey(kek, SecretKey.generate("session"), ctx) };
    rec.targetCheck = Buffer.alloc(32);
    expect(() => unwrapWithKey(rec, kek, ctx, "session")).toThrow(WrongKeyError);
  });

  // Frozen vector: never regenerate. A change that breaks it breaks every repository.
  it("is a frozen vector: fixed keys and nonce give these bytes forever", () => {
    const kek = new SecretKey("storage", Buffer.alloc(16, 1), Buffer.alloc(32, 2));
    const target = new SecretKey("session", Buffer.alloc(16, 3), Buffer.alloc(32, 4));
    const rec = wrapWithKey(kek, target, ctx, (n) => Buffer.alloc(n, 5));
    expect(rec.wrapId).toBe(WrapId.aes256GcmCommitted);
    expect(encodeWrap(new ByteWriter(), rec).finish().toString("hex")).toBe(
      "020101010101010101010101010101010103030303030303030303030303030303a8e2d16483572308b67f2cbe78859173e58c5c6c92e99b517b48a2c82d1b07a54060627c2d8619f3855812abb5163b979675d513018dd2381cd4bb46edfb041f0c05050505050505050505050500000030a40647a05c51ace97217db67d4ba0960a8cc794d429a226672ffa64400ce77883239a293ae4ad2c239a37c6987a00cd2",
    );
  });
});

describe("nonces", () => {
  it("are fixed field || counter and never repeat", () => {
    const seq = new NonceSequence(0x01020304);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(seq.next().toString("hex"));
    expect(seen.size).toBe(1000);
    expect(nonceFor(0x01020304, 1).toString("hex")).toBe("010203040000000000000001");
  });

  it("stop at 2^32 per fixed field", () => {
    const seq = new NonceSequence(0, 2 ** 32 - 1);
    seq.next();
    expect(() => seq.next()).toThrow(NonceExhaustedError);
  });
});

describe("secrets stay out of text", () => {
  it("prints key ids, never key bytes", () => {
    const raw = Buffer.alloc(32, 0xab);
    const key = new SecretKey("storage", Buffer.alloc(16, 1), raw);
    const texts = [JSON.stringify({ key }), inspect(key), String(key), `${key}`, inspect({ nested: { key } })];
    for (const t of texts) {
      expect(t).not.toContain("abababab");
      expect(t).not.toContain(raw.toString("base64").slice(0, 16));
    }
    expect(JSON.stringify(key)).toContain("[redacted]");
  });

  it("wipes a destroyed key", () => {
    const key = SecretKey.generate("session");
    key.destroy();
    expect(key.expose().equals(Buffer.alloc(32))).toBe(true);
  });
});
