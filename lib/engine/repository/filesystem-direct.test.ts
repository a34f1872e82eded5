// FilesystemStore.putAligned: a pack written with direct I/O (aligned bulk + buffered tail) reads
// back byte for byte, whatever its length; a buffer that is not page-aligned after all, or a
// filesystem without O_DIRECT, falls back to the ordinary put; nothing temporary is left behind.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { noise } from "../testing/engine-fixtures";
import { allocateShared } from "./aligned-memory";
import { FilesystemStore } from "./filesystem-store";

const dir = mkdtempSync(path.join(os.tmpdir(), "strongroom-direct-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Real fsyncs: slow on a busy machine.
describe("FilesystemStore.putAligned", { timeout: 30_000 }, () => {
  it("writes page-aligned shared memory of any length, and reads it back byte for byte", async () => {
    const store = new FilesystemStore(path.join(dir, "a"));
    for (const length of [1, 4095, 4096, 3 * 4096 + 17, (1 << 20) + 5]) {
      const { buffer, aligned } = allocateShared(length);
      expect(aligned).toBe(true);
      noise(`direct-${length}`, length).copy(buffer);
      await store.putAligned(`packs/00/${length.toString(16).padStart(32, "0")}`, buffer);
      expect(await store.get(`packs/00/${length.toString(16).padStart(32, "0")}`)).toEqual(buffer);
    }
    expect(await store.listTemporary()).toEqual([]);
  });

  it("falls back to put for memory that is not aligned, and replaces files atomically as put does", async () => {
    const store = new FilesystemStore(path.join(dir, "b"));
    const name = "packs/01/0123456789abcdef0123456789abcdef";
    const unaligned = Buffer.alloc(3 * 4096 + 100, 7).subarray(1);
    await store.putAligned(name, unaligned);
    expect(await store.get(name)).toEqual(unaligned);
    const { buffer } = allocateShared(2 * 4096);
    buffer.fill(9);
    await store.putAligned(name, buffer);
    expect(await store.get(name)).toEqual(buffer);
    expect(await store.listTemporary()).toEqual([]);
  });
});
