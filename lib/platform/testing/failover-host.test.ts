// The failover host contract on the memory connector and on the fault-injecting one wrapping it.
import { describe, expect, it } from "vitest";
import { HostError } from "../errors";
import { generateEstate } from "../lab/estate";
import { failoverHostContract } from "./failover-host-contract";
import { FaultyConnector } from "./faulty-connector";
import { MemoryConnector } from "./memory-connector";

const estate = () => generateEstate({ vmCount: 12 });

failoverHostContract("memory", async () => {
  const platform = new MemoryConnector({ inventory: estate() });
  return { platform, setKeyProviderReachable: (kp, r) => platform.setKeyProviderReachable(kp, r), writeModes: ["nbdssl"], close: async () => {} };
});

failoverHostContract("faulty (unarmed) over memory", async () => {
  const memory = new MemoryConnector({ inventory: estate() });
  return { platform: new FaultyConnector(memory), setKeyProviderReachable: (kp, r) => memory.setKeyProviderReachable(kp, r), writeModes: ["nbdssl"], close: async () => {} };
});

describe("the fault-injecting connector and failover", () => {
  it("fails a key check or a network change once and records it", async () => {
    const f = new FaultyConnector(new MemoryConnector({ inventory: estate() }));
    f.arm({ operation: "checkKey", error: new HostError("Unreachable", "vCenter gone") }).arm({ operation: "setNetworks", error: new HostError("Unreachable", "vCenter gone") });
    await expect(f.checkKey({ siteExternalId: "s", keyProviderExternalId: "k", keyId: "x" })).rejects.toMatchObject({ code: "Unreachable" });
    await expect(f.setNetworks("vm-any", [])).rejects.toMatchObject({ code: "Unreachable" });
    await expect(f.setNetworks("vm-any", [])).rejects.toMatchObject({ code: "NotFound" });
    expect(f.calls).toEqual(["checkKey", "setNetworks", "setNetworks"]);
  });
});
