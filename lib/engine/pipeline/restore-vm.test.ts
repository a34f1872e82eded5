// restoreVm on the lab: a VM backed up, then brought back to a new location with each disk
// encrypted or not as chosen, compared bit for bit with the disks at backup time (RST-1…6).
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { InventorySnapshot, PlatformVm } from "../../platform/connector";
import type { DiskArea } from "../../platform/disk-io";
import { HostError } from "../../platform/errors";
import { defaultNetworkMapping, networksOnHost } from "../../platform/network-mapping";
import { useTempFolder } from "../../platform/lab/data-plane/testing/temp-folder";
import { LabConnector } from "../../platform/lab/lab-connector";
import { SwitchableKeySources, isNative, pickVm } from "../../platform/lab/testing/lab-fixtures";
import { FaultyConnector } from "../../platform/testing/faulty-connector";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "../keys/user-key";
import { KeyRing } from "../keys/key-ring";
import { MemoryStore } from "../repository/memory-store";
import { createRepository, type Repository } from "../repository/repository";
import { backupVm, diskIdOf } from "./backup-vm";
import { planVmRestore, pointVmAttributes, type RestoreKeyChoice, type VmRestoreChoices } from "./restore-plan";
import { restoreVm, type RestoreEvent, type RestorePlatform } from "./restore-vm";
import { backupHostOf, candidate, diskPrint } from "./testing";

const MiB = 1024 * 1024;
const folder = useTempFolder("strongroom-restore-vm-");
const nativeVm = pickVm("natively encrypted two-disk VM", (v) => v.encrypted && !v.vtpm && isNative(v) && v.disks.length >= 2);
const vtpmVm = pickVm("vTPM VM with a native key", (v) => v.vtpm && isNative(v));
const plainVm = pickVm("unencrypted VM", (v) => !v.encrypted && v.disks.length >= 1);
const kmsVm = pickVm("VM encrypted by a tenant KMS", (v) => v.encrypted && !isNative(v) && !v.vtpm);

