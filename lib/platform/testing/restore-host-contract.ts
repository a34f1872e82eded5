// The restore host's contract (restore-host.ts), as one suite every platform runs: the memory
// connector, the fault-injecting one (unarmed) and the lab. Targets are picked from the platform's
// own inventory, so the suite holds for any estate with a site that has a datastore compatible with
// the VM Encryption Policy, one that is not, and a key provider.

import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { InventorySnapshot, PlatformDatastore, TransportMode } from "../connector";
import { HostError } from "../errors";
import type { CreateVmRequest, NewVmDisk } from "../restore-host";
import type { PolicyProxy } from "../transport-policy";
import type { FaultablePlatform } from "./faulty-connector";

export interface RestoreHostFixture {
  platform: FaultablePlatform;
  /** Makes a key provider (un)reachable from the platform's hosts. */
  setKeyProviderReachable(keyProviderExternalId: string, reachable: boolean): void;
  /** Transport modes this platform writes in (SAN only for unencrypted disks). */
  writeModes: TransportMode[];
  /** A new connector on the same state (a restart); omitted where the platform keeps nothing. */
  reopen?(): Promise<FaultablePlatform>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

export function restoreHostContract(name: string, make: () => Promise<RestoreHostFixture>): void {
  describe(`restore host contract: ${name}`, () => {
    let fixture: RestoreHostFixture | undefined;
    const open = async () => (fixture = await make());
    afterEach(async () => {
      await fixture?.close();
      fixture = undefined;
    });

    it("creates a powered-off VM as asked — home and each disk where asked, encrypted per disk — and the inventory shows it", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const vm = await f.platform.createVm(t.request("restored-01", [t.disk(2000, true), t.disk(2001, false)]));
      const seen = (await f.platform.inventory()).vms.find((v) => v.externalId === vm.externalId);
      expect(seen).toBeDefined();
      expect(seen).toMatchObject({ name: "restored-01", folder: "/Restored", hostExternalId: t.host, powerState: "poweredOff", encrypted: true, keyProviderExternalId: t.keyProvider, hasEncryptionBundle: true, vtpm: false });
      expect(seen!.keyId).toEqual(expect.any(String));
      expect(seen!.homeDatastoreExternalId).toBe(t.encDs.externalId);
      const [d0, d1] = seen!.disks;
      expect(d0).toMatchObject({ deviceKey: 2000, encrypted: true, keyId: seen!.keyId, datastoreExternalId: t.encDs.externalId, storagePolicyExternalId: t.encPolicy });
      expect(d1).toMatchObject({ deviceKey: 2001, encrypted: false, keyId: null, datastoreExternalId: t.plainDs.externalId, storagePolicyExternalId: t.plainPolicy });
      const rt = await f.platform.vmRuntime(vm.externalId);
      expect(rt.disks.map((d) => [d.deviceKey, d.encrypted])).toEqual([[2000, true], [2001, false]]);
    });

    it("writes each disk through every write mode it allows and reads back bit for bit", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      for (const mode of f.writeModes) {
        const encrypted = mode !== "san";
        const vm = await f.platform.createVm(t.request(`written-${mode}`, [t.disk(2000, encrypted), t.disk(2001, false)]));
        const proxy = t.proxy(mode);
        const written = new Map<number, Buffer>();
        for (const deviceKey of [2000, 2001]) {
          const w = await f.platform.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey, mode, proxy });
          expect(w.capacityBytes).toBe(8 * MiB);
          const a = randomBytes(MiB);
          const b = randomBytes(2 * MiB);
          await Promise.all([w.write(0, a), w.write(5 * MiB, b)]); // concurrent writes at different offsets
          await w.close();
          const expected = Buffer.alloc(8 * MiB);
          a.copy(expected, 0);
          b.copy(expected, 5 * MiB);
          written.set(deviceKey, expected);
        }
        for (const [deviceKey, expected] of written) {
          const readMode = mode === "san" ? "nbdssl" : mode;
          const disk = await f.platform.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey, mode: readMode, proxy: t.proxy(readMode) });
          const got = await disk.reader.read(0, 8 * MiB);
          await disk.reader.close();
          expect(sha(got), `${mode} disk ${deviceKey}`).toBe(sha(expected));
        }
        await f.platform.releaseSnapshot(vm.externalId);
      }
    });

    it("refuses what vSphere refuses before anything is created: placement, vTPM, name clash, space, unknown targets", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const before = (await f.platform.inventory()).vms.length;
      const onPlain = { ...t.disk(2000, true), datastoreExternalId: t.plainDs.externalId };
      await expectHostError(f.platform.createVm(t.request("bad-1", [onPlain])), "InvalidArgument", /not compatible/);
      await expectHostError(f.platform.createVm({ ...t.request("bad-2", [t.disk(2000, true)]), home: { ...t.plainHome() } }), "InvalidArgument", /encrypted VM home/);
      await expectHostError(f.platform.createVm({ ...t.request("bad-3", [t.disk(2000, false)]), home: t.plainHome(), vtpm: true }), "InvalidArgument", /vTPM/);
      await expectHostError(f.platform.createVm({ ...t.request("bad-4", [t.disk(2000, false)]), home: { ...t.encHome(), datastoreExternalId: t.plainDs.externalId } }), "InvalidArgument", /VM home/);
      const huge = { ...t.disk(2000, false), capacityBytes: Math.ceil((t.plainDs.freeBytes + MiB) / 512) * 512 };
      await expectHostError(f.platform.createVm(t.request("bad-5", [huge])), "InsufficientSpace", /free/);
      await expectHostError(f.platform.createVm(t.request("bad-6", [{ ...t.disk(2000, false), datastoreExternalId: "datastore-nope" }])), "NotFound", /datastore-nope/);
      await expectHostError(f.platform.createVm({ ...t.request("bad-7", [t.disk(2000, false)]), hostExternalId: "host-nope" }), "NotFound", /host-nope/);
      await expectHostError(f.platform.createVm(t.request("../etc", [t.disk(2000, false)])), "InvalidArgument", /name/);
      expect((await f.platform.inventory()).vms.length).toBe(before);
      await f.platform.createVm(t.request("taken", [t.disk(2000, false)]));
      await expectHostError(f.platform.createVm(t.request("taken", [t.disk(2000, false)])), "DuplicateName", /taken/);
      expect((await f.platform.inventory()).vms.length).toBe(before + 1);
    });

    it("writes an encrypted disk only through a mode that keeps it encrypted (never SAN), and only while the VM is off", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const vm = await f.platform.createVm(t.request("guarded", [t.disk(2000, true), t.disk(2001, false)]));
      await expectHostError(f.platform.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey: 2000, mode: "san", proxy: t.proxy("san") }), "TransportNotSupported", /SAN/);
      await expectHostError(f.platform.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey: 2009, mode: "nbdssl", proxy: t.proxy("nbdssl") }), "NotFound", /2009/);
      await f.platform.powerOn(vm.externalId);
      await expectHostError(f.platform.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey: 2001, mode: f.writeModes[0], proxy: t.proxy(f.writeModes[0]) }), "InvalidState", /power/);
      await expectHostError(f.platform.deleteVm(vm.externalId), "InvalidState", /power/);
      await f.platform.powerOff(vm.externalId);
      await f.platform.deleteVm(vm.externalId);
      expect((await f.platform.inventory()).vms.some((v) => v.externalId === vm.externalId)).toBe(false);
    });

    it("an encrypted VM powers on only while its key provider answers; creating one without it leaves nothing (VME-3)", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const vm = await f.platform.createVm(t.request("keyed", [t.disk(2000, true)]));
      f.setKeyProviderReachable(t.keyProvider, false);
      await expectHostError(f.platform.powerOn(vm.externalId), "KeyProviderUnavailable");
      const before = (await f.platform.inventory()).vms.length;
      await expectHostError(f.platform.createVm(t.request("keyless", [t.disk(2000, true)])), "KeyProviderUnavailable");
      expect((await f.platform.inventory()).vms.length).toBe(before);
      f.setKeyProviderReachable(t.keyProvider, true);
      expect((await f.platform.powerOn(vm.externalId)).powerState).toBe("poweredOn");
    });

    it("registers a VM with the saved keyId and encryption.bundle, and its NVRAM comes back as saved (RST-5); the same key id reuses the key (RST-4)", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const original = await f.platform.createVm({ ...t.request("original", [t.disk(2000, true)]), vtpm: true });
      const saved = await f.platform.vmFiles(original.externalId);
      expect(saved.keyId).toBe(original.keyId);
      expect(saved.encryptionBundle).toEqual(expect.any(String));
      const restored = await f.platform.createVm({
        ...t.request("original-restored", [t.disk(2000, true)]),
        vtpm: true,
        home: { ...t.encHome(), crypto: { kind: "saved-keys", keyProviderExternalId: t.keyProvider, keyId: saved.keyId!, encryptionBundle: saved.encryptionBundle! } },
        nvram: saved.nvram!,
      });
      expect(restored.keyId).toBe(original.keyId);
      const files = await f.platform.vmFiles(restored.externalId);
      expect(sha(files.nvram!)).toBe(sha(saved.nvram!));
      expect((await f.platform.powerOn(restored.externalId)).powerState).toBe("poweredOn");
      const sameKey = await f.platform.createVm({ ...t.request("same-key", [t.disk(2000, true)]), home: { ...t.encHome(), crypto: { kind: "key-id", keyProviderExternalId: t.keyProvider, keyId: original.keyId! } } });
      expect(sameKey.keyId).toBe(original.keyId);
      await expectHostError(
        f.platform.createVm({ ...t.request("wrong-nvram", [t.disk(2000, true)]), home: { ...t.encHome(), crypto: { kind: "new-key", keyProviderExternalId: t.keyProvider } }, nvram: saved.nvram! }),
        "InvalidArgument",
        /NVRAM/,
      );
    });

    it("adds an empty disk to a powered-off VM or replaces one (same device key, the old one deleted), writes it bit for bit, and detaches it (RST-7)", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const vm = await f.platform.createVm(t.request("attach-01", [t.disk(2000, true), t.disk(2001, false)]));
      const mode = f.writeModes.find((m) => m !== "san")!;
      const writeAll = async (deviceKey: number, data: Buffer) => {
        const w = await f.platform.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey, mode, proxy: t.proxy(mode) });
        await w.write(0, data);
        await w.close();
      };
      const readAll = async (deviceKey: number) => {
        const d = await f.platform.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey, mode: "nbdssl", proxy: t.proxy("nbdssl") });
        try {
          return await d.reader.read(0, 8 * MiB);
        } finally {
          await d.reader.close();
          await f.platform.releaseSnapshot(vm.externalId);
        }
      };
      await writeAll(2001, randomBytes(8 * MiB));
      const added = await f.platform.attachDisk({ vmExternalId: vm.externalId, disk: { ...t.disk(2002, true), label: "Hard disk 3" }, replace: false });
      expect(added.disks.map((d) => [d.deviceKey, d.encrypted])).toEqual([[2000, true], [2001, false], [2002, true]]);
      const seen = (await f.platform.inventory()).vms.find((v) => v.externalId === vm.externalId)!;
      expect(seen.disks.find((d) => d.deviceKey === 2002)).toMatchObject({ label: "Hard disk 3", encrypted: true, datastoreExternalId: t.encDs.externalId, capacityBytes: 8 * MiB });
      expect(sha(await readAll(2002))).toBe(sha(Buffer.alloc(8 * MiB))); // a new disk reads as zeros
      const data = randomBytes(8 * MiB);
      await writeAll(2002, data);
      expect(sha(await readAll(2002))).toBe(sha(data));
      // Replacing disk 2 (unencrypted) by an encrypted one: the old content is gone.
      const replaced = await f.platform.attachDisk({ vmExternalId: vm.externalId, disk: t.disk(2001, true), replace: true });
      expect(replaced.disks.find((d) => d.deviceKey === 2001)).toMatchObject({ encrypted: true, datastoreExternalId: t.encDs.externalId });
      expect(sha(await readAll(2001))).toBe(sha(Buffer.alloc(8 * MiB)));
      expect((await f.platform.vmRuntime(vm.externalId)).disks.map((d) => [d.deviceKey, d.encrypted])).toEqual([[2000, true], [2001, true], [2002, true]]);
      const detached = await f.platform.detachDisk(vm.externalId, 2002);
      expect(detached.disks.map((d) => d.deviceKey)).toEqual([2000, 2001]);
      expect((await f.platform.inventory()).vms.find((v) => v.externalId === vm.externalId)!.disks.map((d) => d.deviceKey)).toEqual([2000, 2001]);
      if (f.reopen) {
        const again = await f.reopen();
        expect((await again.inventory()).vms.find((v) => v.externalId === vm.externalId)!.disks.map((d) => [d.deviceKey, d.encrypted])).toEqual([[2000, true], [2001, true]]);
      }
    });

    it("refuses a disk vSphere would refuse and changes nothing: encrypted on an unencrypted VM or a non-policy datastore, a taken or missing device key, a running VM (RST-3)", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const plainVm = await f.platform.createVm(t.request("attach-plain", [t.disk(2000, false)]));
      const encVm = await f.platform.createVm(t.request("attach-enc", [t.disk(2000, true)]));
      const disksOf = async (id: string) => (await f.platform.inventory()).vms.find((v) => v.externalId === id)!.disks.map((d) => [d.deviceKey, d.encrypted, d.datastoreExternalId]);
      const before = [await disksOf(plainVm.externalId), await disksOf(encVm.externalId)];
      await expectHostError(f.platform.attachDisk({ vmExternalId: plainVm.externalId, disk: t.disk(2001, true), replace: false }), "InvalidArgument", /encrypted VM/);
      await expectHostError(f.platform.attachDisk({ vmExternalId: plainVm.externalId, disk: t.disk(2000, true), replace: true }), "InvalidArgument", /encrypted VM/);
      await expectHostError(f.platform.attachDisk({ vmExternalId: encVm.externalId, disk: { ...t.disk(2001, true), datastoreExternalId: t.plainDs.externalId }, replace: false }), "InvalidArgument", /not compatible/);
      await expectHostError(f.platform.attachDisk({ vmExternalId: encVm.externalId, disk: t.disk(2000, true), replace: false }), "InvalidArgument", /already has disk 2000/);
      await expectHostError(f.platform.attachDisk({ vmExternalId: encVm.externalId, disk: t.disk(2005, true), replace: true }), "NotFound", /2005/);
      await expectHostError(f.platform.detachDisk(encVm.externalId, 2000), "InvalidArgument", /only/);
      await expectHostError(f.platform.attachDisk({ vmExternalId: "vm-nope", disk: t.disk(2001, false), replace: false }), "NotFound");
      await f.platform.powerOn(encVm.externalId);
      await expectHostError(f.platform.attachDisk({ vmExternalId: encVm.externalId, disk: t.disk(2001, true), replace: false }), "InvalidState", /power/);
      await f.platform.powerOff(encVm.externalId);
      expect([await disksOf(plainVm.externalId), await disksOf(encVm.externalId)]).toEqual(before);
    });

    it("a deleted VM's space is free again", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const free = async () => (await f.platform.inventory()).datastores.find((d) => d.externalId === t.plainDs.externalId)!.freeBytes;
      const start = await free();
      const vm = await f.platform.createVm(t.request("spacey", [t.disk(2000, false)]));
      expect(await free()).toBe(start - 8 * MiB);
      await f.platform.deleteVm(vm.externalId);
      expect(await free()).toBe(start);
    });

    it("creates each network adapter on the port group asked, or disconnected without one; new MACs unless one is kept", async () => {
      const f = await open();
      const inv = await f.platform.inventory();
      const t = targets(inv);
      const onHost = inv.networks.filter((n) => n.siteExternalId === t.site && n.hostExternalIds.includes(t.host));
      expect(onHost.length).toBeGreaterThan(0);
      const net = onHost[0];
      const vm = await f.platform.createVm({
        ...t.request("wired", [t.disk(2000, false)]),
        nics: [
          { deviceKey: 4000, label: "Network adapter 1", adapterType: "vmxnet3", networkExternalId: net.externalId, connected: true },
          { deviceKey: 4001, label: "Network adapter 2", adapterType: "e1000e", networkExternalId: null, connected: false },
          { deviceKey: 4002, label: "Network adapter 3", adapterType: "vmxnet3", networkExternalId: net.externalId, connected: false, macAddress: "00:50:56:3F:00:01" },
        ],
      });
      const want = [
        { deviceKey: 4000, adapterType: "vmxnet3", networkExternalId: net.externalId, networkName: net.name, connected: true },
        { deviceKey: 4001, adapterType: "e1000e", networkExternalId: null, networkName: null, connected: false },
        { deviceKey: 4002, adapterType: "vmxnet3", networkExternalId: net.externalId, networkName: net.name, connected: false, macAddress: "00:50:56:3f:00:01" },
      ];
      expect(vm.nics).toMatchObject(want);
      expect((await f.platform.inventory()).vms.find((v) => v.externalId === vm.externalId)!.nics).toMatchObject(want);
      expect((await f.platform.vmRuntime(vm.externalId)).nics).toMatchObject(want);
      const macs = vm.nics.map((n) => n.macAddress);
      expect(new Set(macs).size).toBe(3);
      for (const m of macs.slice(0, 2)) expect(m).toMatch(/^00:50:56:[89ab][0-9a-f](:[0-9a-f]{2}){2}$/);
      const others = new Set(inv.vms.flatMap((v) => v.nics.map((n) => n.macAddress)));
      for (const m of macs) expect(others.has(m)).toBe(false);
    });

    it("refuses an adapter on a network the host does not have, an unknown network, a connected one without a network and a device key in use — and creates nothing", async () => {
      const f = await open();
      const inv = await f.platform.inventory();
      const t = targets(inv);
      const base = t.request("miswired", [t.disk(2000, false)]);
      const nic = (networkExternalId: string | null, extra: Partial<{ connected: boolean; deviceKey: number }> = {}) => ({ deviceKey: 4000, label: "Network adapter 1", adapterType: "vmxnet3" as const, networkExternalId, connected: networkExternalId !== null, ...extra });
      const usable = inv.hosts.filter((h) => h.siteExternalId === t.site && h.connectionState === "connected");
      const partial = inv.networks.find((n) => n.siteExternalId === t.site && usable.some((h) => !n.hostExternalIds.includes(h.externalId)));
      expect(partial, "the site has a port group that some of its hosts lack").toBeDefined();
      const lacking = usable.find((h) => !partial!.hostExternalIds.includes(h.externalId))!;
      await expectHostError(f.platform.createVm({ ...base, hostExternalId: lacking.externalId, nics: [nic(partial!.externalId)] }), "InvalidArgument", new RegExp(`network ${partial!.name} is not on host ${lacking.name}`));
      const otherSite = inv.networks.find((n) => n.siteExternalId !== t.site);
      expect(otherSite, "another site has networks").toBeDefined();
      await expectHostError(f.platform.createVm({ ...base, nics: [nic(otherSite!.externalId)] }), "NotFound", /no network/);
      await expectHostError(f.platform.createVm({ ...base, nics: [nic("network-404")] }), "NotFound", /no network network-404/);
      await expectHostError(f.platform.createVm({ ...base, nics: [nic(null, { connected: true })] }), "InvalidArgument", /cannot be connected/);
      await expectHostError(f.platform.createVm({ ...base, nics: [nic(null, { deviceKey: 2000 })] }), "InvalidArgument", /already used/);
      expect((await f.platform.inventory()).vms.some((v) => v.name === "miswired")).toBe(false);
    });

    it("keeps created VMs and their disks across a restart", async (ctx) => {
      const f = await open();
      if (!f.reopen) return ctx.skip();
      const t = targets(await f.platform.inventory());
      const net = (await f.platform.inventory()).networks.find((n) => n.siteExternalId === t.site && n.hostExternalIds.includes(t.host))!;
      const vm = await f.platform.createVm({
        ...t.request("durable", [t.disk(2000, true)]),
        nics: [
          { deviceKey: 4000, label: "Network adapter 1", adapterType: "vmxnet3", networkExternalId: net.externalId, connected: true },
          { deviceKey: 4001, label: "Network adapter 2", adapterType: "e1000e", networkExternalId: null, connected: false },
        ],
      });
      const w = await f.platform.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey: 2000, mode: f.writeModes[0], proxy: t.proxy(f.writeModes[0]) });
      const data = randomBytes(MiB);
      await w.write(MiB, data);
      await w.close();
      const again = await f.reopen();
      const seen = (await again.inventory()).vms.find((v) => v.externalId === vm.externalId);
      expect(seen).toMatchObject({ name: "durable", encrypted: true, keyId: vm.keyId });
      expect(seen!.nics).toEqual(vm.nics);
      expect((await again.vmRuntime(vm.externalId)).nics).toEqual(vm.nics);
      const disk = await again.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey: 2000, mode: "nbdssl", proxy: t.proxy("nbdssl") });
      expect(sha(await disk.reader.read(MiB, MiB))).toBe(sha(data));
      await disk.reader.close();
      await again.releaseSnapshot(vm.externalId);
    });
  });
}

