import { describe, expect, it } from "vitest";
import { MemoryDisk } from "../../platform/lab/transport/testing/memory-disk";
import { BLOCK, compressible, noise, readImage, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import { KeyRing } from "../keys/key-ring";
import type { BackupSession, DiskSource } from "../repository/backup-session";
import { backupDisk, blocksOfAreas, READ_AHEAD, type DiskProgress } from "./backup-disk";

// 6 blocks of 4 KiB: random, zeros, compressible, copy of 0, random, and a short last block (1 KiB).
function image(seed: string): Buffer {
  const b0 = noise(`${seed}-0`, BLOCK);
  return Buffer.concat([b0, Buffer.alloc(BLOCK), compressible(seed, BLOCK), b0, noise(`${seed}-4`, BLOCK), noise(`${seed}-5`, 1024)]);
}

async function setup() {
  const { repo } = await testRepository();
  const password = await weakPasswordKey();
  const ring = new KeyRing().addPasswordKey(password);
  return { repo, ring, protection: { password } };
}

describe("blocksOfAreas", () => {
  it.each([
    { areas: [{ start: 0, length: 1 }], expect: [0] },
    { areas: [{ start: BLOCK - 512, length: 1024 }], expect: [0, 1] },
    { areas: [{ start: 2 * BLOCK, length: BLOCK }, { start: 0, length: BLOCK }, { start: 2 * BLOCK, length: 512 }], expect: [0, 2] },
    { areas: [{ start: 5 * BLOCK, length: 100 * BLOCK }], expect: [5] }, // clamped to the capacity
    { areas: [{ start: 0, length: 0 }], expect: [] },
    { areas: "all" as const, expect: [0, 1, 2, 3, 4, 5] },
  ])("$areas → $expect", ({ areas, expect: want }) => {
    expect(blocksOfAreas(areas, 5 * BLOCK + 1024, BLOCK)).toEqual(want);
  });
});

describe("backupDisk (BKP-2, BKP-3)", () => {
  it("full: reads every block, skips zero blocks, and the point reads back bit for bit", async () => {
    const { repo, ring, protection } = await setup();
    const disk = new MemoryDisk(image("a"));
    const progress: DiskProgress[] = [];
    const session = await repo.beginPoint({ protection });
    const r = await backupDisk({ session, diskId: "2000", reader: disk, blockSize: BLOCK, plan: { kind: "full", areas: "all" }, onProgress: (p) => progress.push(p), progressIntervalMs: 0 });
    const { pointId } = await session.commit();
    expect(r).toMatchObject({ blocksRead: 6, bytesRead: disk.data.length, zeroBlocks: 1, incremental: false });
    expect(r.stats).toMatchObject({ blocksIn: 5, dedupedBlocks: 1, storedBlocks: 4 });
    expect(r.bytesTransferred).toBe(r.stats.bytesStored);
    expect((await readImage(repo, pointId, ring, "2000")).equals(disk.data)).toBe(true);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ done: true, bytesRead: disk.data.length, bytesToRead: disk.data.length, zeroBlocks: 1 });
    expect(progress.filter((p) => !p.done).length).toBe(6);
  });

  it("full from CBT areas: only the written blocks are read", async () => {
    const { repo, ring, protection } = await setup();
    const data = Buffer.alloc(6 * BLOCK);
    noise("x", BLOCK).copy(data, 4 * BLOCK);
    const disk = new MemoryDisk(data);
    const session = await repo.beginPoint({ protection });
    const r = await backupDisk({ session, diskId: "d", reader: disk, blockSize: BLOCK, plan: { kind: "full", areas: [{ start: 4 * BLOCK, length: BLOCK }] } });
    const { pointId } = await session.commit();
    expect(r.blocksRead).toBe(1);
    expect(disk.reads).toBe(1);
    expect((await readImage(repo, pointId, ring, "d")).equals(data)).toBe(true);
  });

  it("incremental: reads only changed blocks, inherits the rest, a block turned to zeros overrides the parent", async () => {
    const { repo, ring, protection } = await setup();
    const before = image("a");
    const first = await repo.beginPoint({ protection });
    await backupDisk({ session: first, diskId: "d", reader: new MemoryDisk(before), blockSize: BLOCK, plan: { kind: "full", areas: "all" } });
    const { chainId } = await first.commit();

    const after = Buffer.from(before);
    noise("changed", BLOCK).copy(after, 2 * BLOCK);
    after.fill(0, 4 * BLOCK, 5 * BLOCK);
    const disk = new MemoryDisk(after);
    const second = await repo.beginPoint({ chainId, protection, keyRing: ring });
    const r = await backupDisk({ session: second, diskId: "d", reader: disk, blockSize: BLOCK, plan: { kind: "incremental", areas: [{ start: 2 * BLOCK, length: BLOCK }, { start: 4 * BLOCK, length: BLOCK }] } });
    const { pointId } = await second.commit();
    expect(disk.reads).toBe(2);
    expect(r).toMatchObject({ incremental: true, blocksRead: 2, zeroBlocks: 1 });
    expect(r.stats).toMatchObject({ storedBlocks: 1, inheritedBlocks: 3 });
    expect((await readImage(repo, pointId, ring, "d")).equals(after)).toBe(true);
  });

  it("fallback after a CBT reset: a full read deduplicated against the parent stores only what changed", async () => {
    const { repo, ring, protection } = await setup();
    const before = image("a");
    const first = await repo.beginPoint({ protection });
    await backupDisk({ session: first, diskId: "d", reader: new MemoryDisk(before), blockSize: BLOCK, plan: { kind: "full", areas: "all" } });
    const { chainId } = await first.commit();
    const after = Buffer.from(before);
    noise("changed", BLOCK).copy(after, 2 * BLOCK);
    const second = await repo.beginPoint({ chainId, protection, keyRing: ring });
    const r = await backupDisk({ session: second, diskId: "d", reader: new MemoryDisk(after), blockSize: BLOCK, plan: { kind: "full", areas: "all" } });
    const { pointId } = await second.commit();
    expect(r.stats).toMatchObject({ storedBlocks: 1, dedupedBlocks: 4 });
    expect((await readImage(repo, pointId, ring, "d")).equals(after)).toBe(true);
  });

  it("keeps READ_AHEAD reads in flight, reuses READ_AHEAD + 1 buffers, and never hands over a block being overwritten", async () => {
    const seen = new Set<Buffer>();
    let count = 0;
    const data = Buffer.concat(Array.from({ length: 20 }, (_, i) => noise(`b${i}`, BLOCK)));
    const fake = {
      async writeDisk(_id: string, source: DiskSource) {
        for await (const b of source.blocks) {
          // The session copies the block before it asks for the next: until then it must be intact,
          // even while the reader fills the other buffers (a slow consumer gives the reads time to land).
          await new Promise((r) => setTimeout(r, 1));
          expect(Buffer.from(b.data).equals(data.subarray(b.index * BLOCK, (b.index + 1) * BLOCK)), `block ${b.index}`).toBe(true);
          seen.add(b.data as Buffer);
          count++;
        }
        return { diskId: _id, blocksIn: count, zeroBlocks: 0, dedupedBlocks: 0, storedBlocks: count, inheritedBlocks: 0, bytesIn: 0, bytesStored: 0 };
      },
    } as unknown as BackupSession;
    const disk = new MemoryDisk(data);
    const readInto = disk.readInto.bind(disk);
    let inFlight = 0;
    let peak = 0;
    disk.readInto = async (offset: number, target: Buffer) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      await readInto(offset, target);
      inFlight--;
    };
    await backupDisk({ session: fake, diskId: "d", reader: disk, blockSize: BLOCK, plan: { kind: "full", areas: "all" } });
    expect(count).toBe(20);
    expect(seen.size).toBe(READ_AHEAD + 1);
    expect(peak).toBe(READ_AHEAD);
  });

  it("a read error fails the disk and leaves no point", async () => {
    const { repo, protection } = await setup();
    const disk = new MemoryDisk(image("a"));
    disk.readInto = async () => {
      throw new Error("proxy lost");
    };
    const session = await repo.beginPoint({ protection });
    await expect(backupDisk({ session, diskId: "d", reader: disk, blockSize: BLOCK, plan: { kind: "full", areas: "all" } })).rejects.toThrow("proxy lost");
    await session.abort();
    expect((await repo.listPoints()).points).toHaveLength(0);
  });
});
