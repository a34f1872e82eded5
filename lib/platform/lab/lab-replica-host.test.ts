// The replica host contract on the lab: points as undo extents on real files, kept across a restart.
import { mkdtempSync, rmSync } from "node:fs";
import { expect, it } from "vitest";
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

it("the lab's guest does not write under replica points (they would change silently); without points it writes", async () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "strongroom-lab-replica-guest-"));
  const lab = new LabConnector({ folder, vmCount: 12, diskDataMiB: 2 });
  try {
    const inv = await lab.inventory();
    const vm = inv.vms.find((v) => !v.encrypted && v.powerState === "poweredOff")!;
    const point = await lab.createSnapshot(vm.externalId, "p1");
    await lab.powerOn(vm.externalId);
    await expect(lab.guestWrites(vm.externalId, 1)).rejects.toMatchObject({ code: "InvalidState", message: expect.stringMatching(/replica points/) });
    await lab.powerOff(vm.externalId);
    await lab.removeSnapshot(vm.externalId, point.id);
    await lab.powerOn(vm.externalId);
    expect((await lab.guestWrites(vm.externalId, 1)).bytesWritten).toBeGreaterThan(0);
  } finally {
    await lab.close();
    rmSync(folder, { recursive: true, force: true });
  }
}, 30_000);