/** Where the suite puts its VMs: the first site with both kinds of datastore and a key provider. */
function targets(inv: InventorySnapshot) {
  for (const site of inv.sites) {
    const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site.externalId && p.encryption)?.externalId;
    const host = inv.hosts.find((h) => h.siteExternalId === site.externalId && h.connectionState === "connected")?.externalId;
    const kp = inv.keyProviders.find((k) => k.siteExternalId === site.externalId && k.kind === "native") ?? inv.keyProviders.find((k) => k.siteExternalId === site.externalId);
    if (!encPolicy || !host || !kp) continue;
    const dss = inv.datastores.filter((d) => d.siteExternalId === site.externalId).sort((a, b) => b.freeBytes - a.freeBytes);
    const encDs = dss.find((d) => d.compatiblePolicyExternalIds.includes(encPolicy));
    const plainDs = dss.find((d) => !d.compatiblePolicyExternalIds.includes(encPolicy));
    if (!encDs || !plainDs) continue;
    const plainPolicyOf = (ds: PlatformDatastore) => ds.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
    const plainPolicy = plainPolicyOf(plainDs);
    const keyProvider = kp.externalId;
    const encHome = () => ({ datastoreExternalId: encDs.externalId, storagePolicyExternalId: encPolicy, crypto: { kind: "new-key" as const, keyProviderExternalId: keyProvider } });
    const plainHome = () => ({ datastoreExternalId: plainDs.externalId, storagePolicyExternalId: plainPolicy, crypto: { kind: "none" as const } });
    const disk = (deviceKey: number, encrypted: boolean): NewVmDisk => ({
      deviceKey,
      label: `Hard disk ${deviceKey - 1999}`,
      capacityBytes: 8 * MiB,
      datastoreExternalId: encrypted ? encDs.externalId : plainDs.externalId,
      storagePolicyExternalId: encrypted ? encPolicy : plainPolicy,
      encrypted,
    });
    const request = (name: string, disks: NewVmDisk[]): CreateVmRequest => ({
      siteExternalId: site.externalId,
      hostExternalId: host,
      name,
      folder: "/Restored",
      tenantExternalId: null,
      guestOs: "Ubuntu Linux (64-bit)",
      cpuCount: 2,
      memoryMiB: 2048,
      home: disks.some((d) => d.encrypted) ? encHome() : plainHome(),
      disks,
      vtpm: false,
    });
    const proxy = (mode: TransportMode): PolicyProxy => ({ kind: mode === "san" ? "physical" : "vm", transportModes: [mode], keyProviderExternalId: keyProvider, privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"], name: `contract-${mode}` });
    return { site: site.externalId, host, keyProvider, encPolicy, plainPolicy, encDs, plainDs, encHome, plainHome, disk, request, proxy };
  }
  throw new Error("the inventory has no site with an encryption-compatible datastore, another datastore and a key provider");
}

async function expectHostError(p: Promise<unknown>, code: HostError["code"], message?: RegExp): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, `expected HostError ${code}`).toBeInstanceOf(HostError);
  expect((e as HostError).code, (e as Error).message).toBe(code);
  if (message) expect((e as Error).message).toMatch(message);
}

function sha(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}
