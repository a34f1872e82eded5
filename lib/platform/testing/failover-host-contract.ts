// The failover host's contract (failover-host.ts, FOV-1), as one suite every platform runs: the
// memory connector, the fault-injecting one (unarmed) and the lab. A key is asked of the provider
// itself (so an outage shows even when a key was used a moment before); adapters are reconnected
// only on a powered-off VM, and a refused choice changes nothing.

import { afterEach, describe, expect, it } from "vitest";
import type { InventorySnapshot } from "../connector";
import { HostError } from "../errors";
import type { CreateVmRequest } from "../restore-host";
import type { RestoreHostFixture } from "./restore-host-contract";

const MiB = 1024 * 1024;

export function failoverHostContract(name: string, make: () => Promise<RestoreHostFixture>): void {
  describe(`failover host contract: ${name}`, { timeout: 30_000 }, () => {
    let fixture: RestoreHostFixture | undefined;
    const open = async () => (fixture = await make());
    afterEach(async () => {
      await fixture?.close();
      fixture = undefined;
    });

    it("checkKey: the VM's key unlocks; a key the provider lacks, an unreachable provider and an unknown one are told apart", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const vm = await f.platform.createVm(t.request("failover-keys"));
      expect(vm.keyId).toBeTruthy();
      const ask = (keyId: string, keyProviderExternalId = t.kp) => f.platform.checkKey({ siteExternalId: t.site, keyProviderExternalId, keyId });
      expect(await ask(vm.keyId!)).toEqual({ ok: true });
      expect(await ask("00000000-0000-4000-8000-000000000000")).toMatchObject({ ok: false, reason: "key-not-found" });
      await expectHostError(ask(vm.keyId!, "kp-nope"), "NotFound");
      await expectHostError(f.platform.checkKey({ siteExternalId: t.otherSite, keyProviderExternalId: t.kp, keyId: vm.keyId! }), "NotFound");
      f.setKeyProviderReachable(t.kp, false);
      try {
        const down = await ask(vm.keyId!);
        expect(down).toMatchObject({ ok: false, reason: "unreachable" });
        expect((down as { message: string }).message.length).toBeGreaterThan(0);
      } finally {
        f.setKeyProviderReachable(t.kp, true);
      }
      expect(await ask(vm.keyId!)).toEqual({ ok: true });
    });

    it("setNetworks: a powered-off VM's adapters go to the chosen networks or none; refusals change nothing", async () => {
      const f = await open();
      const t = targets(await f.platform.inventory());
      const vm = await f.platform.createVm(t.request("failover-nets"));
      expect(vm.nics.map((n) => [n.networkExternalId, n.connected])).toEqual([[null, false], [null, false]]);
      const moved = await f.platform.setNetworks(vm.externalId, [{ nicDeviceKey: 4000, networkExternalId: t.network.externalId }]);
      expect(moved.nics.map((n) => [n.deviceKey, n.networkExternalId, n.networkName, n.connected])).toEqual([
        [4000, t.network.externalId, t.network.name, true],
        [4001, null, null, false],
      ]);
      expect((await f.platform.inventory()).vms.find((v) => v.externalId === vm.externalId)!.nics[0].networkExternalId).toBe(t.network.externalId);
      expect((await f.platform.vmRuntime(vm.externalId)).nics[0].connected).toBe(true);
      await expectHostError(f.platform.setNetworks(vm.externalId, [{ nicDeviceKey: 4001, networkExternalId: t.network.externalId }, { nicDeviceKey: 4999, networkExternalId: null }]), "NotFound");
      if (t.offHostNetwork) await expectHostError(f.platform.setNetworks(vm.externalId, [{ nicDeviceKey: 4001, networkExternalId: t.offHostNetwork }]), "NotFound");
      await expectHostError(f.platform.setNetworks(vm.externalId, [{ nicDeviceKey: 4001, networkExternalId: "network-nope" }]), "NotFound");
      await f.platform.powerOn(vm.externalId);
      await expectHostError(f.platform.setNetworks(vm.externalId, [{ nicDeviceKey: 4000, networkExternalId: null }]), "InvalidState", /power/);
      await f.platform.powerOff(vm.externalId);
      const after = (await f.platform.inventory()).vms.find((v) => v.externalId === vm.externalId)!;
      expect(after.nics.map((n) => [n.networkExternalId, n.connected])).toEqual([[t.network.externalId, true], [null, false]]);
      const back = await f.platform.setNetworks(vm.externalId, [{ nicDeviceKey: 4000, networkExternalId: null }]);
      expect(back.nics.map((n) => [n.networkExternalId, n.connected])).toEqual([[null, false], [null, false]]);
    });
  });
}

function targets(inv: InventorySnapshot) {
  for (const site of inv.sites) {
    const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site.externalId && p.encryption)?.externalId;
    const host = inv.hosts.find((h) => h.siteExternalId === site.externalId && h.connectionState === "connected")?.externalId;
    const kp = inv.keyProviders.find((k) => k.siteExternalId === site.externalId && k.kind === "native");
    const encDs = inv.datastores.filter((d) => d.siteExternalId === site.externalId && encPolicy && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
    const network = inv.networks.find((n) => n.siteExternalId === site.externalId && host && n.hostExternalIds.includes(host));
    const otherSite = inv.sites.find((s) => s.externalId !== site.externalId)?.externalId;
    if (!encPolicy || !host || !kp || !encDs || !network || !otherSite) continue;
    const offHostNetwork = inv.networks.find((n) => n.siteExternalId === site.externalId && !n.hostExternalIds.includes(host))?.externalId ?? null;
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
      disks: [{ deviceKey: 2000, label: "Hard disk 1", capacityBytes: 4 * MiB, datastoreExternalId: encDs.externalId, storagePolicyExternalId: encPolicy, encrypted: true }],
      nics: [
        { deviceKey: 4000, label: "Network adapter 1", adapterType: "vmxnet3", networkExternalId: null, connected: false },
        { deviceKey: 4001, label: "Network adapter 2", adapterType: "vmxnet3", networkExternalId: null, connected: false },
      ],
      vtpm: false,
    });
    return { site: site.externalId, otherSite, kp: kp.externalId, network, offHostNetwork, request };
  }
  throw new Error("the inventory has no site with an encryption-compatible datastore, a native key provider and a network on a connected host");
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
