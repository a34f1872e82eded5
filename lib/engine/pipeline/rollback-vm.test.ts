// rollbackVm on the lab: a VM changed after its backup brought back in place — a quick rollback
// writes only what differs (by CBT, or by hash when CBT cannot say), an overwrite every block —
// and each disk is then bit for bit what it was at backup time.
import { describe, expect, it } from "vitest";
import type { PlatformVm } from "../../platform/connector";
import { HostError } from "../../platform/errors";
import { useTempFolder } from "../../platform/lab/data-plane/testing/temp-folder";
import { LabConnector } from "../../platform/lab/lab-connector";
import { isNative, pickVm } from "../../platform/lab/testing/lab-fixtures";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "../keys/user-key";
import { KeyRing } from "../keys/key-ring";
import { MemoryStore } from "../repository/memory-store";
import { createRepository } from "../repository/repository";
import { backupVm } from "./backup-vm";
import { rollbackVm, type RollbackMode } from "./rollback-vm";
import { backupHostOf, candidate, diskPrint } from "./testing";

const folder = useTempFolder("strongroom-rollback-");
const nativeVm = pickVm("natively encrypted VM", (v) => v.encrypted && !v.vtpm && isNative(v));
const plainVm = pickVm("unencrypted VM", (v) => !v.encrypted);

async function backedUp(vm: PlatformVm) {
  const lab = new LabConnector({ folder: folder(), diskDataMiB: 4 });
  const repository = await createRepository(new MemoryStore());
  const password = await createPasswordKey("rollback test password", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
  const keyRing = new KeyRing().addPasswordKey(password);
  if (vm.powerState !== "poweredOn") await lab.powerOn(vm.externalId);
  await lab.guestWrites(vm.externalId, 1, 3);
  const live = (await lab.inventory()).vms.find((v) => v.externalId === vm.externalId)!;
  const r = await backupVm({ host: backupHostOf(lab), repository, vm: live, proxies: [candidate(live, { kind: "physical", transportModes: ["nbdssl", "san"], keyProviderExternalId: null })], selection: { proxies: "automatic", failoverToNetwork: true }, protection: { password }, keyRing });
  expect(r.status, r.error).toBe("success");
  const before = new Map<number, Awaited<ReturnType<typeof diskPrint>>>();
  for (const d of live.disks) before.set(d.deviceKey, await diskPrint(lab, live.externalId, d.deviceKey));
  return { lab, live, point: await repository.readPoint(r.pointId!, keyRing), before };
}

async function rollback(s: Awaited<ReturnType<typeof backedUp>>, mode: RollbackMode, host = s.lab as never) {
  const vm = (await s.lab.inventory()).vms.find((v) => v.externalId === s.live.externalId)!;
  return rollbackVm({ host, point: s.point, vm, mode, proxies: [candidate(vm, { externalId: "p", name: "rollback-proxy", kind: "vm", transportModes: ["hotadd"], keyProviderExternalId: vm.keyProviderExternalId })], selection: { proxies: "automatic", failoverToNetwork: true }, powerOn: true });
}

async function expectAsAtBackup(s: Awaited<ReturnType<typeof backedUp>>) {
  await s.lab.powerOff(s.live.externalId).catch(() => undefined);
  for (const d of s.live.disks) {
    const want = s.before.get(d.deviceKey)!;
    const now = await diskPrint(s.lab, s.live.externalId, d.deviceKey, want.written);
    expect(now.hash, d.label).toBe(want.hash);
  }
}

describe("rollbackVm (original location)", { timeout: 120_000 }, () => {
  it("quick rollback of an encrypted VM after the guest changed 10%: only changed blocks are written (CBT), the disks are as at backup, it powers on", async () => {
    const s = await backedUp(nativeVm);
    await s.lab.guestWrites(s.live.externalId, 0.1, 9);
    const r = await rollback(s, "quick-rollback");
    expect(r.status, r.error ?? "").toBe("success");
    expect(r.poweredOn).toBe(true);
    for (const d of r.disks) {
      expect(d.found).toBe("cbt");
      expect(d.blocksWritten).toBeGreaterThan(0);
      expect(d.blocksWritten).toBeLessThan(s.point.disks.find((x) => x.diskId === d.result.diskId)!.blockCount / 4);
    }
    await expectAsAtBackup(s);
    await s.lab.close();
  });

  it("when CBT cannot say what changed, the blocks that differ are found by hash", async () => {
    const s = await backedUp(plainVm);
    await s.lab.guestWrites(s.live.externalId, 0.2, 4);
    const lab = s.lab;
    const host = {
      vmRuntime: (id: string) => lab.vmRuntime(id),
      powerOn: (id: string) => lab.powerOn(id),
      powerOff: (id: string) => lab.powerOff(id),
      createVm: lab.createVm.bind(lab),
      deleteVm: lab.deleteVm.bind(lab),
      openDiskForWrite: lab.openDiskForWrite.bind(lab),
      openDiskForBackup: lab.openDiskForBackup.bind(lab),
      releaseSnapshot: lab.releaseSnapshot.bind(lab),
      queryChangedAreas: async () => Promise.reject(new HostError("FileFault", "change tracking was reset")),
    };
    const r = await rollback(s, "quick-rollback", host as never);
    expect(r.status, r.error ?? "").toBe("warning");
    expect(r.warnings.join(" ")).toMatch(/comparing every block by hash/);
    expect(r.disks.every((d) => d.found === "hash" && d.blocksWritten > 0)).toBe(true);
    await expectAsAtBackup(s);
    await lab.close();
  });

  it("overwrite writes every block, zeros included, and refuses a disk whose size changed before touching the VM", async () => {
    const s = await backedUp(plainVm);
    await s.lab.guestWrites(s.live.externalId, 0.3, 5);
    const r = await rollback(s, "overwrite");
    expect(r.status, r.error ?? "").toBe("success");
    for (const d of r.disks) expect(d.result.zeroBlocksWritten).toBeGreaterThan(0);
    await expectAsAtBackup(s);
    const vm = (await s.lab.inventory()).vms.find((v) => v.externalId === s.live.externalId)!;
    const grown = { ...vm, powerState: "poweredOn" as const, disks: vm.disks.map((d, i) => (i === 0 ? { ...d, capacityBytes: d.capacityBytes * 2 } : d)) };
    const refused = await rollbackVm({ host: s.lab as never, point: s.point, vm: grown, mode: "overwrite", proxies: [candidate(vm, { kind: "vm", transportModes: ["hotadd"] })], selection: { proxies: "automatic", failoverToNetwork: true }, powerOn: false });
    expect(refused.status).toBe("failed");
    expect(refused.error).toMatch(/restore to a new location instead/);
    expect((await s.lab.vmRuntime(vm.externalId)).powerState).toBe("poweredOff"); // untouched (it was off after the check above)
    await s.lab.close();
  });
});
