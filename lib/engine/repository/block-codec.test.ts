// Block records: zero detection, compression only when it helps, and a frozen ciphertext vector
// (kopia's TestCiphertextSamples): fixed key, nonce and identity must give these bytes forever.
import { describe, expect, it } from "vitest";
import { CompressionId } from "../format-registry";
import { compressible, noise } from "../testing/engine-fixtures";
import { nonceFor } from "../keys/aead";
import { openRecord, prepareBlock, sealRecord, type RecordIdentity } from "./block-codec";

const key = Buffer.alloc(32, 0x11);
const identity = (data: Buffer, over: Partial<RecordIdentity> = {}): RecordIdentity => {
  const p = prepareBlock(data);
  if (p.kind !== "data") throw new Error("zero");
  return {
    repositoryId: Buffer.alloc(16, 1),
    packId: Buffer.alloc(16, 2),
    entryIndex: 7,
    sessionKeyId: Buffer.alloc(16, 3),
    compressionId: p.compressionId,
    plainLength: p.plainLength,
    contentHash: p.contentHash,
    ...over,
  };
};

describe("block records", () => {
  it("recognises zero blocks without storing or hashing them", () => {
    expect(prepareBlock(Buffer.alloc(1 << 20))).toEqual({ kind: "zero", plainLength: 1 << 20 });
    const almost = Buffer.alloc(1 << 20);
    almost[(1 << 20) - 1] = 1;
    expect(prepareBlock(almost).kind).toBe("data");
  });

  it("compresses with zstd only when it helps", () => {
    const text = prepareBlock(compressible("x", 65536));
    const random = prepareBlock(noise("x", 65536));
    expect(text).toMatchObject({ kind: "data", compressionId: CompressionId.zstd });
    expect(random).toMatchObject({ kind: "data", compressionId: CompressionId.none });
  });

  it("round-trips and refuses any other identity", () => {
    const data = compressible("round", 4096);
    const id = identity(data);
    const p = prepareBlock(data);
    if (p.kind !== "data") throw new Error();
    const record = sealRecord(key, nonceFor(0, 1), p.payload, id);
    expect(openRecord(key, record, id)).toEqual({ ok: true, data });
    expect(openRecord(key, record, { ...id, entryIndex: 8 })).toEqual({ ok: false, reason: "authentication" });
    expect(openRecord(key, record, { ...id, packId: Buffer.alloc(16, 9) })).toEqual({ ok: false, reason: "authentication" });
    expect(openRecord(key, record, { ...id, contentHash: Buffer.alloc(32) })).toEqual({ ok: false, reason: "authentication" });
    expect(openRecord(Buffer.alloc(32, 0x12), record, id)).toEqual({ ok: false, reason: "authentication" });
  });

  // Frozen vectors: never regenerate these. A change that breaks them breaks every repository.
  const VECTOR_DATA = Buffer.from("Strongroom frozen block vector, format version 1. ".repeat(4));
  const ZSTD_RECORD =
    "00000000000000000000002aa431472906c8e415ff51ccc3d888be36972a0f3322e1f98d4e676081d7377f7fe0df1189b8ecc9149171b05731edf608c52d1f0fc7fa0db7ee98bedd4cf5a4953ad559b18adb9f81151490b4efe1c8ed3a67ab7a";
  const RAW_RECORD =
    "00000000000000000000002b852df42ce5f44cbdcd987d372ace10fa1d6958d356b87301c74f20393b382651ffd4efad42522dc8736334eae5cd1404fdf02d2a95ac4c6700f26e91f325bd0e9051c4a42a6da776a39632d11fb69ada222aac0732668c44ce2981e99abb030fa9d02896df12ce6dc3da600c6567cddc2e47fd5df92adfd9822527c4756ed519ba1ba0fb26b814a74809601cc4802736c28fa9b82a269d3d35b9d1eb38fe6bb0b4ff4681a204844d17e2c70c64498ef19e1a13025aa070fe0a9b37340bd32be0ef69584de5a7e8a943954e0fa095b73f9729ef2b4fec45cb";

  it("opens the frozen zstd record (written by version 1)", () => {
    const id = identity(VECTOR_DATA);
    expect(id.contentHash.toString("hex")).toBe("2b9a70dbc1264e8152770c91dd39003a907549f2634500c59eee53e0f98be71d");
    expect(openRecord(key, Buffer.from(ZSTD_RECORD, "hex"), { ...id, compressionId: CompressionId.zstd })).toEqual({ ok: true, data: VECTOR_DATA });
  });

  it("seals the frozen uncompressed record byte for byte (AES-256-GCM, counter nonce, AAD layout)", () => {
    const id = { ...identity(VECTOR_DATA), compressionId: CompressionId.none };
    expect(sealRecord(key, nonceFor(0, 43), VECTOR_DATA, id).toString("hex")).toBe(RAW_RECORD);
    expect(openRecord(key, Buffer.from(RAW_RECORD, "hex"), id)).toEqual({ ok: true, data: VECTOR_DATA });
  });
});
