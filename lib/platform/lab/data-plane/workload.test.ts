import { describe, it, expect } from "vitest";
import { createHash } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import { generateDek } from "./bundle";
import { snapshotDisk } from "./snapshot";
import { useTempFolder } from "./testing/temp-folder";
import { VirtualDisk } from "./virtual-disk";
import { changeBlocks, fillDisk, planBlocks } from "./workload";

const MiB = 1024 * 1024;
const folder = useTempFolder();

async function digest(disk: VirtualDisk): Promise<string> {
  const h = createHash("sha256");
  const buf = Buffer.alloc(MiB);
  for (let at = 0; at < disk.capacityBytes; at += MiB) {
    const part = buf.subarray(0, Math.min(MiB, disk.capacityBytes - at));
    await disk.readInto(at, part);
    h.update(part);
  }
  return h.digest("hex");
}

describe("guest workload", () => {
  it("plans exact counts per fraction, positions shuffled by the seed", () => {
    const plan = planBlocks(100, { zeros: 0.2, random: 0.3, repeated: 0.1, text: 0.3 }, 7);
    const count = (k: string | null) => plan.filter((p) => p === k).length;
    expect([count("zeros"), count("random"), count("repeated"), count("text"), count(null)]).toEqual([20, 30, 10, 30, 10]);
    expect(planBlocks(100, { zeros: 0.2, random: 0.3, repeated: 0.1, text: 0.3 }, 7)).toEqual(plan);
    expect(planBlocks(100, { zeros: 0.2, random: 0.3, repeated: 0.1, text: 0.3 }, 8)).not.toEqual(plan);
    expect(() => planBlocks(10, { zeros: 0.6, random: 0.6, repeated: 0, text: 0 }, 1)).toThrow(RangeError);
  });

  it("fills a disk with zeros, incompressible, repeated and compressible blocks, deterministically", async () => {
    const disk = await VirtualDisk.create(folder(), "a", { capacityBytes: 32 * MiB, encrypted: false });
    const report = await fillDisk(disk, { zeros: 0.25, random: 0.25, repeated: 0.25, text: 0.125 }, "seed-1");
    expect(report.blocks.unwritten).toHaveLength(4);
    expect(report.bytesWritten).toBe(28 * MiB);
    expect(disk.allocatedBlocks()).toHaveLength(28); // zero blocks were written: allocated
    const read = (b: number) => disk.read(b * MiB, MiB);

    for (const b of report.blocks.zeros) expect((await read(b)).every((x) => x === 0)).toBe(true);
    for (const b of report.blocks.unwritten) expect((await read(b)).every((x) => x === 0)).toBe(true);
    const random = await read(report.blocks.random[0]);
    expect(deflateRawSync(random, { level: 1 }).length).toBeGreaterThan(MiB * 0.99);
    expect(random.equals(await read(report.blocks.random[1]))).toBe(false);
    const repeated = await Promise.all(report.blocks.repeated.map(read));
    expect(new Set(repeated.map((b) => b.toString("hex").slice(0, 64))).size).toBeLessThanOrEqual(4);
    const text = await read(report.blocks.text[0]);
    expect(deflateRawSync(text, { level: 1 }).length).toBeLessThan(MiB / 3);
    expect(text.toString("ascii", 0, 400)).toMatch(/GET \/|block \d+/);
    expect(text.equals(await read(report.blocks.text[1]))).toBe(false);

    const twin = await VirtualDisk.create(folder(), "b", { capacityBytes: 32 * MiB, encrypted: false });
    await fillDisk(twin, { zeros: 0.25, random: 0.25, repeated: 0.25, text: 0.125 }, "seed-1");
    expect(await digest(twin)).toBe(await digest(disk));
    await disk.close();
    await twin.close();
  });

  it("changeBlocks rewrites that fraction of blocks through the live disk; CBT reports exactly them", async () => {
    const dek = generateDek();
    const disk = await VirtualDisk.create(folder(), "enc", { capacityBytes: 16 * MiB + 64 * 1024, encrypted: true, dek });
    disk.unlock(dek);
    await fillDisk(disk, undefined, 3);
    const { changeId } = await snapshotDisk(disk);
    const before = await digest(disk);
    const changed = await changeBlocks(disk, 0.25, "day-2");
    expect(changed).toHaveLength(Math.round(0.25 * 17));
    expect(disk.tracker.changedBlocks(changeId)).toEqual(changed);
    expect(await digest(disk)).not.toBe(before);
    expect(await changeBlocks(disk, 0, "none")).toEqual([]);
    await disk.close();
  });
});
