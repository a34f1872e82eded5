// The replica host contract on the memory connector and on the fault-injecting one wrapping it.
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
