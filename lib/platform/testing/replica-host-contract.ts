// The replica host's contract (replica-host.ts, REP-1), as one suite every platform runs: the memory
// connector, the fault-injecting one (unarmed) and the lab. Points are checked by what the disks
// read after a revert, bit for bit, on an encrypted and an unencrypted disk of one VM.

import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { InventorySnapshot, TransportMode } from "../connector";
import { HostError } from "../errors";
import type { CreateVmRequest } from "../restore-host";
import type { PolicyProxy } from "../transport-policy";
import type { FaultablePlatform } from "./faulty-connector";
import type { RestoreHostFixture } from "./restore-host-contract";

const MiB = 1024 * 1024;
const DISK = 8 * MiB;

export function replicaHostContract(name: string, make: () => Promise<RestoreHostFixture>): void {
  describe(`replica host contract: ${name}`, { timeout: 30_000 }, () => {
    let fixture: RestoreHostFixture | undefined;
    const open = async () => (fixture = await make());
    afterEach(async () => {
      await fixture?.close();
      fixture = undefined;
    });

    it("keeps a chain of points; reverting brings both disks back bit for bit and removes newer points", async () => {
      const f = await open();
      const t = await setup(f.platform);
      const vm = await f.platform.createVm(t.request("replica-chain"));
      const a = await t.write(f.platform, vm.externalId, [{ at: 0, bytes: 2 * MiB }]);
      const p1 = await f.platform.createSnapshot(vm.externalId, "point 1");
      const b = await t.write(f.platform, vm.externalId, [{ at: MiB + 512, bytes: MiB }, { at: 5 * MiB, bytes: MiB }]); // overwrites and a hole
      const p2 = await f.platform.createSnapshot(vm.externalId, "point 2");
      expect((await f.platform.listSnapshots(vm.externalId)).map((p) => [p.id, p.name])).toEqual([[p1.id, "point 1"], [p2.id, "point 2"]]);
      expect(p2.disks.map((d) => d.deviceKey).sort()).toEqual([2000, 2001]);
      expect(new Date(p2.createdAt).getTime()).toBeGreaterThanOrEqual(new Date(p1.createdAt).getTime());
      await t.write(f.platform, vm.externalId, [{ at: 0, bytes: 8 * MiB }]); // everything changes after the newest point
      await f.platform.revertToSnapshot(vm.externalId, p2.id);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(b);
      await t.write(f.platform, vm.externalId, [{ at: 3 * MiB, bytes: 2 * MiB }]);
      await f.platform.revertToSnapshot(vm.externalId, p1.id);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(a);
      expect((await f.platform.listSnapshots(vm.externalId)).map((p) => p.id)).toEqual([p1.id]);
      // Reverting twice is harmless, and the point still holds after more writes.
      await f.platform.revertToSnapshot(vm.externalId, p1.id);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(a);
    });

    it("removing a middle or the oldest point keeps every other point as it was", async () => {
      const f = await open();
      const t = await setup(f.platform);
      const vm = await f.platform.createVm(t.request("replica-remove"));
      const a = await t.write(f.platform, vm.externalId, [{ at: 0, bytes: 3 * MiB }]);
      const p1 = await f.platform.createSnapshot(vm.externalId, "p1");
      await t.write(f.platform, vm.externalId, [{ at: MiB, bytes: 3 * MiB }]);
      const p2 = await f.platform.createSnapshot(vm.externalId, "p2");
      const c = await t.write(f.platform, vm.externalId, [{ at: 2 * MiB, bytes: 4 * MiB }]);
      const p3 = await f.platform.createSnapshot(vm.externalId, "p3");
      await t.write(f.platform, vm.externalId, [{ at: 0, bytes: 8 * MiB }]);
      await f.platform.removeSnapshot(vm.externalId, p2.id);
      expect((await f.platform.listSnapshots(vm.externalId)).map((p) => p.id)).toEqual([p1.id, p3.id]);
      await f.platform.revertToSnapshot(vm.externalId, p3.id);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(c);
      await f.platform.revertToSnapshot(vm.externalId, p1.id);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(a);

      const b = await t.write(f.platform, vm.externalId, [{ at: 6 * MiB, bytes: MiB }]);
      const p4 = await f.platform.createSnapshot(vm.externalId, "p4");
      await t.write(f.platform, vm.externalId, [{ at: 0, bytes: 7 * MiB }]);
      await f.platform.removeSnapshot(vm.externalId, p1.id); // the oldest
      expect((await f.platform.listSnapshots(vm.externalId)).map((p) => p.id)).toEqual([p4.id]);
      await f.platform.revertToSnapshot(vm.externalId, p4.id);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(b);
    });

    it("a point's change ids answer what changed on the replica after it (CBT)", async () => {
      const f = await open();
      const t = await setup(f.platform);
      const vm = await f.platform.createVm(t.request("replica-cbt"));
      await t.write(f.platform, vm.externalId, [{ at: 0, bytes: 4 * MiB }]);
      const p1 = await f.platform.createSnapshot(vm.externalId, "p1");
      await t.write(f.platform, vm.externalId, [{ at: 6 * MiB, bytes: MiB }]);
      for (const deviceKey of [2000, 2001]) {
        const d = await f.platform.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey, mode: "nbdssl", proxy: t.proxy("nbdssl") });
        await d.reader.close();
        const since = p1.disks.find((x) => x.deviceKey === deviceKey)!.changeId;
        const areas = await f.platform.queryChangedAreas({ vmExternalId: vm.externalId, deviceKey, changeId: since });
        const covers = (at: number) => areas.some((a) => a.start <= at && at < a.start + a.length);
        expect(covers(6 * MiB), `disk ${deviceKey} change after the point`).toBe(true);
        expect(covers(2 * MiB), `disk ${deviceKey} unchanged since the point`).toBe(false);
        await f.platform.releaseSnapshot(vm.externalId);
      }
    });

    it("a guest write after a point never changes the point: reverting undoes it, CBT records it", async (ctx) => {
      const f = await open();
      const guest = f.platform as FaultablePlatform & { guestWrites?: (vmId: string, fraction: number, seed?: number) => Promise<{ changedBlocks: number }> };
      if (typeof guest.guestWrites !== "function") return ctx.skip(); // a platform without a simulated guest
      const t = await setup(f.platform);
      const vm = await f.platform.createVm(t.request("replica-guest"));
      const a = await t.write(f.platform, vm.externalId, [{ at: 0, bytes: 3 * MiB }]);
      const p1 = await f.platform.createSnapshot(vm.externalId, "p1");
      await f.platform.powerOn(vm.externalId);
      expect((await guest.guestWrites(vm.externalId, 1, 7)).changedBlocks).toBeGreaterThan(0);
      await f.platform.powerOff(vm.externalId);
      const written = await t.prints(f.platform, vm.externalId);
      expect(written[0]).not.toBe(a[0]);
      expect(written[1]).not.toBe(a[1]);
      for (const deviceKey of [2000, 2001]) {
        const d = await f.platform.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey, mode: "nbdssl", proxy: t.proxy("nbdssl") });
        await d.reader.close();
        const areas = await f.platform.queryChangedAreas({ vmExternalId: vm.externalId, deviceKey, changeId: p1.disks.find((x) => x.deviceKey === deviceKey)!.changeId });
        expect(areas.some((x) => x.start === 0), `disk ${deviceKey}: the guest's write is a change since the point`).toBe(true);
        await f.platform.releaseSnapshot(vm.externalId);
      }
      await f.platform.revertToSnapshot(vm.externalId, p1.id);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(a);
      // A second round of guest writes after the revert is undone as well.
      await f.platform.powerOn(vm.externalId);
      await guest.guestWrites(vm.externalId, 0.5, 8);
      await f.platform.powerOff(vm.externalId);
      await f.platform.revertToSnapshot(vm.externalId, p1.id);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(a);
    });

    it("refuses a running VM, an open writer, an unknown point or VM and a bad name, and changes nothing", async () => {
      const f = await open();
      const t = await setup(f.platform);
      const vm = await f.platform.createVm(t.request("replica-refusals"));
      const a = await t.write(f.platform, vm.externalId, [{ at: 0, bytes: MiB }]);
      const p1 = await f.platform.createSnapshot(vm.externalId, "p1");
      await expectHostError(f.platform.createSnapshot(vm.externalId, ""), "InvalidArgument");
      await expectHostError(f.platform.createSnapshot(vm.externalId, "x".repeat(81)), "InvalidArgument");
      await expectHostError(f.platform.revertToSnapshot(vm.externalId, "rp-nope"), "NotFound");
      await expectHostError(f.platform.removeSnapshot(vm.externalId, "rp-nope"), "NotFound");
      await expectHostError(f.platform.listSnapshots("vm-nope"), "NotFound");
      const w = await f.platform.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey: 2001, mode: "nbdssl", proxy: t.proxy("nbdssl") });
      await expectHostError(f.platform.createSnapshot(vm.externalId, "p2"), "InvalidState", /writing/);
      await expectHostError(f.platform.revertToSnapshot(vm.externalId, p1.id), "InvalidState", /writing/);
      await w.close();
      await f.platform.powerOn(vm.externalId);
      await expectHostError(f.platform.createSnapshot(vm.externalId, "p2"), "InvalidState", /power/);
      await expectHostError(f.platform.revertToSnapshot(vm.externalId, p1.id), "InvalidState", /power/);
      await f.platform.powerOff(vm.externalId);
      expect((await f.platform.listSnapshots(vm.externalId)).map((p) => p.id)).toEqual([p1.id]);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(a);
    });

    it("removes points of a running VM (a permanent failover commits them); its disks stay as they are", async () => {
      const f = await open();
      const t = await setup(f.platform);
      const vm = await f.platform.createVm(t.request("replica-commit"));
      await t.write(f.platform, vm.externalId, [{ at: 0, bytes: MiB }]);
      const p1 = await f.platform.createSnapshot(vm.externalId, "p1");
      const b = await t.write(f.platform, vm.externalId, [{ at: 2 * MiB, bytes: MiB }]);
      const p2 = await f.platform.createSnapshot(vm.externalId, "p2");
      await f.platform.powerOn(vm.externalId);
      await f.platform.removeSnapshot(vm.externalId, p2.id);
      await f.platform.removeSnapshot(vm.externalId, p1.id);
      expect(await f.platform.listSnapshots(vm.externalId)).toEqual([]);
      await f.platform.powerOff(vm.externalId);
      expect(await t.prints(f.platform, vm.externalId)).toEqual(b);
    });

    it("keeps points across a restart, and a VM with points deletes with them", async (ctx) => {
      const f = await open();
      if (!f.reopen) return ctx.skip();
      const t = await setup(f.platform);
      const vm = await f.platform.createVm(t.request("replica-durable"));
      const a = await t.write(f.platform, vm.externalId, [{ at: 0, bytes: 2 * MiB }]);
      const p1 = await f.platform.createSnapshot(vm.externalId, "p1");
      await t.write(f.platform, vm.externalId, [{ at: MiB, bytes: 2 * MiB }]);
      const again = await f.reopen();
      expect((await again.listSnapshots(vm.externalId)).map((p) => p.id)).toEqual([p1.id]);
      await again.revertToSnapshot(vm.externalId, p1.id);
      expect(await t.prints(again, vm.externalId)).toEqual(a);
      await again.deleteVm(vm.externalId);
      await expectHostError(again.listSnapshots(vm.externalId), "NotFound");
    });
  });
}

