import { describe, it, expect } from "vitest";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { generateDek } from "./bundle";
import { consolidateDisk, createVmSnapshot, openSnapshotReader, removeVmSnapshot, snapshotChangedAreas, snapshotDisk } from "./snapshot";
import { useTempFolder } from "./testing/temp-folder";
import { VirtualDisk } from "./virtual-disk";

const MiB = 1024 * 1024;
const folder = useTempFolder();

async function encryptedDisk(name = "web-01", capacity = 8 * MiB) {
  const dek = generateDek();
  const disk = await VirtualDisk.create(folder(), name, { capacityBytes: capacity, encrypted: true, keyId: "kek", dek });
  disk.unlock(dek);
  return { disk, dek };
}

describe("snapshots", () => {
  it("freeze the disk while guest writes continue; removing merges the delta (encrypted disk)", async () => {
    const { disk } = await encryptedDisk();
    const before = randomBytes(2 * MiB);
    await disk.write(0, before);
    const { changeId, deltaName } = await snapshotDisk(disk);
    expect(changeId).toBe(`${disk.tracker.uuid}/2`);
    expect(deltaName).toBe("web-01-000001");
    expect((await readdir(folder())).sort()).toEqual(
      ["web-01-000001-alloc.map", "web-01-000001-delta.vmdk", "web-01-000001.vmdk", "web-01-alloc.map", "web-01-ctk.vmdk", "web-01-flat.vmdk", "web-01.vmdk"],
    );

    const after = Buffer.alloc(4096, 0x5a);
    await disk.write(MiB + 8192, after); // partial write: block 1 copied up from the base's ciphertext
    await disk.write(5 * MiB, Buffer.alloc(MiB, 0x77)); // a block the base never had

    const frozen = openSnapshotReader(disk, "cleartext");
    expect((await frozen.read(0, 2 * MiB)).equals(before)).toBe(true);
    expect((await frozen.read(5 * MiB, MiB)).every((b) => b === 0)).toBe(true);
    const live = await disk.read(0, 2 * MiB);
    expect(live.subarray(MiB + 8192, MiB + 8192 + 4096).equals(after)).toBe(true);
    expect(live.subarray(0, MiB + 8192).equals(before.subarray(0, MiB + 8192))).toBe(true);
    expect(live.subarray(MiB + 12288).equals(before.subarray(MiB + 12288))).toBe(true);

    // CBT against the snapshot: since its own id nothing in the frozen content changed…
    expect(snapshotChangedAreas(disk, "*")).toEqual([{ start: 0, length: 2 * MiB }]);
    // …and writes after it are reported since its id (over-reporting past the snapshot is safe)
    expect(snapshotChangedAreas(disk, changeId)).toEqual([
      { start: MiB, length: MiB },
      { start: 5 * MiB, length: MiB },
    ]);

    await expect(consolidateDisk(disk)).rejects.toMatchObject({ code: "InvalidState" }); // a reader is open
    await frozen.close();
    const delta = await consolidateDisk(disk);
    await delta!.remove();
    expect(disk.delta).toBeNull();
    expect((await readdir(folder())).some((f) => f.includes("000001"))).toBe(false);
    const merged = await disk.read(0, 6 * MiB);
    expect(merged.subarray(0, 2 * MiB).equals(live)).toBe(true);
    expect(merged.subarray(5 * MiB).every((b) => b === 0x77)).toBe(true);
    await disk.close();
  });

  it("a raw snapshot reader sees ciphertext only; the snapshot is readable without the key", async () => {
    const { disk, dek } = await encryptedDisk("db");
    await disk.write(0, Buffer.alloc(MiB, "secret "));
    await snapshotDisk(disk);
    disk.lock();
    const raw = openSnapshotReader(disk, "raw");
    const bytes = await raw.read(0, MiB);
    expect(bytes.includes(Buffer.from("secret"))).toBe(false);
    expect(() => openSnapshotReader(disk, "cleartext")).toThrow(expect.objectContaining({ code: "InvalidState" }));
    await raw.close();
    disk.unlock(dek);
    const clear = openSnapshotReader(disk, "cleartext");
    expect((await clear.read(0, 512)).subarray(0, 7).toString()).toBe("secret ");
    await clear.close();
    await disk.close();
  });

  it("a snapshot cuts the write queue cleanly: writes queued before it are in it, writes after are not", async () => {
    const disk = await VirtualDisk.create(folder(), "busy", { capacityBytes: 16 * MiB, encrypted: false });
    const writes: Promise<void>[] = [];
    for (let b = 0; b < 6; b++) writes.push(disk.write(b * MiB, Buffer.alloc(MiB, b + 1)));
    const snap = snapshotDisk(disk);
    for (let b = 6; b < 12; b++) writes.push(disk.write(b * MiB, Buffer.alloc(MiB, b + 1)));
    writes.push(disk.write(0, Buffer.alloc(MiB, 0xee))); // rewrites block 0 after the snapshot
    await Promise.all([...writes, snap]);
    const frozen = openSnapshotReader(disk, "cleartext");
    const content = await frozen.read(0, 12 * MiB);
    for (let b = 0; b < 12; b++) expect(content[b * MiB]).toBe(b < 6 ? b + 1 : 0);
    expect((await disk.read(0, 512))[0]).toBe(0xee);
    await frozen.close();
    await disk.close();
  });

  it("a delta survives a reopen (the VM configuration names it) and merges afterwards", async () => {
    const disk = await VirtualDisk.create(folder(), "r", { capacityBytes: 4 * MiB, encrypted: false });
    await disk.write(0, Buffer.alloc(MiB, 1));
    const { deltaName } = await snapshotDisk(disk);
    await disk.write(0, Buffer.alloc(512, 2));
    await disk.close();
    const again = await VirtualDisk.open(folder(), "r", deltaName);
    expect((await again.read(0, 1024)).subarray(0, 512).every((b) => b === 2)).toBe(true);
    const frozen = openSnapshotReader(again, "cleartext");
    expect((await frozen.read(0, 512)).every((b) => b === 1)).toBe(true);
    await frozen.close();
    await (await consolidateDisk(again))!.remove();
    expect((await again.read(0, 1024)).subarray(0, 512).every((b) => b === 2)).toBe(true);
    expect((await again.read(0, 1024)).subarray(512).every((b) => b === 1)).toBe(true);
    await again.close();
  });

  it("VM snapshots: one at a time (InvalidState), removal refused while read, then merged and persisted", async () => {
    const a = await VirtualDisk.create(folder(), "vm-a", { capacityBytes: 2 * MiB, encrypted: false });
    const b = await VirtualDisk.create(folder(), "vm-a_1", { capacityBytes: 2 * MiB, encrypted: false });
    const disks = new Map([
      [2000, a],
      [2001, b],
    ]);
    const snap = await createVmSnapshot(disks, "backup", null);
    expect(snap.id).toMatch(/^snapshot-[0-9a-f]{8}$/);
    expect(snap.disks.map((d) => d.deviceKey)).toEqual([2000, 2001]);
    await expect(createVmSnapshot(disks, "second", snap)).rejects.toMatchObject({ code: "InvalidState" });

    const reader = openSnapshotReader(b, "raw");
    let persisted = false;
    await expect(removeVmSnapshot(disks, async () => void (persisted = true))).rejects.toMatchObject({ code: "InvalidState" });
    expect(persisted).toBe(false);
    await reader.close();
    await removeVmSnapshot(disks, async () => void (persisted = true));
    expect(persisted).toBe(true);
    expect(a.delta).toBeNull();
    expect((await readdir(folder())).some((f) => f.includes("000001"))).toBe(false);
    await a.close();
    await b.close();
  });

  it("if one disk cannot be snapshotted, the others are rolled back", async () => {
    const a = await VirtualDisk.create(folder(), "x", { capacityBytes: MiB, encrypted: false });
    const b = await VirtualDisk.create(folder(), "y", { capacityBytes: MiB, encrypted: false });
    await snapshotDisk(b); // b already has a delta: the VM snapshot fails on it
    await expect(createVmSnapshot(new Map([[2000, a], [2001, b]]), "s", null)).rejects.toMatchObject({ code: "InvalidState" });
    expect(a.delta).toBeNull();
    await a.close();
    await b.close();
  });

  it("a live reader follows the snapshot coming and going; no snapshot reader starts during a merge", async () => {
    const { disk, dek } = await encryptedDisk("live", 4 * MiB);
    await disk.write(0, Buffer.alloc(MiB, 1));
    const live = disk.openLive("cleartext");
    await snapshotDisk(disk);
    await disk.write(0, Buffer.alloc(512, 2));
    expect((await live.read(0, 512))[0]).toBe(2); // sees the delta
    const merging = consolidateDisk(disk);
    for (let i = 0; i < 5 && !disk.consolidating; i++) await Promise.resolve(); // the merge has started (no I/O can finish in microtasks)
    expect(disk.consolidating).toBe(true);
    expect(() => openSnapshotReader(disk, "raw")).toThrow(expect.objectContaining({ code: "InvalidState" }));
    await (await merging)!.remove();
    expect((await live.read(0, 1024)).subarray(0, 512).every((b) => b === 2)).toBe(true); // now from the base
    disk.lock();
    await expect(live.read(0, 512)).rejects.toMatchObject({ code: "InvalidState" });
    disk.unlock(dek);
    await live.close();
    await disk.close();
  });

  it("a delta whose parent CID does not match its base is refused (FileFault)", async () => {
    const a = await VirtualDisk.create(folder(), "a", { capacityBytes: MiB, encrypted: false });
    const b = await VirtualDisk.create(folder(), "b", { capacityBytes: MiB, encrypted: false });
    const { deltaName } = await snapshotDisk(b);
    await a.close();
    await b.close();
    await expect(VirtualDisk.open(folder(), "a", deltaName)).rejects.toMatchObject({ code: "FileFault" });
  });
});
