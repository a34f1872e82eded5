// The restore host contract on the memory connector and on the fault-injecting one wrapping it
// (unarmed: it must answer exactly as what it wraps), plus what the faults themselves do.
import { describe, expect, it } from "vitest";
import { generateEstate } from "../lab/estate";
import { HostError } from "../errors";
import { FaultyConnector } from "./faulty-connector";
import { MemoryConnector } from "./memory-connector";
import { restoreHostContract } from "./restore-host-contract";

const estate = () => generateEstate({ vmCount: 12 });

restoreHostContract("memory", async () => {
  const platform = new MemoryConnector({ inventory: estate() });
  return { platform, setKeyProviderReachable: (kp, r) => platform.setKeyProviderReachable(kp, r), writeModes: ["hotadd", "nbd", "nbdssl", "san"], close: async () => {} };
});

restoreHostContract("faulty (unarmed) over memory", async () => {
  const memory = new MemoryConnector({ inventory: estate() });
  return { platform: new FaultyConnector(memory), setKeyProviderReachable: (kp, r) => memory.setKeyProviderReachable(kp, r), writeModes: ["hotadd", "nbdssl"], close: async () => {} };
});

describe("the fault-injecting connector", () => {
  it("fails the chosen operation after the given calls, once, and records every call", async () => {
    const f = new FaultyConnector(new MemoryConnector({ inventory: estate() }));
    f.arm({ operation: "inventory", after: 1, error: new HostError("Unreachable", "vCenter does not answer") });
    await f.inventory();
    await expect(f.inventory()).rejects.toMatchObject({ code: "Unreachable" });
    await f.inventory();
    expect(f.calls).toEqual(["inventory", "inventory", "inventory"]);
  });

  it("fails a disk writer once the given bytes are written", async () => {
    const memory = new MemoryConnector({ inventory: estate() });
    const f = new FaultyConnector(memory);
    const inv = await f.inventory();
    const site = inv.sites[0];
    const ds = inv.datastores.find((d) => d.siteExternalId === site.externalId)!;
    const policy = ds.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
    const vm = await f.createVm({
      siteExternalId: site.externalId,
      hostExternalId: inv.hosts.find((h) => h.siteExternalId === site.externalId && h.connectionState === "connected")!.externalId,
      name: "victim",
      folder: "/x",
      tenantExternalId: null,
      guestOs: "Other",
      cpuCount: 1,
      memoryMiB: 512,
      home: { datastoreExternalId: ds.externalId, storagePolicyExternalId: policy, crypto: { kind: "none" } },
      disks: [{ deviceKey: 2000, label: "Hard disk 1", capacityBytes: 4 << 20, datastoreExternalId: ds.externalId, storagePolicyExternalId: policy, encrypted: false }],
      vtpm: false,
    });
    f.arm({ operation: "write", after: 1 << 20, error: new HostError("InsufficientSpace", "datastore full") });
    const w = await f.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey: 2000, mode: "nbd", proxy: { kind: "vm", transportModes: ["nbd"], keyProviderExternalId: null, privileges: [] } });
    await w.write(0, Buffer.alloc(1 << 20, 1));
    await expect(w.write(1 << 20, Buffer.alloc(1 << 20, 2))).rejects.toMatchObject({ code: "InsufficientSpace" });
    await w.abort();
  });
});
