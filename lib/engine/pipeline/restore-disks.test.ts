// restoreDisks on the lab (RST-7): a disk of a restore point attached to the VM that exists now,
// replacing one of its disks (same device key) or added as a new one, encrypted or not — bit for
// bit what the disk was at backup time; the refusals (RST-3) change nothing; a write failure
// removes the disk it attached.
import { describe, expect, it } from "vitest";
import type { InventorySnapshot, PlatformVm } from "../../platform/connector";
import { HostError } from "../../platform/errors";
import { useTempFolder } from "../../platform/lab/data-plane/testing/temp-folder";
import { LabConnector } from "../../platform/lab/lab-connector";
import { isNative, pickVm } from "../../platform/lab/testing/lab-fixtures";
import { FaultyConnector } from "../../platform/testing/faulty-connector";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "../keys/user-key";
import { KeyRing } from "../keys/key-ring";
import { MemoryStore } from "../repository/memory-store";
import { createRepository } from "../repository/repository";
import { backupVm, diskIdOf } from "./backup-vm";
import { restoreDisks, type DiskToAttach } from "./restore-disks";
import { backupHostOf, candidate, diskPrint } from "./testing";

const folder = useTempFolder("strongroom-restore-disks-");
const nativeVm = pickVm("natively encrypted VM", (v) => v.encrypted && !v.vtpm && isNative(v));
const plainVm = pickVm("unencrypted VM", (v) => !v.encrypted && v.disks.length >= 1);

