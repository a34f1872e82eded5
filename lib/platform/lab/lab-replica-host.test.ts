// The replica host contract on the lab: points as undo extents on real files, kept across a restart.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { replicaHostContract } from "../testing/replica-host-contract";
import { LabConnector } from "./lab-connector";

replicaHostContract("lab", async () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "strongroom-lab-replica-"));
  const connectors: LabConnector[] = [];
  const connector = () => {
    const c = new LabConnector({ folder, vmCount: 12 });
    connectors.push(c);
    return c;
  };
  return {
    platform: connector(),
    setKeyProviderReachable: () => {
      throw new Error("not used by the replica host contract");
    },
    writeModes: ["nbdssl"],
    reopen: async () => connector(),
    close: async () => {
      for (const c of connectors) await c.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
});
