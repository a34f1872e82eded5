import { describe, it, expect } from "vitest";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { NVRAM_LAYOUT, NVRAM_SIZE, buildNvramImage, hasVtpm, isNvramEncrypted, openNvram, readNvramFile, sealNvram, writeNvramFile } from "./nvram";
import { useTempFolder } from "./testing/temp-folder";

const folder = useTempFolder();

describe("NVRAM", () => {
  it("builds a 128 KiB image, deterministic from a seed, with a vTPM region only when asked", () => {
    const a = buildNvramImage({ vtpm: true, seed: "vm-1042" });
    expect(a).toHaveLength(NVRAM_SIZE);
    expect(a.equals(buildNvramImage({ vtpm: true, seed: "vm-1042" }))).toBe(true);
    expect(hasVtpm(a)).toBe(true);
    const plain = buildNvramImage({ vtpm: false, seed: "vm-1042" });
    expect(hasVtpm(plain)).toBe(false);
    expect(plain.subarray(NVRAM_LAYOUT.vtpm.offset).every((b) => b === 0)).toBe(true);
    expect(a.includes(Buffer.from("SecureBootEnable", "utf16le"))).toBe(true);
  });

  it("encrypts the whole image with AES-256-GCM; nothing of it is visible in the file", async () => {
    const key = randomBytes(32);
    const image = buildNvramImage({ vtpm: true, seed: "x" });
    const file = path.join(folder(), "web-01.nvram");
    await writeNvramFile(file, image, key);
    const stored = await readFile(file);
    expect(stored.subarray(0, 4).toString()).toBe("SRNV");
    expect(isNvramEncrypted(stored)).toBe(true);
    expect(stored.length).toBe(36 + NVRAM_SIZE);
    expect(stored.includes(Buffer.from("SecureBootEnable", "utf16le"))).toBe(false);
    expect(stored.includes(Buffer.from("VTPM"))).toBe(false);
    expect((await readNvramFile(file, key)).equals(image)).toBe(true);
  });

  it("a wrong key or a flipped bit is FileFault; no key is InvalidState; unencrypted VMs keep a plain NVRAM", () => {
    const key = randomBytes(32);
    const image = buildNvramImage({ vtpm: false, seed: "y" });
    const sealed = sealNvram(image, key);
    expect(() => openNvram(sealed, randomBytes(32))).toThrow(expect.objectContaining({ code: "FileFault" }));
    const flipped = Buffer.from(sealed);
    flipped[1000] ^= 1;
    expect(() => openNvram(flipped, key)).toThrow(expect.objectContaining({ code: "FileFault" }));
    const header = Buffer.from(sealed);
    header[5] = 0x01 | 0x02; // flags are authenticated data
    expect(() => openNvram(header, key)).toThrow(expect.objectContaining({ code: "FileFault" }));
    expect(() => openNvram(sealed, null)).toThrow(expect.objectContaining({ code: "InvalidState" }));
    const plain = sealNvram(image, null);
    expect(isNvramEncrypted(plain)).toBe(false);
    expect(openNvram(plain, null).equals(image)).toBe(true);
    expect(() => openNvram(Buffer.from("garbage"), null)).toThrow(expect.objectContaining({ code: "FileFault" }));
  });
});
