// FilesystemStore.openRangeReader: a restore's range reads keep each pack open (opened once, read
// many times) and every file is closed when the reader is; no more than `maxOpen` files stay open
// (the least recently used idle one goes first); a missing file is NotFoundError and is not kept;
// a read after close fails. OpenPoint.readBlocks uses one reader per read and closes it.
import { mkdtempSync, rmSync } from "node:fs";
import { readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NotFoundError } from "../errors";
import { KeyRing } from "../keys/key-ring";
import { noise, sampleDisk, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import { FilesystemStore, type FilesystemRangeReader } from "./filesystem-store";

const dir = mkdtempSync(path.join(os.tmpdir(), "strongroom-range-reader-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The descriptors this process holds open on files under `root`. */
async function openUnder(root: string): Promise<number> {
  const { readlink } = await import("node:fs/promises");
  let n = 0;
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target.startsWith(root)) n++;
  }
  return n;
}

describe("FilesystemStore.openRangeReader", { timeout: 30_000 }, () => {
  it("opens each file once for many reads, reads the same bytes as getRangeInto, and closes every file", async () => {
    const root = path.join(dir, "a");
    const store = new FilesystemStore(root);
    const a = noise("a", 64 * 1024);
    const b = noise("b", 64 * 1024);
    await store.put("packs/a", a);
    await store.put("packs/b", b);
    const reader = store.openRangeReader();
    const target = Buffer.alloc(1000);
    for (let i = 0; i < 20; i++) {
      const [name, data] = i % 2 ? ["packs/b", b] : ["packs/a", a];
      expect(await reader.readInto(name, i * 3000, target)).toBe(1000);
      expect(target.equals(data.subarray(i * 3000, i * 3000 + 1000))).toBe(true);
    }
    // Past the end: fewer bytes, as getRangeInto.
    expect(await reader.readInto("packs/a", a.length - 10, target)).toBe(10);
    expect(reader.opened).toBe(2);
    expect(await openUnder(root)).toBe(2);
    await reader.close();
    expect(reader.closedFiles).toBe(2);
    expect(await openUnder(root)).toBe(0);
    await expect(reader.readInto("packs/a", 0, target)).rejects.toThrow(/closed/);
    await reader.close(); // idempotent
  });

  it("keeps at most maxOpen files open, closing the least recently used idle one", async () => {
    const root = path.join(dir, "b");
    const store = new FilesystemStore(root);
    for (let i = 0; i < 5; i++) await store.put(`packs/p${i}`, noise(`p${i}`, 4096));
    const reader: FilesystemRangeReader = store.openRangeReader(3);
    const target = Buffer.alloc(16);
    for (const i of [0, 1, 2, 0, 3, 4]) await reader.readInto(`packs/p${i}`, 0, target);
    // p1 (least recently used) went for p3, then p2 for p4; p0 was used again and stays.
    expect(reader.opened).toBe(5);
    expect(reader.closedFiles).toBe(2);
    expect(await openUnder(root)).toBe(3);
    await reader.readInto("packs/p0", 0, target);
    expect(reader.opened).toBe(5);
    await reader.close();
    expect(await openUnder(root)).toBe(0);
  });

  it("a missing file is NotFoundError and is not kept; reads in parallel share one descriptor", async () => {
    const root = path.join(dir, "c");
    const store = new FilesystemStore(root);
    const reader = store.openRangeReader();
    const target = Buffer.alloc(16);
    await expect(reader.readInto("packs/late", 0, target)).rejects.toBeInstanceOf(NotFoundError);
    const data = noise("late", 8192);
    await store.put("packs/late", data);
    const targets = [0, 1, 2, 3].map(() => Buffer.alloc(2048));
    await Promise.all(targets.map((t, i) => reader.readInto("packs/late", i * 2048, t)));
    expect(Buffer.concat(targets).equals(data)).toBe(true);
    expect(reader.opened).toBe(2); // the failed open, then one for the four reads
    await expect(reader.readInto("../escape", 0, target)).rejects.toThrow(/invalid repository file name/);
    await reader.close();
    expect(await openUnder(root)).toBe(0);
  });

  it("OpenPoint.readBlocks reads through one reader and closes it, after a complete read and after an early stop", async () => {
    const root = path.join(dir, "d");
    const store = new FilesystemStore(root);
    const readers: FilesystemRangeReader[] = [];
    const openRangeReader = store.openRangeReader.bind(store);
    store.openRangeReader = (maxOpen?: number) => {
      const r = openRangeReader(maxOpen);
      readers.push(r);
      return r;
    };
    const { repo } = await testRepository({ store });
    const password = await weakPasswordKey();
    const disk = sampleDisk("r");
    const session = await repo.beginPoint({ protection: { password } });
    await session.writeDisk("d", { capacity: disk.capacity, blocks: disk.blocks });
    const { pointId } = await session.commit();
    const point = await repo.readPoint(pointId, new KeyRing().addPasswordKey(password));
    const data = [...point.blockMap("d")].filter(([, e]) => e.kind === "data").map(([i]) => i).sort((x, y) => x - y);
    const packs = new Set([...point.blockMap("d").values()].flatMap((e) => (e.kind === "data" ? [e.packId] : [])));
    let n = 0;
    for await (const b of point.readBlocks("d", data, { workers: "off" })) {
      expect(b.data.equals(disk.image.subarray(b.index * point.blockSize, b.index * point.blockSize + b.data.length))).toBe(true);
      n++;
    }
    expect(n).toBe(data.length);
    expect(readers).toHaveLength(1);
    expect(readers[0].opened).toBe(packs.size);
    expect(readers[0].closedFiles).toBe(packs.size);
    for await (const _ of point.readBlocks("d", data, { workers: "off" })) break;
    expect(readers).toHaveLength(2);
    expect(readers[1].closedFiles).toBe(readers[1].opened);
    expect(await openUnder(root)).toBe(0);
  });
});
