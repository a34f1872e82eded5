import { describe, it, expect } from "vitest";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { inspectBundle } from "./bundle";
import { LabDataPlane } from "./lab-data-plane";
import { hasVtpm, isNvramEncrypted } from "./nvram";
import { MemoryKeySource } from "./testing/memory-key-source";
import { useTempFolder } from "./testing/temp-folder";
import { HostError, KeyProviderError } from "./types";
import { changeBlocks, fillDisk } from "./workload";

const MiB = 1024 * 1024;
const folder = useTempFolder();

async function hostError(p: Promise<unknown> | (() => unknown)): Promise<HostError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(HostError);
    return e as HostError;
  }
  throw new Error("expected a HostError");
}

async function encryptedVm() {
  const kms = new MemoryKeySource("kp-prod-acme");
  const lab = new LabDataPlane(folder());
  const vm = await lab.createVm({
    vmId: "vm-1042",
    name: "web-01",
    homeDatastore: "ds-prod-vmfs-01",
    disks: [
      { deviceKey: 2000, capacityBytes: 16 * MiB },
      { deviceKey: 2001, capacityBytes: 8 * MiB, datastore: "ds-prod-vsan-01" },
    ],
    vtpm: true,
    encryption: { source: kms },
  });
  return { kms, lab, vm };
}

