import { describe, expect, it } from "vitest";
import { useTempFolder } from "../../platform/lab/data-plane/testing/temp-folder";
import { isNative, pickVm } from "../../platform/lab/testing/lab-fixtures";
import { backupVm, backupVms, diskIdOf, type BackupVmOptions, type VmBackupHost } from "./backup-vm";
import { HostError } from "../../platform/lab/data-plane/types";
import { backupHostOf, candidate, diskDifferences, labAndRepository } from "./testing";

const folder = useTempFolder("strongroom-pipeline-vm-");
const nativeVm = pickVm("natively encrypted VM", (v) => v.encrypted && !v.vtpm && isNative(v) && v.powerState === "poweredOn");
const plainVm = pickVm("plain VM with two disks", (v) => !v.encrypted && !v.guestOsEncrypted && v.powerState === "poweredOn" && v.disks.length >= 2);

describe("backupVm (BKP-2, BKP-4, BKP-5)", () => {
  it("backs up an encrypted VM over HotAdd, keeps keyId, bundle, NVRAM, policies and disk key ids, then runs incrementally", async () => {
    const lab = await labAndRepository(folder());
    const { connector: c } = lab;
    await c.guestWrites(nativeVm.externalId, 1, 1);
    const vm = await lab.inventoryVm(nativeVm.externalId);
    const base: BackupVmOptions = {
      host: backupHostOf(c),
      repository: lab.repository,
      vm,
      proxies: [candidate(vm, { name: "ams-proxy-wrong", externalId: "w", keyProviderExternalId: "kp-other" }), candidate(vm)],
      selection: { proxies: "automatic", failoverToNetwork: true },
      protection: lab.protection,
      keyRing: lab.keyRing,
    };
    const full = await backupVm(base);
    expect(full.status, full.error).toBe("success");
    expect(full.disks.map((d) => d.mode)).toEqual(vm.disks.map(() => "hotadd"));
    expect(full.disks[0].rejected.join("\n")).toMatch(/ams-proxy-wrong: HotAdd refused — encrypted with kp-other/);
    expect((await c.labVm(vm.externalId)).config.snapshot).toBeNull(); // released

    const labVm = await c.labVm(vm.externalId);
    const point = await lab.repository.readPoint(full.pointId!, lab.keyRing);
    expect(point.attributes).toMatchObject({
      keyId: labVm.config.keyId,
      keyProviderExternalId: vm.keyProviderExternalId,
      encryptionBundle: labVm.config.encryptionBundle,
      nvram: (await labVm.readNvramFile()).toString("base64"),
    });
    expect((point.attributes.vm as { externalId: string }).externalId).toBe(vm.externalId);
    const d0 = point.disks.find((d) => d.diskId === diskIdOf(vm.disks[0].deviceKey))!;
    expect(d0.attributes).toMatchObject({ storagePolicyExternalId: vm.disks[0].storagePolicyExternalId, keyId: vm.disks[0].keyId, encrypted: true, transportMode: "hotadd" });
    point.close();

    await c.guestWrites(vm.externalId, 0.5, 2);
    const incr = await backupVm({ ...base, chainId: full.chainId, previousChangeIds: full.changeIds });
    expect(incr.status, incr.error).toBe("success");
    for (const [i, d] of incr.disks.entries()) {
      expect(d.result.incremental).toBe(true);
      expect(d.result.blocksRead).toBeLessThan(full.disks[i].result.blocksRead);
    }
    await c.close();
  });

  it("an unknown change id falls back to a full read deduplicated against the parent, with a warning", async () => {
    const lab = await labAndRepository(folder());
    const { connector: c } = lab;
    await c.guestWrites(plainVm.externalId, 1, 1);
    const vm = await lab.inventoryVm(plainVm.externalId);
    const base: BackupVmOptions = { host: backupHostOf(c), repository: lab.repository, vm, proxies: [candidate(vm, { kind: "physical", transportModes: ["san"] })], selection: { proxies: "automatic", failoverToNetwork: false }, protection: lab.protection, keyRing: lab.keyRing };
    const full = await backupVm(base);
    expect(full.status, full.error).toBe("success");
    expect(full.disks[0].mode).toBe("san");
    // CBT reset on the host: the parent point's change id is unknown now.
    const reset: VmBackupHost = { ...base.host, queryChangedAreas: async (q) => (q.changeId === "*" ? base.host.queryChangedAreas(q) : Promise.reject(new HostError("FileFault", "unknown change id"))) };
    const again = await backupVm({ ...base, host: reset, chainId: full.chainId, previousChangeIds: full.changeIds });
    expect(again.status, again.error).toBe("warning");
    expect(again.warnings.join("\n")).toMatch(/reading the whole disk, deduplicated against the previous point/);
    for (const d of again.disks) {
      expect(d.result.incremental).toBe(false);
      expect(d.result.stats.storedBlocks).toBe(0);
      expect(d.result.stats.dedupedBlocks).toBeGreaterThan(0);
    }
    await c.close();
  });

  it("an incremental reads CBT from the change id of the parent point in the repository, not from the caller's newer one (rolled-back repository)", async () => {
    const lab = await labAndRepository(folder());
    const { connector: c } = lab;
    await c.guestWrites(plainVm.externalId, 1, 1);
    const vm = await lab.inventoryVm(plainVm.externalId);
    const base: BackupVmOptions = { host: backupHostOf(c), repository: lab.repository, vm, proxies: [candidate(vm, { kind: "physical", transportModes: ["san"] })], selection: { proxies: "automatic", failoverToNetwork: false }, protection: lab.protection, keyRing: lab.keyRing };
    const full = await backupVm(base);
    await c.guestWrites(vm.externalId, 0.3, 2);
    const second = await backupVm({ ...base, chainId: full.chainId, previousChangeIds: full.changeIds });
    expect(second.status, second.error).toBe("success");
    // The newest point is lost (a folder put back from before it); the console still remembers its change ids.
    await lab.repository.store.delete(`points/${second.pointId}`);
    await c.guestWrites(vm.externalId, 0.3, 3);
    const queried: string[] = [];
    const host: VmBackupHost = { ...base.host, queryChangedAreas: (q) => (queried.push(q.changeId), base.host.queryChangedAreas(q)) };
    const third = await backupVm({ ...base, host, chainId: full.chainId, previousChangeIds: second.changeIds });
    expect(third.status).toBe("warning");
    expect(third.warnings.join("\n")).toMatch(new RegExp(`newest restore point in the repository is ${full.pointId}.*rolled back`));
    expect(queried).toEqual(vm.disks.map((d) => full.changeIds[d.deviceKey]));
    // Bit for bit: the new point holds the disk as it is now (every written area; nothing outside them).
    const point = await lab.repository.readPoint(third.pointId!, lab.keyRing);
    for (const d of vm.disks) {
      expect(await diskDifferences({ host: base.host, point, vm, deviceKey: d.deviceKey, proxy: candidate(vm, { kind: "physical", transportModes: ["san"] }), mode: "san" })).toEqual([]);
    }
    point.close();
    await c.close();
  });

  it("a failed disk fails its VM (no point, snapshot released) but never the other VMs", async () => {
    const lab = await labAndRepository(folder());
    const { connector: c } = lab;
    await c.guestWrites(plainVm.externalId, 1, 1);
    await c.guestWrites(nativeVm.externalId, 1, 1);
    const plain = await lab.inventoryVm(plainVm.externalId);
    const enc = await lab.inventoryVm(nativeVm.externalId);
    const real = backupHostOf(c);
    let opened = 0;
    const flaky: VmBackupHost = {
      ...real,
      openDiskForBackup: async (o) => {
        if (o.vmExternalId === plain.externalId && ++opened === 2) throw new Error("proxy lost");
        return real.openDiskForBackup(o);
      },
    };
    const results = await backupVms([plain, enc, plain], (vm) => ({
      host: flaky,
      repository: lab.repository,
      vm,
      // The encrypted VM has only a wrong-KMS HotAdd proxy and no failover to network: it fails before anything is opened.
      proxies: [candidate(vm, { name: "ams-proxy-globex-02", keyProviderExternalId: vm.encrypted ? "kp-elsewhere" : null })],
      selection: { proxies: "automatic", failoverToNetwork: false },
      protection: lab.protection,
      keyRing: lab.keyRing,
    }));
    expect(results.map((r) => r.status)).toEqual(["failed", "failed", "success"]);
    expect(results[0].error).toMatch(/Hard disk 2: proxy lost/);
    expect(results[1].error).toMatch(/ams-proxy-globex-02: HotAdd refused — encrypted with kp-elsewhere/);
    expect((await c.labVm(plain.externalId)).config.snapshot).toBeNull();
    expect((await lab.repository.listPoints()).points).toHaveLength(1);
    await c.close();
  });
});
