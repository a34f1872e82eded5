// The lab host's XTS threads encrypt exactly as the inline cipher does (VME-1), many at once.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateDek } from "./bundle";
import { OFFLOAD_BYTES, XtsPool } from "./xts-pool";
import { XtsCipher } from "./xts";

const MiB = 1024 * 1024;

describe("XtsPool", () => {
  it("gives the same ciphertext as XtsCipher inline, on its threads once they run, for many blocks at once", async () => {
    const pool = new XtsPool(2);
    const cipher = new XtsCipher(generateDek());
    const other = new XtsCipher(generateDek());
    const blocks = Array.from({ length: 12 }, () => randomBytes(MiB));
    const expected = blocks.map((b, i) => {
      const out = Buffer.alloc(MiB);
      (i % 2 ? other : cipher).encryptSectors(i * 2048, b, out);
      return out;
    });
    const round = async () => {
      const outs = blocks.map(() => Buffer.alloc(MiB));
      await Promise.all(blocks.map((b, i) => pool.encrypt(i % 2 ? other : cipher, i * 2048, b, outs[i])));
      outs.forEach((o, i) => expect(o.equals(expected[i])).toBe(true));
    };
    await round(); // the threads start meanwhile: inline
    for (let i = 0; i < 100 && pool.jobs.threads === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await round();
    }
    expect(pool.jobs.threads).toBeGreaterThan(0);
    // In place (output = input), as the disk view may ask.
    const inPlace = Buffer.from(blocks[0]);
    await pool.encrypt(cipher, 0, inPlace, inPlace);
    expect(inPlace.equals(expected[0])).toBe(true);
  });

  it("encrypts small pieces inline", async () => {
    const pool = new XtsPool(1);
    const cipher = new XtsCipher(generateDek());
    const piece = randomBytes(OFFLOAD_BYTES / 2);
    const want = Buffer.alloc(piece.length);
    cipher.encryptSectors(7, piece, want);
    const got = Buffer.alloc(piece.length);
    await pool.encrypt(cipher, 7, piece, got);
    expect(got.equals(want)).toBe(true);
    expect(pool.jobs).toEqual({ inline: 1, threads: 0 });
  });
});
