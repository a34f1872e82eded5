import { describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { CBT_BLOCK_SIZE, HostError } from "./data-plane";
import { useTempFolder } from "./data-plane/testing/temp-folder";
import { LabConnector } from "./lab-connector";
import { SwitchableKeySources, isNative, pickVm, proxyFor, rejection } from "./testing/lab-fixtures";

const MiB = 1024 * 1024;
const folder = useTempFolder("strongroom-lab-backup-");

const nativeVm = pickVm("natively encrypted VM", (v) => v.encrypted && !v.vtpm && isNative(v) && v.powerState === "poweredOn");
const kmsVm = pickVm("KMS-encrypted VM", (v) => v.encrypted && !v.vtpm && !isNative(v));
const plainVm = pickVm("plain VM", (v) => !v.encrypted && !v.guestOsEncrypted && v.powerState === "poweredOn");

async function hostError(p: Promise<unknown>): Promise<HostError> {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(HostError);
  return e as HostError;
}

const changedBytes = (areas: { length: number }[]) => areas.reduce((s, a) => s + a.length, 0);

describe("LabConnector backup groundwork: openDiskForBackup, queryChangedAreas, releaseSnapshot", () => {
  it("reads the same cleartext through HotAdd, NBD and NBDSSL; SAN is refused for an encrypted disk (TRN-2)", async () => {
    const c = new LabConnector({ folder: folder(), diskDataMiB: 8 });
    await c.guestWrites(nativeVm.externalId, 1, 1);
    const expected = await (await c.labVm(nativeVm.externalId)).disk(2000).read(0, 8 * MiB);
    const proxy = proxyFor({ keyProviderExternalId: nativeVm.keyProviderExternalId });
    const vmExternalId = nativeVm.externalId;

    const san = await hostError(c.openDiskForBackup({ vmExternalId, deviceKey: 2000, mode: "san", proxy }));
    expect(san.code).toBe("TransportNotSupported");
    expect((await c.labVm(vmExternalId)).config.snapshot).toBeNull(); // refused before a snapshot was taken

    let snapshotId: string | undefined;
    for (const mode of ["hotadd", "nbd", "nbdssl"] as const) {
      const disk = await c.openDiskForBackup({ vmExternalId, deviceKey: 2000, mode, proxy });
      expect(disk.reader.mode).toBe(mode);
      expect(disk.reader.capacityBytes).toBe(nativeVm.disks[0].capacityBytes);
      expect((await disk.reader.read(0, 8 * MiB)).equals(expected)).toBe(true);
      snapshotId ??= disk.snapshotId;
      expect(disk.snapshotId).toBe(snapshotId); // one snapshot, reused while it exists
      await disk.reader.close();
    }
    // HotAdd needs a proxy encrypted with the disk's key provider (TRN-3).
    const wrong = await hostError(c.openDiskForBackup({ vmExternalId, deviceKey: 2000, mode: "hotadd", proxy: proxyFor({ keyProviderExternalId: "kp-ams-acme" }) }));
    expect(wrong.code).toBe("CryptoKeyMismatch");
    await c.releaseSnapshot(vmExternalId);
    await c.close();
  });

  it("SAN reads an unencrypted disk's stored bytes, which are its cleartext", async () => {
    const c = new LabConnector({ folder: folder(), diskDataMiB: 4 });
    await c.guestWrites(plainVm.externalId, 1, 2);
    const expected = await (await c.labVm(plainVm.externalId)).disk(2000).read(0, 4 * MiB);
    const disk = await c.openDiskForBackup({ vmExternalId: plainVm.externalId, deviceKey: 2000, mode: "san", proxy: proxyFor({ kind: "physical" }) });
    expect((await disk.reader.read(0, 4 * MiB)).equals(expected)).toBe(true);
    await disk.reader.close();
    await c.close();
  });

  it("queryChangedAreas since the previous backup's change id returns the blocks the guest rewrote (INV-4)", async () => {
    const c = new LabConnector({ folder: folder(), diskDataMiB: 16 });
    const proxy = proxyFor();
    const vmExternalId = plainVm.externalId;
    const filled = await c.guestWrites(vmExternalId, 1, 1);
    const perDisk = filled.changedBlocks / plainVm.disks.length; // 14 of 16 blocks written

    const full = await c.openDiskForBackup({ vmExternalId, deviceKey: 2000, mode: "nbd", proxy });
    expect(changedBytes(await c.queryChangedAreas({ vmExternalId, deviceKey: 2000, changeId: "*" }))).toBe(perDisk * MiB);
    await full.reader.close();
    await c.releaseSnapshot(vmExternalId);

    const rewrite = await c.guestWrites(vmExternalId, 0.25, 2);
    expect(rewrite.changedBlocks).toBe(Math.round(0.25 * perDisk) * plainVm.disks.length);
    const next = await c.openDiskForBackup({ vmExternalId, deviceKey: 2000, mode: "nbd", proxy });
    expect(next.changeId).not.toBe(full.changeId);
    const areas = await c.queryChangedAreas({ vmExternalId, deviceKey: 2000, changeId: full.changeId });
    expect(changedBytes(areas)).toBe(Math.round(0.25 * perDisk) * CBT_BLOCK_SIZE);
    // Writes after the snapshot do not change what the snapshot reads.
    const before = await next.reader.read(0, 16 * MiB);
    await c.guestWrites(vmExternalId, 1, 3);
    expect((await next.reader.read(0, 16 * MiB)).equals(before)).toBe(true);

    expect((await hostError(c.releaseSnapshot(vmExternalId))).code).toBe("InvalidState"); // a reader is open
    await next.reader.close();
    await c.releaseSnapshot(vmExternalId);
    await c.releaseSnapshot(vmExternalId); // nothing left: a no-op
    expect((await hostError(c.queryChangedAreas({ vmExternalId, deviceKey: 2000, changeId: "*" }))).code).toBe("NotFound");
    await c.close();
  });

  it("a powered-off encrypted VM: keys are fetched for the read and dropped again; no KMS, no snapshot (VME-3)", async () => {
    const keys = new SwitchableKeySources(folder());
    const c = new LabConnector({ folder: folder(), diskDataMiB: 4, keySources: keys });
    const vmExternalId = kmsVm.externalId;
    if ((await c.vmRuntime(vmExternalId)).powerState !== "poweredOn") await c.powerOn(vmExternalId);
    await c.guestWrites(vmExternalId, 1, 1);
    await c.powerOff(vmExternalId);
    const proxy = proxyFor();

    keys.kmsOf(kmsVm.keyProviderExternalId!).unreachable = true;
    expect((await hostError(c.openDiskForBackup({ vmExternalId, deviceKey: 2000, mode: "nbdssl", proxy }))).code).toBe("KeyProviderUnavailable");
    const labVm = await c.labVm(vmExternalId);
    expect(labVm.config.snapshot).toBeNull();

    keys.kmsOf(kmsVm.keyProviderExternalId!).unreachable = false;
    const disk = await c.openDiskForBackup({ vmExternalId, deviceKey: 2000, mode: "nbdssl", proxy });
    expect(labVm.locked).toBe(true); // the host forgot the keys; the open session keeps its own
    expect((await disk.reader.read(0, 4 * MiB)).includes(Buffer.from("GET /api/"))).toBe(true);
    await disk.reader.close();
    await c.releaseSnapshot(vmExternalId);
    await c.close();
  });

  it("two processes on one lab folder: each sees the other's changes; guest writes land above the snapshot", async () => {
    const server = new LabConnector({ folder: folder(), diskDataMiB: 4 });
    const cli = new LabConnector({ folder: folder(), diskDataMiB: 4 }); // stands in for `npm run lab`
    const vmExternalId = plainVm.externalId;
    await server.guestWrites(vmExternalId, 1, 1);
    expect((await cli.vmRuntime(vmExternalId)).disks[0].allocatedBytes).toBe(4 * MiB); // the CLI has the VM open now
    const backup = await server.openDiskForBackup({ vmExternalId, deviceKey: 2000, mode: "nbd", proxy: proxyFor() });
    const frozen = await backup.reader.read(0, 4 * MiB);

    await cli.guestWrites(vmExternalId, 1, 2); // must write into the snapshot's delta, not the frozen base
    expect((await backup.reader.read(0, 4 * MiB)).equals(frozen)).toBe(true);
    const live = await (await cli.labVm(vmExternalId)).disk(2000).read(0, 4 * MiB);
    expect(live.equals(frozen)).toBe(false);

    await backup.reader.close();
    await server.releaseSnapshot(vmExternalId);
    // The server reopens the VM the CLI changed: it sees the merged content and the CLI's power-off.
    await cli.powerOff(vmExternalId);
    expect((await server.vmRuntime(vmExternalId)).powerState).toBe("poweredOff");
    expect((await server.inventory()).vms.find((v) => v.externalId === vmExternalId)!.powerState).toBe("poweredOff");
    await server.powerOn(vmExternalId);
    expect((await (await server.labVm(vmExternalId)).disk(2000).read(0, 4 * MiB)).equals(live)).toBe(true);
    await server.close();
    await cli.close();
  });

  it("makes the host's TLS identity once, in the lab folder", async () => {
    const c = new LabConnector({ folder: folder(), diskDataMiB: 1 });
    const disk = await c.openDiskForBackup({ vmExternalId: plainVm.externalId, deviceKey: 2000, mode: "nbdssl", proxy: proxyFor() });
    await disk.reader.close();
    await c.releaseSnapshot(plainVm.externalId);
    await c.close();
    expect((await readdir(path.join(folder(), "host-tls"))).sort()).toEqual(["ca.crt", "host.crt", "host.key"]);
  });
});
