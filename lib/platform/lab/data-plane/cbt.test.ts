import { describe, it, expect } from "vitest";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ChangeTracker, blocksToAreas } from "./cbt";
import { useTempFolder } from "./testing/temp-folder";
import { HostError } from "./types";
import { VirtualDisk } from "./virtual-disk";

const MiB = 1024 * 1024;
const folder = useTempFolder();

function fileFault(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HostError);
    expect((e as HostError).code).toBe("FileFault");
    return;
  }
  throw new Error("expected FileFault");
}

describe("changed block tracking", () => {
  it("change ids are <uuid>/<epoch>; a query returns merged areas of blocks changed since the id", async () => {
    const disk = await VirtualDisk.create(folder(), "app", { capacityBytes: 16 * MiB, encrypted: false });
    const start = disk.tracker.currentChangeId();
    expect(start).toMatch(/^[0-9a-f-]{36}\/1$/);
    await disk.write(0, Buffer.alloc(2 * MiB, 1)); // blocks 0, 1
    await disk.write(5 * MiB + 512, Buffer.alloc(512, 2)); // block 5
    expect(disk.queryChangedAreas(start)).toEqual([
      { start: 0, length: 2 * MiB },
      { start: 5 * MiB, length: MiB },
    ]);

    const atSnapshot = await disk.tracker.closeEpoch();
    expect(atSnapshot).toBe(`${disk.tracker.uuid}/2`);
    await disk.write(6 * MiB, Buffer.alloc(MiB, 3)); // block 6
    await disk.write(MiB, Buffer.alloc(512, 4)); // block 1 again
    expect(disk.queryChangedAreas(atSnapshot)).toEqual([
      { start: MiB, length: MiB },
      { start: 6 * MiB, length: MiB },
    ]);
    // the older id still sees everything since it
    expect(disk.tracker.changedBlocks(start)).toEqual([0, 1, 5, 6]);
    await disk.close();
  });

  it('"*" returns every allocated area; a startOffset clips the answer', async () => {
    const disk = await VirtualDisk.create(folder(), "app", { capacityBytes: 8 * MiB, encrypted: false });
    await disk.write(2 * MiB, Buffer.alloc(3 * MiB, 9));
    await disk.write(7 * MiB, Buffer.alloc(4096, 9));
    expect(disk.queryChangedAreas("*")).toEqual([
      { start: 2 * MiB, length: 3 * MiB },
      { start: 7 * MiB, length: MiB },
    ]);
    expect(disk.queryChangedAreas("*", 3 * MiB)).toEqual([
      { start: 3 * MiB, length: 2 * MiB },
      { start: 7 * MiB, length: MiB },
    ]);
    await disk.close();
  });

  it("reset makes every older change id unknown (FileFault), as do malformed, foreign and future ids", async () => {
    const disk = await VirtualDisk.create(folder(), "a", { capacityBytes: 4 * MiB, encrypted: false });
    const other = await VirtualDisk.create(folder(), "b", { capacityBytes: 4 * MiB, encrypted: false });
    const before = await disk.tracker.closeEpoch();
    fileFault(() => disk.queryChangedAreas(other.tracker.currentChangeId()));
    fileFault(() => disk.queryChangedAreas("not-a-change-id"));
    fileFault(() => disk.queryChangedAreas(`${disk.tracker.uuid}/0`));
    fileFault(() => disk.queryChangedAreas(`${disk.tracker.uuid}/99`));
    fileFault(() => disk.queryChangedAreas(`${disk.tracker.uuid}/2 `));

    const fresh = await disk.resetChangeTracking();
    expect(fresh).not.toBe(before);
    fileFault(() => disk.queryChangedAreas(before));
    await disk.write(0, Buffer.alloc(512, 1));
    expect(disk.queryChangedAreas(fresh)).toEqual([{ start: 0, length: MiB }]);
    await disk.close();
    await other.close();
  });

  it("the ctk file persists epochs and records across a reopen; a damaged one restarts tracking under a new uuid", async () => {
    const disk = await VirtualDisk.create(folder(), "p", { capacityBytes: 4 * MiB, encrypted: false });
    const id = await disk.tracker.closeEpoch();
    await disk.write(3 * MiB, Buffer.alloc(512, 1));
    await disk.close();
    const ctk = await readFile(path.join(folder(), "p-ctk.vmdk"));
    expect(ctk.subarray(0, 4).toString()).toBe("SRCT");
    expect(ctk.length).toBe(36 + 4 * 4);

    const again = await VirtualDisk.open(folder(), "p");
    expect(again.tracker.currentChangeId()).toBe(id);
    expect(again.queryChangedAreas(id)).toEqual([{ start: 3 * MiB, length: MiB }]);
    await again.close();

    await writeFile(path.join(folder(), "p-ctk.vmdk"), randomBytes(10));
    const damaged = await VirtualDisk.open(folder(), "p");
    expect(damaged.tracker.startedFresh).toBe(true);
    fileFault(() => damaged.queryChangedAreas(id));
    await damaged.close();
  });

  it("a refused write records no change", async () => {
    const disk = await VirtualDisk.create(folder(), "r", { capacityBytes: 2 * MiB, encrypted: false });
    const id = disk.tracker.currentChangeId();
    await expect(disk.write(2 * MiB, Buffer.alloc(512))).rejects.toMatchObject({ code: "InvalidArgument" });
    expect(disk.queryChangedAreas(id)).toEqual([]);
    await disk.close();
  });

  it("blocksToAreas merges neighbours and clips the last block to the capacity", () => {
    expect(blocksToAreas([0, 1, 2, 4, 6, 7], 7 * MiB + 512)).toEqual([
      { start: 0, length: 3 * MiB },
      { start: 4 * MiB, length: MiB },
      { start: 6 * MiB, length: MiB + 512 },
    ]);
    expect(blocksToAreas([], MiB)).toEqual([]);
  });

  it("ChangeTracker.open on a missing file starts fresh", async () => {
    const t = await ChangeTracker.open(path.join(folder(), "missing-ctk.vmdk"), 3);
    expect(t.startedFresh).toBe(true);
    expect(t.currentChangeId()).toMatch(/\/1$/);
    await t.close();
  });
});
