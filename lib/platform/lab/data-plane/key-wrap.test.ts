import { describe, it, expect } from "vitest";
import { randomBytes } from "node:crypto";
import { KeyWrapError, unwrapKey, wrapKey } from "./key-wrap";

const hex = (s: string) => Buffer.from(s, "hex");
const KEK = hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");

// RFC 3394 section 4: the vectors with a 256-bit KEK.
const VECTORS = [
  { section: "4.3 (128-bit key data)", key: "00112233445566778899AABBCCDDEEFF", wrapped: "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7" },
  {
    section: "4.5 (192-bit key data)",
    key: "00112233445566778899AABBCCDDEEFF0001020304050607",
    wrapped: "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1",
  },
  {
    section: "4.6 (256-bit key data)",
    key: "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
    wrapped: "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
  },
];

describe("RFC 3394 key wrap (AES-256 KEK)", () => {
  for (const v of VECTORS) {
    it(`matches RFC 3394 ${v.section}`, () => {
      expect(wrapKey(KEK, hex(v.key)).toString("hex").toUpperCase()).toBe(v.wrapped);
      expect(unwrapKey(KEK, hex(v.wrapped)).toString("hex").toUpperCase()).toBe(v.key);
    });
  }

  it("wraps a 64-byte XTS key into 72 bytes and back", () => {
    const dek = randomBytes(64);
    const wrapped = wrapKey(KEK, dek);
    expect(wrapped).toHaveLength(72);
    expect(unwrapKey(KEK, wrapped).equals(dek)).toBe(true);
  });

  it("a wrong KEK or one flipped bit is a typed integrity error", () => {
    const wrapped = wrapKey(KEK, randomBytes(32));
    const other = randomBytes(32);
    expect(() => unwrapKey(other, wrapped)).toThrow(KeyWrapError);
    const flipped = Buffer.from(wrapped);
    flipped[17] ^= 0x01;
    try {
      unwrapKey(KEK, flipped);
      throw new Error("expected a failure");
    } catch (e) {
      expect(e).toBeInstanceOf(KeyWrapError);
      expect((e as KeyWrapError).code).toBe("integrity");
    }
  });

  it("refuses bad lengths before touching OpenSSL", () => {
    expect(() => wrapKey(KEK, Buffer.alloc(12))).toThrow(/16\+ bytes/);
    expect(() => unwrapKey(KEK, Buffer.alloc(20))).toThrow(/24\+ bytes/);
    expect(() => wrapKey(Buffer.alloc(16), Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
