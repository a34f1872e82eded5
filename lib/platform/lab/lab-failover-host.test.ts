// The failover host contract on the lab: keys asked of the site's key provider, adapters kept in
// the created VM's record (across a restart too).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { failoverHostContract } from "../testing/failover-host-contract";
import { KeyProviderError } from "./data-plane";
import { LabConnector } from "./lab-connector";
import { nativeOnlyKeySources, type LabKeySources } from "./lab-key-sources";

/** The lab's native providers, any of which can be made to stop answering (a KMS outage). */
function switchableKeySources(folder: string): LabKeySources & { down: Set<string> } {
  const inner = nativeOnlyKeySources(folder);
  const down = new Set<string>();
  return {
    down,
    async forProvider(p) {
      const source = await inner.forProvider(p);
      const gone = () => new KeyProviderError("unreachable", `${p.name} does not answer (connection refused)`);
      return {
        providerId: source.providerId,
        createKey: () => (down.has(p.keyProviderExternalId) ? Promise.reject(gone()) : source.createKey()),
        getKey: (id) => (down.has(p.keyProviderExternalId) ? Promise.reject(gone()) : source.getKey(id)),
      };
    },
  };
}

failoverHostContract("lab", async () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "strongroom-lab-failover-"));
  const keySources = switchableKeySources(folder);
  const lab = new LabConnector({ folder, vmCount: 12, keySources });
  return {
    platform: lab,
    setKeyProviderReachable: (kp, reachable) => void (reachable ? keySources.down.delete(kp) : keySources.down.add(kp)),
    writeModes: ["nbdssl"],
    close: async () => {
      await lab.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
});

it("the lab keeps a created VM's reconnected adapters across a restart, and refuses its estate's VMs", async () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "strongroom-lab-failover-nets-"));
  const lab = new LabConnector({ folder, vmCount: 12 });
  try {
    const inv = await lab.inventory();
    const estateVm = inv.vms.find((v) => v.powerState === "poweredOff" && v.nics.length > 0)!;
    await expect(lab.setNetworks(estateVm.externalId, [{ nicDeviceKey: estateVm.nics[0].deviceKey, networkExternalId: null }])).rejects.toMatchObject({ code: "InvalidArgument" });
    const host = inv.hosts.find((h) => h.siteExternalId === estateVm.siteExternalId && h.connectionState === "connected")!;
    const net = inv.networks.find((n) => n.hostExternalIds.includes(host.externalId))!;
    const ds = inv.datastores.find((d) => d.siteExternalId === host.siteExternalId && d.compatiblePolicyExternalIds.length > 0)!;
    const vm = await lab.createVm({
      siteExternalId: host.siteExternalId,
      hostExternalId: host.externalId,
      name: "failover-nets-restart",
      folder: "/Replicas",
      tenantExternalId: null,
      guestOs: "Ubuntu Linux (64-bit)",
      cpuCount: 1,
      memoryMiB: 512,
      home: { datastoreExternalId: ds.externalId, storagePolicyExternalId: ds.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!, crypto: { kind: "none" } },
      disks: [{ deviceKey: 2000, label: "Hard disk 1", capacityBytes: 1024 * 1024, datastoreExternalId: ds.externalId, storagePolicyExternalId: ds.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!, encrypted: false }],
      nics: [{ deviceKey: 4000, label: "Network adapter 1", adapterType: "vmxnet3", networkExternalId: null, connected: false }],
      vtpm: false,
    });
    await lab.setNetworks(vm.externalId, [{ nicDeviceKey: 4000, networkExternalId: net.externalId }]);
    await lab.close();
    const again = new LabConnector({ folder, vmCount: 12 });
    try {
      const nic = (await again.inventory()).vms.find((v) => v.externalId === vm.externalId)!.nics[0];
      expect([nic.networkExternalId, nic.networkName, nic.connected]).toEqual([net.externalId, net.name, true]);
    } finally {
      await again.close();
    }
  } finally {
    await lab.close();
    rmSync(folder, { recursive: true, force: true });
  }
}, 30_000);