async function backedUp(vm: PlatformVm) {
  const lab = new LabConnector({ folder: folder(), diskDataMiB: 4 });
  const repository = await createRepository(new MemoryStore());
  const password = await createPasswordKey("disk restore test password", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
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

/** A datastore and policy on the VM's site for an encrypted or an unencrypted disk. */
function placement(inv: InventorySnapshot, vm: PlatformVm, encrypted: boolean) {
  const enc = inv.storagePolicies.find((p) => p.siteExternalId === vm.siteExternalId && p.encryption)!;
  const ds = inv.datastores.filter((d) => d.siteExternalId === vm.siteExternalId).sort((a, b) => b.freeBytes - a.freeBytes).find((d) => d.compatiblePolicyExternalIds.includes(enc.externalId) === encrypted)!;
  const policy = encrypted ? enc.externalId : ds.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  return { datastoreExternalId: ds.externalId, storagePolicyExternalId: policy };
}

async function run(s: Awaited<ReturnType<typeof backedUp>>, disks: DiskToAttach[], host: LabConnector | FaultyConnector = s.lab, target?: PlatformVm, say?: (text: string) => void) {
  const inventory = await s.lab.inventory();
  const vm = inventory.vms.find((v) => v.externalId === (target ?? s.live).externalId)!;
  return restoreDisks({ host, point: s.point, vm, inventory, disks, proxies: [candidate(vm, { externalId: "p", name: "disk-proxy", kind: "vm", transportModes: ["hotadd", "nbdssl"], keyProviderExternalId: vm.keyProviderExternalId })], selection: { proxies: "automatic", failoverToNetwork: true }, powerOn: true, onEvent: (e) => say?.(e.text) });
}

function attach(s: Awaited<ReturnType<typeof backedUp>>, inv: InventorySnapshot, from: number, o: { deviceKey: number; encrypted: boolean; replace: boolean; label?: string; vm?: PlatformVm }): DiskToAttach {
  const src = s.live.disks.find((d) => d.deviceKey === from)!;
  return { sourceDiskId: diskIdOf(from), replace: o.replace, target: { deviceKey: o.deviceKey, label: o.label ?? src.label, capacityBytes: src.capacityBytes, encrypted: o.encrypted, ...placement(inv, o.vm ?? s.live, o.encrypted) } };
}

describe("restoreDisks (RST-7)", { timeout: 120_000 }, () => {
  it("replaces a disk of the changed VM (same device key) and adds the other as a new unencrypted disk: both bit for bit as at backup, the VM powers on", async () => {
    const s = await backedUp(nativeVm);
    await s.lab.guestWrites(s.live.externalId, 0.5, 9);
    const inv = await s.lab.inventory();
    const [first] = s.live.disks;
    const events: string[] = [];
    const r = await run(s, [attach(s, inv, first.deviceKey, { deviceKey: first.deviceKey, encrypted: true, replace: true }), attach(s, inv, first.deviceKey, { deviceKey: 2100, encrypted: false, replace: false, label: "Restored disk" })], s.lab, undefined, (t) => events.push(t));
    expect(r.status, r.error ?? r.warnings.join()).toBe("success");
    expect(events.join("\n")).toMatch(/was powered off for the disk restore/);
    expect(r.checks.every((c) => c.ok)).toBe(true);
    expect(r.poweredOn).toBe(true);
    const now = (await s.lab.inventory()).vms.find((v) => v.externalId === s.live.externalId)!;
    expect(now.disks.find((d) => d.deviceKey === first.deviceKey)).toMatchObject({ encrypted: true });
    expect(now.disks.find((d) => d.deviceKey === 2100)).toMatchObject({ encrypted: false, label: "Restored disk", capacityBytes: first.capacityBytes });
    await s.lab.powerOff(s.live.externalId);
    const want = s.before.get(first.deviceKey)!;
    expect((await diskPrint(s.lab, s.live.externalId, first.deviceKey, want.written)).hash).toBe(want.hash);
    expect((await diskPrint(s.lab, s.live.externalId, 2100, want.written)).hash).toBe(want.hash);
    // An encrypted disk added at run time opens again after a restart of the lab (its DEK is in the bundle).
    await s.lab.close();
    const again = new LabConnector({ folder: folder(), diskDataMiB: 4 });
    await again.powerOn(s.live.externalId);
    await again.powerOff(s.live.externalId);
    expect((await diskPrint(again, s.live.externalId, first.deviceKey, want.written)).hash).toBe(want.hash);
    await again.close();
  });

  it("refuses an encrypted disk for an unencrypted VM and one on a datastore outside the VM Encryption Policy node, before the VM is touched", async () => {
    const s = await backedUp(nativeVm);
    const inv = await s.lab.inventory();
    const target = inv.vms.find((v) => v.externalId === plainVm.externalId)!;
    if (target.powerState !== "poweredOn") await s.lab.powerOn(target.externalId);
    const [first] = s.live.disks;
    const before = (await s.lab.inventory()).vms.find((v) => v.externalId === target.externalId)!;
    const r1 = await run(s, [attach(s, inv, first.deviceKey, { deviceKey: 2100, encrypted: true, replace: false, vm: target })], s.lab, target);
    expect(r1.status).toBe("failed");
    expect(r1.error).toMatch(/needs an encrypted VM/);
    const onPlain = attach(s, inv, first.deviceKey, { deviceKey: 2100, encrypted: true, replace: false });
    onPlain.target = { ...onPlain.target, ...placement(inv, s.live, false), storagePolicyExternalId: placement(inv, s.live, true).storagePolicyExternalId };
    const r2 = await run(s, [onPlain]);
    expect(r2.status).toBe("failed");
    expect(r2.error).toMatch(/not compatible/);
    const after = (await s.lab.inventory()).vms.find((v) => v.externalId === target.externalId)!;
    expect(after.disks).toEqual(before.disks);
    expect(after.powerState).toBe("poweredOn");
    expect((await s.lab.inventory()).vms.find((v) => v.externalId === s.live.externalId)!.disks.map((d) => d.deviceKey)).toEqual(s.live.disks.map((d) => d.deviceKey));
    await s.lab.close();
  });

  it("a write that fails part-way removes the disk it added and says so; the VM keeps its other disks", async () => {
    const s = await backedUp(nativeVm);
    const inv = await s.lab.inventory();
    const faulty = new FaultyConnector(s.lab).arm({ operation: "write", after: 1 << 20, error: new HostError("InsufficientSpace", "datastore full") });
    const [first] = s.live.disks;
    const r = await run(s, [attach(s, inv, first.deviceKey, { deviceKey: 2100, encrypted: true, replace: false })], faulty);
    expect(r.status).toBe("failed");
    expect(r.error).toMatch(/datastore full/);
    expect(r.warnings.join()).toMatch(/removed again/);
    const now = (await s.lab.inventory()).vms.find((v) => v.externalId === s.live.externalId)!;
    expect(now.disks.map((d) => d.deviceKey)).toEqual(s.live.disks.map((d) => d.deviceKey));
    await s.lab.close();
  });
});