describe("LabVm and LabDataPlane", () => {
  it("creates an encrypted VM's files like vSphere: .vmx with keyId and bundle, encrypted NVRAM, disks on their datastores", async () => {
    const { kms, lab, vm } = await encryptedVm();
    const home = path.join(folder(), "datastores", "ds-prod-vmfs-01", "web-01");
    expect((await readdir(home)).sort()).toEqual(["web-01-alloc.map", "web-01-ctk.vmdk", "web-01-flat.vmdk", "web-01.nvram", "web-01.vmdk", "web-01.vmx"]);
    expect(await readdir(path.join(folder(), "datastores", "ds-prod-vsan-01", "web-01"))).toContain("web-01_1-flat.vmdk");
    const vmx = await readFile(path.join(home, "web-01.vmx"), "utf8");
    const info = vm.encryptionInfo();
    expect(info).toMatchObject({ encrypted: true, keyProviderId: "kp-prod-acme" });
    expect(kms.keys.has(info.keyId!)).toBe(true);
    expect(vmx).toContain(`encryption.keyId = "${info.keyId}"`);
    expect(vmx).toContain(`encryption.bundle = "${info.encryptionBundle}"`);
    expect(inspectBundle(info.encryptionBundle!).deviceKeys).toEqual([2000, 2001]);
    expect(isNvramEncrypted(await vm.readNvramFile())).toBe(true);
    expect(hasVtpm(await vm.readNvram())).toBe(true);

    await fillDisk(vm.disk(2000), { zeros: 0, random: 0, repeated: 0, text: 1 }, 1);
    const flat = await readFile(path.join(home, "web-01-flat.vmdk"));
    expect(flat.includes(Buffer.from("GET /api/"))).toBe(false);
    expect((await vm.disk(2000).read(0, MiB)).includes(Buffer.from("GET /api/"))).toBe(true);
    await lab.close();
  });

  it("backs up like VADP: snapshot → read frozen cleartext → remove; later only the changed blocks", async () => {
    const { lab, vm } = await encryptedVm();
    const disk = vm.disk(2000);
    await fillDisk(disk, undefined, 5);
    const full = await vm.createSnapshot("backup-1");
    expect((await readFile(path.join(folder(), "datastores/ds-prod-vmfs-01/web-01/web-01.vmx"), "utf8"))).toContain(`snapshot.id = "${full.id}"`);
    const changeId = full.disks.find((d) => d.deviceKey === 2000)!.changeId;
    const reader = vm.openSnapshotDisk(full.id, 2000, "cleartext");
    const image = await reader.read(0, 16 * MiB);
    await changeBlocks(disk, 0.25, "while-reading"); // the guest keeps writing
    expect((await reader.read(0, 16 * MiB)).equals(image)).toBe(true);
    expect(vm.queryChangedAreas(full.id, 2000, "*").reduce((s, a) => s + a.length, 0)).toBe(disk.baseFile.allocatedBlocks().length * MiB);
    expect((await hostError(vm.createSnapshot("second"))).code).toBe("InvalidState");
    expect((await hostError(vm.removeSnapshot(full.id))).code).toBe("InvalidState"); // reader still open
    await reader.close();
    await vm.removeSnapshot(full.id);
    expect(vm.config.snapshot).toBeNull();

    const changed = await changeBlocks(disk, 0.125, "day-2");
    const incr = await vm.createSnapshot("backup-2");
    const areas = vm.queryChangedAreas(incr.id, 2000, changeId);
    const reported = areas.flatMap((a) => Array.from({ length: a.length / MiB }, (_, i) => a.start / MiB + i));
    for (const b of changed) expect(reported).toContain(b);
    await vm.removeSnapshot(incr.id);
    await lab.close();
  });

  it("reopened, an encrypted VM is locked until its key provider answers (VME-3); raw files stay readable", async () => {
    const { kms, lab, vm } = await encryptedVm();
    await fillDisk(vm.disk(2001), undefined, 9);
    const expected = await vm.disk(2001).read(0, 8 * MiB);
    await lab.close();

    const again = new LabDataPlane(folder());
    const vm2 = await again.vm("vm-1042");
    expect(vm2.locked).toBe(true);
    expect((await hostError(() => vm2.disk(2001).read(0, MiB))).code).toBe("InvalidState");
    const snap = await vm2.createSnapshot("locked backup"); // snapshots need no keys
    expect((await hostError(() => vm2.openSnapshotDisk(snap.id, 2001, "cleartext"))).code).toBe("KeyProviderUnavailable");
    const raw = vm2.openSnapshotDisk(snap.id, 2001, "raw");
    expect((await raw.read(0, 8 * MiB)).equals(expected)).toBe(false);
    await raw.close();

    kms.unreachable = true;
    const err = await hostError(vm2.unlock(kms));
    expect(err.code).toBe("KeyProviderUnavailable");
    expect((err.cause as KeyProviderError).code).toBe("unreachable");
    expect(vm2.locked).toBe(true);

    kms.unreachable = false;
    await vm2.unlock(kms);
    const clear = vm2.openSnapshotDisk(snap.id, 2001, "cleartext");
    expect((await clear.read(0, 8 * MiB)).equals(expected)).toBe(true);
    await clear.close();
    await vm2.removeSnapshot(snap.id);
    await again.close();
  });

  it("a KEK that does not open the bundle is CryptoKeyMismatch", async () => {
    const { kms, lab, vm } = await encryptedVm();
    const keyId = vm.encryptionInfo().keyId!;
    await lab.close();
    const impostor = new MemoryKeySource("kp-prod-acme");
    impostor.keys.set(keyId, Buffer.alloc(32, 1));
    const vm2 = await new LabDataPlane(folder()).vm("vm-1042");
    expect((await hostError(vm2.unlock(impostor))).code).toBe("CryptoKeyMismatch");
    await vm2.unlock(kms);
    await vm2.close();
  });

  it("restores with the original keyId, bundle and NVRAM (RST-5): the copied ciphertext and NVRAM open with the same keys", async () => {
    const { kms, lab, vm } = await encryptedVm();
    await fillDisk(vm.disk(2000), undefined, 11);
    const source = vm.disk(2000).openLive("raw");
    const { encryptionBundle } = vm.encryptionInfo();
    const restored = await lab.createVm({
      vmId: "vm-2001",
      name: "web-01-restored",
      homeDatastore: "ds-dr-vmfs-01",
      disks: [{ deviceKey: 2000, capacityBytes: 16 * MiB }, { deviceKey: 2001, capacityBytes: 8 * MiB }],
      vtpm: true,
      encryption: { source: kms, bundle: encryptionBundle! },
      nvramFile: await vm.readNvramFile(),
    });
    expect(restored.encryptionInfo().keyId).toBe(vm.encryptionInfo().keyId);
    expect(restored.encryptionInfo().encryptionBundle).toBe(encryptionBundle);
    expect((await restored.readNvram()).equals(await vm.readNvram())).toBe(true);
    // same DEK: the raw ciphertext copied block by block decrypts to the same content
    const target = restored.disk(2000);
    for (const b of vm.disk(2000).allocatedBlocks()) {
      const block = await source.read(b * MiB, MiB);
      await target.baseFile.writeStored(b * MiB, block);
      await target.baseFile.markAllocated(b);
    }
    expect((await target.read(0, 16 * MiB)).equals(await vm.disk(2000).read(0, 16 * MiB))).toBe(true);
    await source.close();
    await lab.close();
  });

  it("NotFound for a VM without files, a missing disk or snapshot; InvalidArgument for a vTPM without encryption", async () => {
    const { lab, vm } = await encryptedVm();
    expect((await hostError(lab.vm("vm-9999"))).code).toBe("NotFound");
    expect((await hostError(() => vm.disk(2005))).code).toBe("NotFound");
    expect((await hostError(() => vm.openSnapshotDisk("snapshot-0", 2000, "raw"))).code).toBe("NotFound");
    const snap = await vm.createSnapshot("s");
    expect((await hostError(() => vm.openSnapshotDisk(snap.id, 2005, "raw"))).code).toBe("NotFound");
    expect((await hostError(() => vm.queryChangedAreas(snap.id, 2000, "bogus"))).code).toBe("FileFault");
    expect((await hostError(lab.createVm({ vmId: "vm-1", name: "t", homeDatastore: "ds", disks: [], vtpm: true }))).code).toBe("InvalidArgument");
    expect((await hostError(lab.createVm({ vmId: "vm-1042", name: "dup", homeDatastore: "ds", disks: [] }))).code).toBe("InvalidState");
    await lab.close();
  });

  it("an unencrypted VM: plain NVRAM, cleartext = raw, no keys anywhere; removeVm deletes its files", async () => {
    const lab = new LabDataPlane(folder());
    const vm = await lab.createVm({ vmId: "vm-7", name: "plain", homeDatastore: "ds-prod-nfs-01", disks: [{ deviceKey: 2000, capacityBytes: 4 * MiB }] });
    expect(vm.encryptionInfo()).toEqual({ encrypted: false, keyProviderId: null, keyId: null, encryptionBundle: null });
    expect(isNvramEncrypted(await vm.readNvramFile())).toBe(false);
    await fillDisk(vm.disk(2000), undefined, 2);
    const snap = await vm.createSnapshot("s");
    const raw = vm.openSnapshotDisk(snap.id, 2000, "raw");
    const clear = vm.openSnapshotDisk(snap.id, 2000, "cleartext");
    expect((await raw.read(0, 4 * MiB)).equals(await clear.read(0, 4 * MiB))).toBe(true);
    await raw.close();
    await clear.close();
    await lab.removeVm("vm-7");
    expect(await lab.vmIds()).toEqual([]);
    expect(await readdir(path.join(folder(), "datastores", "ds-prod-nfs-01"))).toEqual([]);
  });
});
