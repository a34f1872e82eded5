// The restore host contract on the lab: VMs created on real files, written through the lab's
// transport modes, kept across a restart of the connector.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { restoreHostContract } from "../testing/restore-host-contract";
import { KeyProviderError } from "./data-plane";
import { LabConnector } from "./lab-connector";
import { nativeOnlyKeySources, type LabKeySources } from "./lab-key-sources";

restoreHostContract("lab", async () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "strongroom-lab-restore-"));
  const unreachable = new Set<string>();
  const native = nativeOnlyKeySources(folder);
  const keySources: LabKeySources = {
    forProvider: (p) => (unreachable.has(p.keyProviderExternalId) ? Promise.reject(new KeyProviderError("unreachable", `${p.name} does not answer`)) : native.forProvider(p)),
  };
  const connectors: LabConnector[] = [];
  const connector = () => {
    const c = new LabConnector({ folder, vmCount: 12, keySources });
    connectors.push(c);
    return c;
  };
  return {
    platform: connector(),
    setKeyProviderReachable: (kp, reachable) => (reachable ? unreachable.delete(kp) : unreachable.add(kp)),
    writeModes: ["hotadd", "nbd", "nbdssl", "san"],
    reopen: async () => connector(),
    close: async () => {
      for (const c of connectors) await c.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
});