interface Span {
  at: number;
  bytes: number;
}

async function setup(platform: FaultablePlatform) {
  const inv = await platform.inventory();
  const t = targets(inv);
  /** Writes random bytes at the spans of both disks; returns what both disks hold then (hashes). */
  const write = async (p: FaultablePlatform, vmId: string, spans: Span[]) => {
    for (const deviceKey of [2000, 2001]) {
      const w = await p.openDiskForWrite({ vmExternalId: vmId, deviceKey, mode: "nbdssl", proxy: t.proxy("nbdssl") });
      for (const s of spans) await w.write(s.at, randomBytes(Math.min(s.bytes, DISK - s.at)));
      await w.close();
    }
    return prints(p, vmId);
  };
  const prints = async (p: FaultablePlatform, vmId: string) => {
    const out: string[] = [];
    for (const deviceKey of [2000, 2001]) {
      const d = await p.openDiskForBackup({ vmExternalId: vmId, deviceKey, mode: "nbdssl", proxy: t.proxy("nbdssl") });
      try {
        out.push(createHash("sha256").update(await d.reader.read(0, DISK)).digest("hex"));
      } finally {
        await d.reader.close();
      }
    }
    await p.releaseSnapshot(vmId);
    return out;
  };
  return { ...t, write, prints };
}

