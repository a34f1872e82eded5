import { createHash } from "node:crypto";
import { open, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { DiskArea } from "../../platform/lab/data-plane/types";
import { useTempFolder } from "../../platform/lab/data-plane/testing/temp-folder";
import { isNative, pickVm } from "../../platform/lab/testing/lab-fixtures";
import { backupVm, diskIdOf, type BackupVmOptions, type VmBackupHost } from "./backup-vm";
import { diskImageChunks, restoreDiskToFile, restoreDiskToWriter, RestoreWriteError, type RestoreProgress } from "./restore-disk";
import { KeyRing } from "../keys/key-ring";
import { sampleDisk, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import { backupHostOf, candidate, labAndRepository } from "./testing";

const MiB = 1024 * 1024;
const HEAD = 8 * MiB; // compared in full, holes included
const folder = useTempFolder("strongroom-pipeline-restore-");
const nativeVm = pickVm("natively encrypted VM", (v) => v.encrypted && !v.vtpm && isNative(v) && v.powerState === "poweredOn");

interface Seen {
  areas: DiskArea[];
  hash: string;
}

/** SHA-256 of the first HEAD bytes and of every written area (offset, length, bytes). */
async function fingerprint(read: (offset: number, length: number) => Promise<Buffer>, capacity: number, areas: DiskArea[]): Promise<string> {
  const h = createHash("sha256");
  h.update(await read(0, Math.min(HEAD, capacity)));
  for (const a of areas) {
    h.update(`${a.start}+${a.length}`);
    for (let at = a.start; at < a.start + a.length; at += MiB) h.update(await read(at, Math.min(MiB, a.start + a.length - at)));
  }
  return h.digest("hex");
}

describe("restoreDiskToFile", () => {
  it("restores a full and an incremental point of an encrypted lab VM bit for bit, as sparse files", async () => {
    const lab = await labAndRepository(folder(), 3);
    const { connector: c } = lab;
    await c.guestWrites(nativeVm.externalId, 1, 7);
    const vm = await lab.inventoryVm(nativeVm.externalId);

    // Hash each disk's cleartext as the snapshot reader serves it, at backup time.
    const real = backupHostOf(c);
    let seen = new Map<number, Seen>();
    const recording: VmBackupHost = {
      ...real,
      async openDiskForBackup(o) {
        const disk = await real.openDiskForBackup(o);
        const areas = await real.queryChangedAreas({ vmExternalId: o.vmExternalId, deviceKey: o.deviceKey, changeId: "*" });
        seen.set(o.deviceKey, { areas, hash: await fingerprint((at, n) => disk.reader.read(at, n), disk.reader.capacityBytes, areas) });
        return disk;
      },
    };
    const base: BackupVmOptions = {
      host: recording,
      repository: lab.repository,
      vm,
      proxies: [candidate(vm, { kind: "physical", transportModes: ["nbdssl"], keyProviderExternalId: null })],
      selection: { proxies: "automatic", failoverToNetwork: true },
      protection: lab.protection,
      keyRing: lab.keyRing,
    };
    const full = await backupVm(base);
    expect(full.status, full.error).toBe("success");
    const seenFull = seen;

    seen = new Map();
    const rewrite = await c.guestWrites(vm.externalId, 0.5, 8);
    expect(rewrite.changedBlocks).toBeGreaterThan(0);
    const incr = await backupVm({ ...base, chainId: full.chainId, previousChangeIds: full.changeIds });
    expect(incr.status, incr.error).toBe("success");
    expect(incr.disks.every((d) => d.result.incremental)).toBe(true);
    const seenIncr = seen;

    for (const [pointId, expected, tag] of [
      [full.pointId!, seenFull, "full"],
      [incr.pointId!, seenIncr, "incr"],
    ] as const) {
      const point = await lab.repository.readPoint(pointId, lab.keyRing);
      for (const disk of vm.disks) {
        const want = expected.get(disk.deviceKey)!;
        expect(want.areas.length).toBeGreaterThan(0);
        const file = path.join(folder(), `${tag}-${disk.deviceKey}.img`);
        const progress: RestoreProgress[] = [];
        const r = await restoreDiskToFile({ point, diskId: diskIdOf(disk.deviceKey), file, onProgress: (p) => progress.push(p) });
        expect(r.capacity).toBe(disk.capacityBytes);
        expect(progress.at(-1)).toMatchObject({ done: true, bytesDone: disk.capacityBytes, bytesWritten: r.bytesWritten });
        const st = await stat(file);
        expect(st.size).toBe(disk.capacityBytes);
        expect(st.blocks * 512).toBeLessThan(disk.capacityBytes / 4); // sparse

        // Everything the point holds lies inside the disk's written areas; outside them both sides read zeros.
        const inAreas = (i: number) => want.areas.some((a) => i * MiB < a.start + a.length && (i + 1) * MiB > a.start);
        for (const [i, e] of point.blockMap(diskIdOf(disk.deviceKey))) if (e.kind === "data") expect(inAreas(i)).toBe(true);

        const handle = await open(file, "r");
        try {
          const read = async (offset: number, length: number) => {
            const b = Buffer.alloc(length);
            await handle.read(b, 0, length, offset);
            return b;
          };
          expect(await fingerprint(read, disk.capacityBytes, want.areas)).toBe(want.hash);
        } finally {
          await handle.close();
        }
      }
      point.close();
    }
    // The two points differ where the guest wrote.
    expect([...seenFull.values()].map((s) => s.hash)).not.toEqual([...seenIncr.values()].map((s) => s.hash));
    await c.close();
  });
});

describe("restoreDiskToFile on a small repository", () => {
  async function samplePoint() {
    const { repo } = await testRepository();
    const password = await weakPasswordKey();
    const disk = sampleDisk("r");
    const session = await repo.beginPoint({ protection: { password } });
    await session.writeDisk("d", { capacity: disk.capacity, blocks: disk.blocks });
    const { pointId } = await session.commit();
    return { point: await repo.readPoint(pointId, new KeyRing().addPasswordKey(password)), image: disk.image };
  }

  it("writes data blocks, leaves zero blocks as holes, and the image equals the disk", async () => {
    const { point, image } = await samplePoint();
    const file = path.join(folder(), "d.img");
    const r = await restoreDiskToFile({ point, diskId: "d", file });
    expect(r).toMatchObject({ capacity: image.length, dataBlocks: 5 });
    expect((await readFile(file)).equals(image)).toBe(true);
  });

  it("an interrupted restore leaves no file, not even the partial one; an unknown disk is NotFound", async () => {
    const { point } = await samplePoint();
    const file = path.join(folder(), "d.img");
    const ac = new AbortController();
    ac.abort();
    await expect(restoreDiskToFile({ point, diskId: "d", file, signal: ac.signal })).rejects.toThrow();
    expect(await readdir(folder())).toEqual([]);
    await expect(restoreDiskToFile({ point, diskId: "nope", file })).rejects.toThrow(/disk nope/);
  });

  it("writes blocks one at a time or several at once to the same image; a failed write names its block and leaves no file", async () => {
    const { point, image } = await samplePoint();
    for (const inFlight of [1, 2, 8]) {
      const file = path.join(folder(), `d${inFlight}.img`);
      await restoreDiskToFile({ point, diskId: "d", file, inFlight });
      expect((await readFile(file)).equals(image)).toBe(true);
    }
    const probe = await open(path.join(folder(), "probe"), "w");
    const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> };
    await probe.close();
    const realWrite = proto.write;
    const spy = vi.spyOn(proto, "write").mockImplementation(function (this: unknown, ...a: unknown[]) {
      if (a[3] === 4 * point.blockSize) return Promise.reject(Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" }));
      return realWrite.apply(this, a);
    });
    try {
      const file = path.join(folder(), "failing.img");
      const err = await restoreDiskToFile({ point, diskId: "d", file, inFlight: 4 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RestoreWriteError);
      expect(err).toMatchObject({ diskId: "d", blockIndex: 4 });
      expect((err as Error).message).toMatch(/writing block 4 of disk d failed: EIO/);
      expect((await readdir(folder())).filter((f) => f.startsWith("failing"))).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  it("streams the disk as a raw image (diskImageChunks): every block in order, zeros included, equal to the disk", async () => {
    const { point, image } = await samplePoint();
    const parts: Buffer[] = [];
    for await (const chunk of diskImageChunks(point, "d")) parts.push(Buffer.from(chunk));
    expect(Buffer.concat(parts).equals(image)).toBe(true);
    await expect(diskImageChunks(point, "nope").next()).rejects.toThrow(/disk nope/);
  });

  it("writes the point into a platform disk (restoreDiskToWriter): zero blocks skipped on a new disk, written over an old one", async () => {
    const { point, image } = await samplePoint();
    const target = Buffer.alloc(image.length, 0xee); // an old disk's content
    const writes: number[] = [];
    const writer = {
      capacityBytes: image.length,
      mode: "hotadd" as const,
      async write(offset: number, data: Buffer) {
        writes.push(offset);
        data.copy(target, offset);
      },
      async close() {},
      async abort() {},
    };
    const fresh = await restoreDiskToWriter({ point, diskId: "d", writer, targetIsEmpty: true, inFlight: 3 });
    expect(fresh).toMatchObject({ dataBlocks: 5, zeroBlocksWritten: 0 });
    expect(writes).toHaveLength(5);
    writes.length = 0;
    const over = await restoreDiskToWriter({ point, diskId: "d", writer, targetIsEmpty: false });
    expect(over.zeroBlocksWritten).toBeGreaterThan(0);
    expect(target.equals(image)).toBe(true);
    const failing = { ...writer, write: async () => Promise.reject(new Error("host went away")) };
    await expect(restoreDiskToWriter({ point, diskId: "d", writer: failing, targetIsEmpty: true })).rejects.toThrow(/host went away/);
    await expect(restoreDiskToWriter({ point, diskId: "d", writer: { ...writer, capacityBytes: 512 }, targetIsEmpty: true })).rejects.toThrow(/target disk holds 512/);
  });

  it("opens a record that dedupe stored once only once, and writes it to every block that holds it (file and writer)", async () => {
    const { point, image } = await samplePoint();
    const map = point.blockMap("d");
    const e0 = map.get(0)!;
    const e3 = map.get(3)!;
    expect(e0.kind === "data" && e3.kind === "data" && e0.packId === e3.packId && e0.entryIndex === e3.entryIndex).toBe(true); // block 3 repeats block 0
    const asked: number[][] = [];
    const readBlocks = point.readBlocks.bind(point);
    point.readBlocks = (diskId, indexes, options) => {
      asked.push([...indexes]);
      return readBlocks(diskId, indexes, options);
    };
    const file = path.join(folder(), "d.img");
    const r = await restoreDiskToFile({ point, diskId: "d", file });
    expect(r).toMatchObject({ dataBlocks: 5, bytesWritten: 4 * point.blockSize + 1000 });
    expect((await readFile(file)).equals(image)).toBe(true);
    const target = Buffer.alloc(image.length, 0xee);
    const w = await restoreDiskToWriter({ point, diskId: "d", writer: memoryWriter(target), targetIsEmpty: false });
    expect(w).toMatchObject({ dataBlocks: 5, bytesWritten: image.length });
    expect(target.equals(image)).toBe(true);
    expect(asked).toEqual([[0, 2, 4, 5], [0, 2, 4, 5]]);
  });

  it("writes in parallel up to inFlight, in whatever order the writes complete, and stays within that bound", async () => {
    const { point, image } = await samplePoint();
    const target = Buffer.alloc(image.length, 0xee);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    // Later blocks finish first: each write waits less than the one before it.
    let delay = 40;
    const writer = {
      ...memoryWriter(target),
      async write(offset: number, data: Buffer) {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, (delay = Math.max(0, delay - 8))));
        data.copy(target, offset);
        order.push(offset / point.blockSize);
        running--;
      },
    };
    await restoreDiskToWriter({ point, diskId: "d", writer, targetIsEmpty: false, inFlight: 3 });
    expect(target.equals(image)).toBe(true);
    expect(peak).toBe(3);
    expect(order).not.toEqual([...order].sort((a, b) => a - b)); // completed out of order
  });

  it("a write failing mid-way fails the restore naming the disk and the block, and no later block is started", async () => {
    const { point, image } = await samplePoint();
    const target = Buffer.alloc(image.length);
    const started: number[] = [];
    const writer = {
      ...memoryWriter(target),
      async write(offset: number, data: Buffer) {
        started.push(offset / point.blockSize);
        if (offset === 2 * point.blockSize) throw new Error("datastore full");
        data.copy(target, offset);
      },
    };
    await expect(restoreDiskToWriter({ point, diskId: "d", writer, targetIsEmpty: true, inFlight: 1 })).rejects.toThrow(/block 2 of disk d failed: datastore full/);
    expect(started).toEqual([0, 3, 2]);
  });
});

function memoryWriter(target: Buffer) {
  return {
    capacityBytes: target.length,
    mode: "hotadd" as const,
    async write(offset: number, data: Buffer) {
      data.copy(target, offset);
    },
    async close() {},
    async abort() {},
  };
}
