// The replica host contract on the memory connector and on the fault-injecting one wrapping it.
import { describe, expect, it } from "vitest";
import { HostError } from "../errors";
import { generateEstate } from "../lab/estate";
import { FaultyConnector } from "./faulty-connector";
import { MemoryConnector } from "./memory-connector";
import { replicaHostContract } from "./replica-host-contract";

const estate = () => generateEstate({ vmCount: 12 });

replicaHostContract("memory", async () => {
  const platform = new MemoryConnector({ inventory: estate() });
  return { platform, setKeyProviderReachable: (kp, r) => platform.setKeyProviderReachable(kp, r), writeModes: ["nbdssl"], close: async () => {} };
});

replicaHostContract("faulty (unarmed) over memory", async () => {
  const memory = new MemoryConnector({ inventory: estate() });
  return { platform: new FaultyConnector(memory), setKeyProviderReachable: (kp, r) => memory.setKeyProviderReachable(kp, r), writeModes: ["nbdssl"], close: async () => {} };
});

describe("the fault-injecting connector and replica points", () => {
  it("fails a chosen point operation once and records it", async () => {
    const memory = new MemoryConnector({ inventory: estate() });
    const f = new FaultyConnector(memory);
    f.arm({ operation: "revertToSnapshot", error: new HostError("Unreachable", "host gone") });
    await expect(f.revertToSnapshot("vm-any", "rp-any")).rejects.toMatchObject({ code: "Unreachable" });
    await expect(f.revertToSnapshot("vm-any", "rp-any")).rejects.toMatchObject({ code: "NotFound" }); // the real answer once disarmed by firing
    expect(f.calls).toEqual(["revertToSnapshot", "revertToSnapshot"]);
  });
});
