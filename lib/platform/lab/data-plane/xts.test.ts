import { describe, it, expect } from "vitest";
import { createCipheriv, randomBytes } from "node:crypto";
import { XtsCipher, writeSectorTweak } from "./xts";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

// IEEE P1619-2007, Annex B, Vector 10: XTS-AES-256, data unit sequence number 0xff, 512 bytes.
const P1619_V10 = {
  key1: hex("2718281828459045235360287471352662497757247093699959574966967627"),
  key2: hex("3141592653589793238462643383279502884197169399375105820974944592"),
  sector: 0xff,
  plaintext: Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256)),
  ciphertext: hex(`
    1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b5d31e276f8fe4a8d66b317f9ac683f44
    680a86ac35adfc3345befecb4bb188fd5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0
    c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca2a3e7a7d7df7b10355165c8b9a6d0a7d
    e8b062c4500dc4cd120c0f7418dae3d0b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f
    93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec583e9645e07b8d9670655ba5bbcfecc6
    dc3966380ad8fecb17b6ba02469a020a84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1
    505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae9be69a2ffeceb1bec9de244fbe15992b
    11b77c040f12bd8f6a975a44a0f90c29a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac
    6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f645e8b7e9bfdef33943054ff84011493
    c27b3429eaedb4ed5376441a77ed43851ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa
    773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151`),
};

// NIST CAVP XTSGenAES256.rsp, COUNT = 1 (data unit 256 bits, tweak value given as 16 bytes).
const NIST_256_1 = {
  key: hex("1ea661c58d943a0e4801e42f4b0947149e7f9f8e3e68d0c7505210bd311a0e7cd6e13ffdf2418d8d1911c004cda58da3d619b7e2b9141e58318eea392cf41b08"),
  tweak: hex("adf8d92627464ad2f0428e84a9f87564"),
  plaintext: hex("2eedea52cd8215e1acc647e810bbc3642e87287f8d2e57e36c0a24fbc12a202e"),
  ciphertext: hex("cbaad0e2f6cea3f50b37f934d46a9b130b9d54f07e34f36af793e86f73c6d7db"),
};

/** Reference: Node's own aes-256-xts, one cipher object per sector. */
function referenceEncrypt(key: Buffer, firstSector: number, data: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  const iv = Buffer.alloc(16);
  for (let i = 0; i < data.length / 512; i++) {
    writeSectorTweak(iv, 0, firstSector + i);
    const c = createCipheriv("aes-256-xts", key, iv);
    Buffer.concat([c.update(data.subarray(i * 512, (i + 1) * 512)), c.final()]).copy(out, i * 512);
  }
  return out;
}

describe("XtsCipher (AES-256-XTS per 512-byte sector)", () => {
  it("matches IEEE P1619 vector 10 (XTS-AES-256, sector 0xff)", () => {
    const xts = new XtsCipher(Buffer.concat([P1619_V10.key1, P1619_V10.key2]));
    const out = Buffer.alloc(512);
    xts.encryptSectors(P1619_V10.sector, P1619_V10.plaintext, out);
    expect(out.toString("hex")).toBe(P1619_V10.ciphertext.toString("hex"));
    xts.decryptSectors(P1619_V10.sector, P1619_V10.ciphertext, out);
    expect(out.equals(P1619_V10.plaintext)).toBe(true);
  });

  it("matches the NIST CAVP XTS-AES-256 vector (256-bit data unit, raw tweak)", () => {
    const xts = new XtsCipher(NIST_256_1.key);
    const out = Buffer.alloc(32);
    xts.encryptDataUnit(NIST_256_1.tweak, NIST_256_1.plaintext, out);
    expect(out.toString("hex")).toBe(NIST_256_1.ciphertext.toString("hex"));
    xts.decryptDataUnit(NIST_256_1.tweak, NIST_256_1.ciphertext, out);
    expect(out.equals(NIST_256_1.plaintext)).toBe(true);
  });

  it("agrees with Node's aes-256-xts over many sectors, across chunk boundaries and high sector numbers", () => {
    const key = randomBytes(64);
    const xts = new XtsCipher(key);
    const data = randomBytes(300 * 512); // not a multiple of the 64-sector chunk
    for (const first of [0, 1, 63, 2 ** 32 - 5, 2 ** 40 + 7]) {
      const out = Buffer.alloc(data.length);
      xts.encryptSectors(first, data, out);
      expect(out.equals(referenceEncrypt(key, first, data))).toBe(true);
    }
  });

  it("round-trips in place and into a separate buffer", () => {
    const xts = new XtsCipher(randomBytes(64));
    const plain = randomBytes(2048 * 512); // 1 MiB
    const buf = Buffer.from(plain);
    xts.encryptSectors(4096, buf, buf);
    expect(buf.equals(plain)).toBe(false);
    const back = Buffer.alloc(buf.length);
    xts.decryptSectors(4096, buf, back);
    expect(back.equals(plain)).toBe(true);
    xts.decryptSectors(4096, buf, buf);
    expect(buf.equals(plain)).toBe(true);
  });

  it("handles buffers that are not 4-byte aligned", () => {
    const key = randomBytes(64);
    const xts = new XtsCipher(key);
    const backing = Buffer.alloc(512 * 3 + 3);
    const plain = randomBytes(512 * 3);
    const odd = backing.subarray(3, 3 + plain.length);
    plain.copy(odd);
    xts.encryptSectors(9, odd, odd);
    expect(Buffer.from(odd).equals(referenceEncrypt(key, 9, plain))).toBe(true);
  });

  it("a sector moved to another position decrypts to garbage (the tweak binds data to its sector)", () => {
    const xts = new XtsCipher(randomBytes(64));
    const plain = randomBytes(512 * 2);
    const enc = Buffer.alloc(plain.length);
    xts.encryptSectors(100, plain, enc);
    const moved = Buffer.alloc(512);
    xts.decryptSectors(101, enc.subarray(0, 512), moved); // sector 100's ciphertext read as sector 101
    expect(moved.equals(plain.subarray(0, 512))).toBe(false);
    expect(moved.equals(plain.subarray(512))).toBe(false);
    // and identical plaintext at two positions gives different ciphertext
    const zeros = Buffer.alloc(1024);
    xts.encryptSectors(7, zeros, enc);
    expect(enc.subarray(0, 512).equals(enc.subarray(512))).toBe(false);
  });

  it("refuses bad keys and partial sectors", () => {
    expect(() => new XtsCipher(randomBytes(32))).toThrow(/64 bytes/);
    const same = randomBytes(32);
    expect(() => new XtsCipher(Buffer.concat([same, same]))).toThrow(/halves/);
    const xts = new XtsCipher(randomBytes(64));
    expect(() => xts.encryptSectors(0, Buffer.alloc(100), Buffer.alloc(100))).toThrow(/whole 512-byte sectors/);
    expect(() => xts.encryptSectors(0, Buffer.alloc(512), Buffer.alloc(256))).toThrow(/shorter/);
    expect(() => xts.encryptSectors(-1, Buffer.alloc(512), Buffer.alloc(512))).toThrow(/sector number/);
  });
});
