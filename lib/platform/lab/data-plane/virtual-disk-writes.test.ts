// Concurrent writes into a lab virtual disk (a restore's parallel HotAdd / NBD writes): writes to
// different blocks run at once, writes to one block in order, snapshot changes wait for all of
// them, and an encrypted disk still stores only ciphertext (VME-1).
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BlockLocks } from "./block-locks";
import { generateDek } from "./bundle";
import { DiskFile } from "./disk-file";
import { snapshotDisk } from "./snapshot";
import { useTempFolder } from "./testing/temp-folder";
import { VirtualDisk } from "./virtual-disk";

const MiB = 1024 * 1024;
const folder = useTempFolder();

async function encryptedDisk(capacity = 16 * MiB) {
  const dek = generateDek();
  const disk = await VirtualDisk.create(folder(), "restored", { capacityBytes: capacity, encrypted: true, keyId: "kek", dek });
  disk.unlock(dek);
  return { disk, dek };
}

/** Counts stored writes in progress on the disk's base extent (the bytes reaching the datastore). */
function watchStoredWrites(file: DiskFile) {
  const seen = { running: 0, peak: 0 };
  const original = file.writeStored.bind(file);
  file.writeStored = async (offset, data) => {
    seen.running++;
    seen.peak = Math.max(seen.peak, seen.running);
    try {
      await new Promise((r) => setTimeout(r, 5));
      await original(offset, data);
    } finally {
      seen.running--;
    }
  };
  return seen;
}

describe("concurrent writes into a virtual disk", () => {
  it("writes to different blocks run at once; every one lands, encrypted on the datastore, with its allocation bit kept", async () => {
    const { disk, dek } = await encryptedDisk();
    const seen = watchStoredWrites(disk.baseFile);
    const blocks = Array.from({ length: 12 }, () => randomBytes(MiB));
    await Promise.all(blocks.map((b, i) => disk.write(i * MiB, b)));
    expect(seen.peak).toBeGreaterThan(1);
    for (const [i, b] of blocks.entries()) expect((await disk.read(i * MiB, MiB)).equals(b)).toBe(true);
    const raw = await disk.openLive("raw").read(0, MiB);
    expect(raw.equals(blocks[0])).toBe(false); // ciphertext, not the cleartext written
    // Blocks 0–7 share one byte of the allocation map: after a reopen every bit is still set.
    await disk.close();
    const again = await VirtualDisk.open(folder(), "restored");
    again.unlock(dek);
    expect(again.allocatedBlocks()).toEqual(blocks.map((_, i) => i));
    expect((await again.read(7 * MiB, MiB)).equals(blocks[7])).toBe(true);
    expect(disk.tracker.queryChangedAreas("*", { capacityBytes: 16 * MiB, allocatedBlocks: () => again.allocatedBlocks() }).length).toBeGreaterThan(0);
    await again.close();
  });

  it("partial writes into one block go one after the other: neither undoes the other's first-write initialisation", async () => {
    const { disk } = await encryptedDisk();
    const seen = watchStoredWrites(disk.baseFile);
    const a = randomBytes(64 * 1024);
    const b = randomBytes(64 * 1024);
    const c = randomBytes(4096);
    await Promise.all([disk.write(2 * MiB, a), disk.write(2 * MiB + 512 * 1024, b), disk.write(2 * MiB + MiB - 4096, c)]);
    expect(seen.peak).toBe(1);
    const block = await disk.read(2 * MiB, MiB);
    expect(block.subarray(0, a.length).equals(a)).toBe(true);
    expect(block.subarray(512 * 1024, 512 * 1024 + b.length).equals(b)).toBe(true);
    expect(block.subarray(MiB - 4096).equals(c)).toBe(true);
    expect(block.subarray(a.length, 512 * 1024).every((x) => x === 0)).toBe(true);
    await disk.close();
  });

  it("exclusive work (a snapshot change) waits for the writes in progress, and writes issued after it wait for it", async () => {
    const { disk } = await encryptedDisk();
    const seen = watchStoredWrites(disk.baseFile);
    const events: string[] = [];
    const first = [disk.write(0, randomBytes(MiB)), disk.write(MiB, randomBytes(MiB))].map((p, i) => p.then(() => events.push(`write ${i}`)));
    const exclusive = disk.exclusive(async () => {
      events.push(`exclusive starts with ${seen.running} running`);
      await new Promise((r) => setTimeout(r, 20));
      events.push("exclusive ends");
    });
    const later = disk.write(3 * MiB, randomBytes(MiB)).then(() => events.push("later write"));
    await Promise.all([...first, exclusive, later]);
    expect(events).toContain("exclusive starts with 0 running");
    expect(events.indexOf("exclusive ends")).toBeLessThan(events.indexOf("later write"));
    expect(events.filter((e) => e.startsWith("write")).sort()).toEqual(["write 0", "write 1"]);
    await disk.close();
  });

  it("a write issued after a snapshot lands in its delta, not in the frozen base", async () => {
    const { disk } = await encryptedDisk();
    await disk.write(0, randomBytes(MiB));
    const snap = snapshotDisk(disk);
    const later = randomBytes(MiB);
    await Promise.all([snap, disk.write(3 * MiB, later)]);
    expect(disk.baseFile.isAllocated(3)).toBe(false);
    expect((await disk.read(3 * MiB, MiB)).equals(later)).toBe(true);
    await disk.close();
  });

  it("a snapshot taken while writes run (snapshotDisk) never splits a write: each is wholly below or above it", async () => {
    const { disk } = await encryptedDisk();
    watchStoredWrites(disk.baseFile);
    const data = Array.from({ length: 6 }, () => randomBytes(MiB));
    const writes = data.map((d, i) => disk.write(i * MiB, d));
    const snap = snapshotDisk(disk);
    await Promise.all([...writes, snap]);
    for (let i = 0; i < 6; i++) expect(disk.baseFile.isAllocated(i)).toBe(true); // all issued before the snapshot
    for (const [i, d] of data.entries()) expect((await disk.read(i * MiB, MiB)).equals(d)).toBe(true);
    await disk.close();
  });
});

describe("BlockLocks", () => {
  it("orders holders of a common block, lets others through, and forgets released blocks", async () => {
    const locks = new BlockLocks();
    const order: string[] = [];
    const r1 = await locks.acquire(0, 1);
    let second = false;
    const p2 = locks.acquire(1, 2).then((release) => {
      second = true;
      order.push("1-2");
      release();
    });
    const r3 = await locks.acquire(5, 5); // disjoint: not held back
    order.push("5");
    await new Promise((r) => setTimeout(r, 5));
    expect(second).toBe(false);
    r1();
    await p2;
    r3();
    expect(order).toEqual(["5", "1-2"]);
    expect(locks.held).toBe(0);
  });
});