function targets(inv: InventorySnapshot) {
  for (const site of inv.sites) {
    const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site.externalId && p.encryption)?.externalId;
    const host = inv.hosts.find((h) => h.siteExternalId === site.externalId && h.connectionState === "connected")?.externalId;
    const kp = inv.keyProviders.find((k) => k.siteExternalId === site.externalId && k.kind === "native");
    const encDs = inv.datastores.filter((d) => d.siteExternalId === site.externalId && encPolicy && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
    if (!encPolicy || !host || !kp || !encDs) continue;
    const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption);
    if (!plainPolicy) continue;
    const request = (name: string): CreateVmRequest => ({
      siteExternalId: site.externalId,
      hostExternalId: host,
      name,
      folder: "/Replicas",
      tenantExternalId: null,
      guestOs: "Ubuntu Linux (64-bit)",
      cpuCount: 1,
      memoryMiB: 1024,
      home: { datastoreExternalId: encDs.externalId, storagePolicyExternalId: encPolicy, crypto: { kind: "new-key", keyProviderExternalId: kp.externalId } },
      disks: [
        { deviceKey: 2000, label: "Hard disk 1", capacityBytes: DISK, datastoreExternalId: encDs.externalId, storagePolicyExternalId: encPolicy, encrypted: true },
        { deviceKey: 2001, label: "Hard disk 2", capacityBytes: DISK, datastoreExternalId: encDs.externalId, storagePolicyExternalId: plainPolicy, encrypted: false },
      ],
      vtpm: false,
    });
    const proxy = (mode: TransportMode): PolicyProxy => ({ kind: "vm", transportModes: [mode], keyProviderExternalId: kp.externalId, privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"], name: `contract-${mode}` });
    return { request, proxy };
  }
  throw new Error("the inventory has no site with an encryption-compatible datastore that also takes a plain policy, and a native key provider");
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
