import { describe, it, expect } from "vitest";
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { generateDek } from "./bundle";
import { DiskFile } from "./disk-file";
import { DiskView } from "./disk-view";
import { useTempFolder } from "./testing/temp-folder";
import { HostError } from "./types";
import { XtsCipher } from "./xts";

const MiB = 1024 * 1024;
const folder = useTempFolder();

async function hostErrorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(HostError);
    return (e as HostError).code;
  }
  throw new Error("expected a HostError");
}

describe("DiskFile: a VMDK on a datastore folder", () => {
  it("creates a descriptor, a sparse flat extent of the capacity and an empty allocation map", async () => {
    const disk = await DiskFile.create(folder(), "web-01", { capacityBytes: 64 * MiB, encrypted: false });
    const descriptor = await readFile(path.join(folder(), "web-01.vmdk"), "utf8");
    expect(descriptor).toMatch(/^# Disk DescriptorFile/);
    expect(descriptor).toContain(`RW ${(64 * MiB) / 512} VMFS "web-01-flat.vmdk"`);
    expect(descriptor).toMatch(/ddb\.uuid = "([0-9a-f]{2} ){7}[0-9a-f]{2}-([0-9a-f]{2} ){7}[0-9a-f]{2}"/);
    expect(descriptor).toContain('ddb.strongroom.encrypted = "false"');
    const flat = await stat(path.join(folder(), "web-01-flat.vmdk"));
    expect(flat.size).toBe(64 * MiB);
    expect(flat.blocks * 512).toBeLessThan(64 * 1024); // sparse: created with truncate
    const map = await readFile(path.join(folder(), "web-01-alloc.map"));
    expect(map.subarray(0, 4).toString()).toBe("SRAM");
    expect(map.length).toBe(16 + 8);
    expect(disk.allocatedBlocks()).toEqual([]);
    await disk.close();
  });

  it("unallocated blocks read as zeros; writes allocate 1 MiB blocks; it all survives a reopen", async () => {
    const disk = await DiskFile.create(folder(), "db", { capacityBytes: 8 * MiB, encrypted: false });
    const view = new DiskView([disk], null);
    const data = randomBytes(8192);
    await view.write(3 * MiB + 4096, data);
    expect(disk.allocatedBlocks()).toEqual([3]);
    expect((await view.read(0, MiB)).every((b) => b === 0)).toBe(true);
    await disk.close();

    const again = await DiskFile.open(folder(), "db");
    expect(again.allocatedBlocks()).toEqual([3]);
    const reader = again.openRaw();
    const block = await reader.read(3 * MiB, MiB);
    expect(block.subarray(4096, 4096 + 8192).equals(data)).toBe(true);
    expect(block.subarray(0, 4096).every((b) => b === 0)).toBe(true);
    const target = Buffer.alloc(8192);
    await reader.readInto(3 * MiB + 4096, target);
    expect(target.equals(data)).toBe(true);
    await again.close();
  });

  it("an encrypted disk stores only ciphertext; raw view = stored bytes, cleartext view decrypts", async () => {
    const dek = generateDek();
    const disk = await DiskFile.create(folder(), "secret", { capacityBytes: 8 * MiB, encrypted: true, keyId: "kek-1", dek });
    expect(await readFile(path.join(folder(), "secret.vmdk"), "utf8")).toContain('ddb.strongroom.keyId = "kek-1"');
    const view = new DiskView([disk], new XtsCipher(dek));
    const text = Buffer.alloc(2 * MiB, "the quick brown fox jumps over the lazy dog\n");
    await view.write(2 * MiB, text);
    await disk.sync();

    const flat = await readFile(path.join(folder(), "secret-flat.vmdk"));
    expect(flat.includes(Buffer.from("the quick brown fox"))).toBe(false);
    const raw = await disk.openRaw().read(2 * MiB, 2 * MiB);
    expect(raw.equals(flat.subarray(2 * MiB, 4 * MiB))).toBe(true);
    expect((await disk.openCleartext(dek).read(2 * MiB, 2 * MiB)).equals(text)).toBe(true);
    await disk.close();
  });

  it("holes of an encrypted disk read as zeros in cleartext (never decrypted), and a partial first write fills its block with encrypted zeros", async () => {
    const dek = generateDek();
    const disk = await DiskFile.create(folder(), "enc", { capacityBytes: 4 * MiB, encrypted: true, dek });
    const view = new DiskView([disk], new XtsCipher(dek));
    await view.write(MiB + 512, Buffer.alloc(512, 0xab));
    const clear = disk.openCleartext(dek);
    expect((await clear.read(0, MiB)).every((b) => b === 0)).toBe(true); // a hole
    const block = await clear.read(MiB, MiB);
    expect(block.subarray(0, 512).every((b) => b === 0)).toBe(true); // encrypted zeros decrypt to zeros
    expect(block.subarray(512, 1024).every((b) => b === 0xab)).toBe(true);
    expect(block.subarray(1024).every((b) => b === 0)).toBe(true);
    const raw = await disk.openRaw().read(MiB, 512);
    expect(raw.every((b) => b === 0)).toBe(false); // stored as ciphertext, not a hole
    await disk.close();
  });

  it("a wrong DEK is CryptoKeyMismatch; no DEK for an encrypted disk is InvalidArgument", async () => {
    const disk = await DiskFile.create(folder(), "enc", { capacityBytes: MiB, encrypted: true, dek: generateDek() });
    expect(() => disk.openCleartext(generateDek())).toThrow(expect.objectContaining({ code: "CryptoKeyMismatch" }));
    expect(() => disk.openCleartext()).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    await disk.close();
  });

  it("reads and writes beyond capacity or off sector boundaries are InvalidArgument", async () => {
    const disk = await DiskFile.create(folder(), "small", { capacityBytes: MiB + 4096, encrypted: false });
    const reader = disk.openRaw();
    expect(await hostErrorCode(reader.read(MiB, 8192))).toBe("InvalidArgument");
    expect(await hostErrorCode(reader.read(100, 512))).toBe("InvalidArgument");
    expect(await hostErrorCode(reader.read(0, 100))).toBe("InvalidArgument");
    expect(await hostErrorCode(reader.read(-512, 512))).toBe("InvalidArgument");
    expect(await hostErrorCode(new DiskView([disk], null).write(MiB + 4096, Buffer.alloc(512)))).toBe("InvalidArgument");
    // the last, partial block is usable up to the capacity
    await new DiskView([disk], null).write(MiB, Buffer.alloc(4096, 1));
    expect((await reader.read(MiB, 4096)).every((b) => b === 1)).toBe(true);
    await reader.close();
    expect(await hostErrorCode(reader.read(0, 512))).toBe("InvalidState");
    await disk.close();
  });

  it("refuses bad capacities, missing disks and damaged allocation maps", async () => {
    await expect(DiskFile.create(folder(), "x", { capacityBytes: 1000, encrypted: false })).rejects.toMatchObject({ code: "InvalidArgument" });
    await expect(DiskFile.open(folder(), "nope")).rejects.toMatchObject({ code: "NotFound" });
    const disk = await DiskFile.create(folder(), "d", { capacityBytes: MiB, encrypted: false });
    await disk.close();
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path.join(folder(), "d-alloc.map"), "garbage");
    await expect(DiskFile.open(folder(), "d")).rejects.toMatchObject({ code: "FileFault" });
  });
});