async function setup() {
  const keys = new SwitchableKeySources(folder());
  const lab = new LabConnector({ folder: folder(), diskDataMiB: 3, keySources: keys });
  const repository = await createRepository(new MemoryStore());
  const password = await createPasswordKey("restore test password", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
  const keyRing = new KeyRing().addPasswordKey(password);
  return { keys, lab, repository, keyRing, protection: { password } };
}

async function backUp(s: Awaited<ReturnType<typeof setup>>, vm: PlatformVm) {
  if (vm.powerState !== "poweredOn") await s.lab.powerOn(vm.externalId);
  await s.lab.guestWrites(vm.externalId, 1, 5);
  const live = (await s.lab.inventory()).vms.find((v) => v.externalId === vm.externalId)!;
  const r = await backupVm({
    host: backupHostOf(s.lab),
    repository: s.repository,
    vm: live,
    proxies: [candidate(live, { kind: "physical", transportModes: ["nbdssl", "san"], keyProviderExternalId: null })],
    selection: { proxies: "automatic", failoverToNetwork: true },
    protection: s.protection,
    keyRing: s.keyRing,
  });
  expect(r.status, r.error).toBe("success");
  return { point: await s.repository.readPoint(r.pointId!, s.keyRing), live };
}

/** Where encrypted and unencrypted things may go at the VM's site. */
function placement(inv: InventorySnapshot, vm: PlatformVm) {
  const site = vm.siteExternalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const dss = inv.datastores.filter((d) => d.siteExternalId === site).sort((a, b) => b.freeBytes - a.freeBytes);
  const encDs = dss.find((d) => d.compatiblePolicyExternalIds.includes(encPolicy))!;
  const plainDs = dss.find((d) => d !== encDs)!;
  const plainPolicy = plainDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  return { encPolicy, encDs, plainDs, plainPolicy };
}

function choicesFor(inv: InventorySnapshot, vm: PlatformVm, name: string, encrypted: boolean[], keys: RestoreKeyChoice): VmRestoreChoices {
  const p = placement(inv, vm);
  const anyEnc = encrypted.some(Boolean) || (vm.vtpm && keys.kind === "same-key");
  return {
    siteExternalId: vm.siteExternalId,
    hostExternalId: vm.hostExternalId,
    name,
    folder: "/Restored",
    home: anyEnc ? { datastoreExternalId: p.encDs.externalId, storagePolicyExternalId: p.encPolicy } : { datastoreExternalId: p.plainDs.externalId, storagePolicyExternalId: p.plainPolicy },
    disks: vm.disks.map((d, i) => ({ deviceKey: d.deviceKey, encrypted: encrypted[i], datastoreExternalId: encrypted[i] ? p.encDs.externalId : p.plainDs.externalId, storagePolicyExternalId: encrypted[i] ? p.encPolicy : p.plainPolicy })),
    keys,
    networks: defaultNetworkMapping(vm.nics, inv.networks.filter((n) => n.siteExternalId === vm.siteExternalId), vm.hostExternalId),
  };
}

async function expectSameDisks(lab: LabConnector, source: PlatformVm, restored: PlatformVm) {
  for (const d of source.disks) {
    const before = await diskPrint(lab, source.externalId, d.deviceKey);
    expect(before.written.length, `${d.label} has data`).toBeGreaterThan(0);
    const after = await diskPrint(lab, restored.externalId, d.deviceKey, before.written);
    expect(after.hash, `${d.label} bit for bit`).toBe(before.hash);
    // Nothing written outside what the source holds.
    const inside = (a: DiskArea) => before.written.some((b) => a.start >= b.start && a.start + a.length <= b.start + b.length);
    expect(after.written.filter((a) => !inside(a))).toEqual([]);
  }
}

function restoreProxy(vm: PlatformVm) {
  return [candidate(vm, { externalId: "proxy-restore", name: "proxy-restore", kind: "vm", transportModes: ["hotadd"], keyProviderExternalId: vm.keyProviderExternalId })];
}

async function run(s: Awaited<ReturnType<typeof setup>>, host: RestorePlatform, point: Awaited<ReturnType<typeof backUp>>["point"], choices: VmRestoreChoices, powerOn = true, attributes = point.attributes) {
  const plan = planVmRestore(pointVmAttributes(attributes), choices, await s.lab.inventory());
  const events: RestoreEvent[] = [];
  const proxyVm = { ...pointVmAttributes(point.attributes).vm, siteExternalId: choices.siteExternalId, keyProviderExternalId: plan.request.home.crypto.kind === "none" ? null : plan.request.home.crypto.keyProviderExternalId };
  const result = await restoreVm({ host, point, plan, proxies: restoreProxy(proxyVm), selection: { proxies: "automatic", failoverToNetwork: true }, powerOn, onEvent: (e) => events.push(e) });
  return { plan, result, events };
}

describe("restoreVm (RST-1…6)", { timeout: 120_000 }, () => {
  it("encrypted → encrypted with the same key: saved keyId, encryption.bundle and NVRAM come back; disks bit for bit; it powers on", async () => {
    const s = await setup();
    const { point, live } = await backUp(s, nativeVm);
    const saved = await s.lab.vmFiles(live.externalId);
    const { result, events } = await run(s, s.lab, point, choicesFor(await s.lab.inventory(), live, "enc-same", live.disks.map(() => true), { kind: "same-key" }));
    expect(result.status, result.error ?? "").toBe("success");
    expect(result.vm!.keyId).toBe(live.keyId);
    expect(createHash("sha256").update((await s.lab.vmFiles(result.vm!.externalId)).nvram!).digest("hex")).toBe(createHash("sha256").update(saved.nvram!).digest("hex"));
    expect(result.poweredOn).toBe(true);
    expect(result.checks.every((c) => c.ok)).toBe(true);
    expect(events.filter((e) => e.type === "disk-planned").map((e) => (e as { mode: string }).mode)).toEqual(live.disks.map(() => "hotadd"));
    await s.lab.powerOff(result.vm!.externalId);
    await expectSameDisks(s.lab, live, result.vm!);
    await s.lab.close();
  });

  it("encrypted → new key, → unencrypted, and mixed per disk: each disk as chosen, bit for bit, with the NVRAM consequence said", async () => {
    const s = await setup();
    const { point, live } = await backUp(s, nativeVm);
    const inv = await s.lab.inventory();
    const kp = live.keyProviderExternalId!;
    const cases: Array<[string, boolean[], RestoreKeyChoice]> = [
      ["enc-new", live.disks.map(() => true), { kind: "new-key", keyProviderExternalId: kp }],
      ["enc-none", live.disks.map(() => false), { kind: "same-key" }],
      ["enc-mixed", live.disks.map((_, i) => i === 0), { kind: "same-key" }],
    ];
    for (const [name, encrypted, keys] of cases) {
      const { result, plan } = await run(s, s.lab, point, choicesFor(inv, live, name, encrypted, keys), false);
      expect(result.status, `${name}: ${result.error}`).not.toBe("failed");
      const rt = await s.lab.vmRuntime(result.vm!.externalId);
      expect(rt.disks.map((d) => d.encrypted), name).toEqual(encrypted);
      if (name === "enc-new") {
        expect(rt.keyId).not.toBe(live.keyId);
        expect(plan.consequences.join(" ")).toMatch(/generic NVRAM/);
      }
      if (name === "enc-none") expect(rt.encrypted).toBe(false);
      if (name === "enc-mixed") expect(rt.keyId).toBe(live.keyId);
      await expectSameDisks(s.lab, live, result.vm!);
    }
    await s.lab.close();
  });

  it("unencrypted → encrypted with a new key from the site's provider", async () => {
    const s = await setup();
    const { point, live } = await backUp(s, plainVm);
    const inv = await s.lab.inventory();
    const kp = inv.keyProviders.find((k) => k.siteExternalId === live.siteExternalId && k.kind === "native")!.externalId;
    const { result } = await run(s, s.lab, point, choicesFor(inv, live, "plain-enc", live.disks.map(() => true), { kind: "new-key", keyProviderExternalId: kp }));
    expect(result.status, result.error ?? "").not.toBe("failed");
    expect((await s.lab.vmRuntime(result.vm!.externalId)).encrypted).toBe(true);
    await s.lab.powerOff(result.vm!.externalId);
    await expectSameDisks(s.lab, live, result.vm!);
    await s.lab.close();
  });

  it("a vTPM VM with the same key keeps its vTPM and NVRAM; with a new key the loss is said", async () => {
    const s = await setup();
    const { point, live } = await backUp(s, vtpmVm);
    const inv = await s.lab.inventory();
    const same = await run(s, s.lab, point, choicesFor(inv, live, "vtpm-same", live.disks.map(() => true), { kind: "same-key" }), false);
    expect(same.result.status, same.result.error ?? "").toBe("success");
    expect(same.result.vm!.vtpm).toBe(true);
    expect(same.plan.keepsNvram).toBe(true);
    const fresh = planVmRestore(pointVmAttributes(point.attributes), choicesFor(inv, live, "vtpm-new", live.disks.map(() => true), { kind: "new-key", keyProviderExternalId: live.keyProviderExternalId! }), inv);
    expect(fresh.consequences.join(" ")).toMatch(/vTPM is added new/);
    await expectSameDisks(s.lab, live, same.result.vm!);
    await s.lab.close();
  });

  it("restored but not powered on when the key provider is unreachable (RST-6), said with the reason", async () => {
    const s = await setup();
    const { point, live } = await backUp(s, kmsVm);
    const inv = await s.lab.inventory();
    const host = new FaultyConnector(s.lab as never);
    // The KMS goes away between the disks being written and the power-on.
    const origPowerOn = s.lab.powerOn.bind(s.lab);
    (host as unknown as { powerOn: (id: string) => Promise<unknown> }).powerOn = async (id) => {
      s.keys.kmsOf(live.keyProviderExternalId!).unreachable = true;
      await s.lab.powerOff(id).catch(() => undefined); // the host forgets the keys
      return origPowerOn(id);
    };
    const { result } = await run(s, host as unknown as RestorePlatform, point, choicesFor(inv, live, "kms-down", live.disks.map(() => true), { kind: "same-key" }));
    expect(result.status).toBe("warning");
    expect(result.vm).not.toBeNull();
    expect(result.poweredOn).toBe(false);
    expect(result.warnings.join(" ")).toMatch(/does not power on: its key provider cannot be reached/);
    await s.lab.close();
  });

  it("a write failing half-way deletes the new VM: nothing half-restored is left, the original is untouched", async () => {
    const s = await setup();
    const { point, live } = await backUp(s, nativeVm);
    const before = await diskPrint(s.lab, live.externalId, live.disks[0].deviceKey);
    const host = new FaultyConnector(s.lab as never).arm({ operation: "write", after: 2 * MiB, error: new HostError("InsufficientSpace", "datastore full") });
    const vmsBefore = (await s.lab.inventory()).vms.length;
    const { result } = await run(s, host as unknown as RestorePlatform, point, choicesFor(await s.lab.inventory(), live, "half", live.disks.map(() => true), { kind: "same-key" }));
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/datastore full/);
    expect(result.vm).toBeNull();
    expect(host.calls).toContain("deleteVm");
    expect((await s.lab.inventory()).vms.length).toBe(vmsBefore);
    expect((await diskPrint(s.lab, live.externalId, live.disks[0].deviceKey)).hash).toBe(before.hash);
    await s.lab.close();
  });

  it("a damaged block fails the restore naming the block, and leaves no VM", async () => {
    const s = await setup();
    const { live } = await backUp(s, plainVm);
    // Flip a byte in every pack: the first block read is damaged.
    const store = s.repository.store;
    for (const key of await store.list("packs/")) {
      const bytes = Buffer.from(await store.get(key));
      bytes[bytes.length >> 1] ^= 0xff;
      await store.put(key, bytes);
    }
    const repo: Repository = s.repository;
    const pointId = (await repo.listPoints()).points[0].pointId;
    const point = await repo.readPoint(pointId, s.keyRing);
    const vmsBefore = (await s.lab.inventory()).vms.length;
    const { result } = await run(s, s.lab, point, choicesFor(await s.lab.inventory(), live, "damaged", live.disks.map(() => false), { kind: "same-key" }));
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/block \d+/);
    expect(live.disks.map((d) => diskIdOf(d.deviceKey)).some((id) => result.error!.includes(`disk ${id}`))).toBe(true);
    expect((await s.lab.inventory()).vms.length).toBe(vmsBefore);
    await s.lab.close();
  });
  it("network adapters come back as mapped — one moved to another network of the host, one disconnected — with new MACs, checked after the restore; a point made before adapters were recorded restores without any and says so", async () => {
    const s = await setup();
    const { point, live } = await backUp(s, plainVm);
    const inv = await s.lab.inventory();
    const onHost = networksOnHost(inv.networks.filter((n) => n.siteExternalId === live.siteExternalId), live.hostExternalId);
    const other = onHost.find((n) => n.externalId !== live.nics[0].networkExternalId)!;
    // Two adapters in the point: the VM's own and a second one, so both choices are exercised.
    const attributes = structuredClone(point.attributes) as { vm: PlatformVm };
    const second = { ...live.nics[0], deviceKey: 4001, label: "Network adapter 2", adapterType: "e1000e" as const, macAddress: "00:50:56:bf:00:99" };
    attributes.vm.nics = [live.nics[0], second];
    const twoNics = { attributes: attributes as unknown as typeof point.attributes };
    const choices = { ...choicesFor(inv, live, "net-mapped", live.disks.map(() => false), { kind: "same-key" }), networks: [{ nicDeviceKey: live.nics[0].deviceKey, networkExternalId: other.externalId }, { nicDeviceKey: 4001, networkExternalId: null }] };
    const { result, plan } = await run(s, s.lab, point, choices, false, twoNics.attributes);
    expect(result.status, result.error ?? "").toBe("success");
    expect(plan.request.nics).toEqual([
      { deviceKey: live.nics[0].deviceKey, label: "Network adapter 1", adapterType: live.nics[0].adapterType, networkExternalId: other.externalId, connected: live.nics[0].connected },
      { deviceKey: 4001, label: "Network adapter 2", adapterType: "e1000e", networkExternalId: null, connected: false },
    ]);
    const rt = await s.lab.vmRuntime(result.vm!.externalId);
    expect(rt.nics.map((n) => [n.deviceKey, n.networkExternalId, n.networkName, n.connected, n.adapterType])).toEqual([
      [live.nics[0].deviceKey, other.externalId, other.name, live.nics[0].connected, live.nics[0].adapterType],
      [4001, null, null, false, "e1000e"],
    ]);
    expect(rt.nics.map((n) => n.macAddress)).not.toContain(live.nics[0].macAddress);
    expect(result.checks.filter((c) => /Network adapter/.test(c.text)).map((c) => [c.ok, c.text])).toEqual([
      [true, `Network adapter 1: on ${other.name}${live.nics[0].connected ? "" : ", not connected"}, as planned`],
      [true, "Network adapter 2: disconnected, as planned"],
    ]);

    // A network the host does not have is refused before anything is created.
    const lacking = inv.networks.find((n) => n.siteExternalId === live.siteExternalId && !n.hostExternalIds.includes(live.hostExternalId));
    const elsewhere = inv.networks.find((n) => n.siteExternalId !== live.siteExternalId)!;
    const bad = lacking ?? elsewhere;
    expect(() => planVmRestore(pointVmAttributes(twoNics.attributes), { ...choices, name: "net-bad", networks: [{ nicDeviceKey: live.nics[0].deviceKey, networkExternalId: bad.externalId }, { nicDeviceKey: 4001, networkExternalId: null }] }, inv)).toThrow(/is not on host|does not exist on the target site/);
    expect(() => planVmRestore(pointVmAttributes(twoNics.attributes), { ...choices, name: "net-bad", networks: [{ nicDeviceKey: live.nics[0].deviceKey, networkExternalId: null }] }, inv)).toThrow("Network adapter 2 is not mapped");

    // An old point: its VM record has no `nics`.
    const old = structuredClone(point.attributes) as { vm: Partial<PlatformVm> };
    delete old.vm.nics;
    const oldPoint = { attributes: old as unknown as typeof point.attributes };
    const attrs = pointVmAttributes(oldPoint.attributes);
    expect(attrs.nicsRecorded).toBe(false);
    const r2 = await run(s, s.lab, point, { ...choicesFor(inv, live, "net-old", live.disks.map(() => false), { kind: "same-key" }), networks: [] }, false, oldPoint.attributes);
    expect(r2.result.status, r2.result.error ?? "").toBe("warning");
    expect(r2.result.warnings.join(" ")).toMatch(/before Strongroom recorded network adapters: the VM is restored without any/);
    expect((await s.lab.vmRuntime(r2.result.vm!.externalId)).nics).toEqual([]);
    await s.lab.close();
  });
});
