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

it("the lab's guest writes under replica points through the copy-on-write, and not while a backup snapshot is also there", async () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "strongroom-lab-replica-guest-"));
  const lab = new LabConnector({ folder, vmCount: 12, diskDataMiB: 2 });
  try {
    const inv = await lab.inventory();
    const vm = inv.vms.find((v) => !v.encrypted && v.powerState === "poweredOff")!;
    await lab.powerOn(vm.externalId);
    await lab.guestWrites(vm.externalId, 1, 1); // the first fill
    await lab.powerOff(vm.externalId);
    const before = await lab.vmRuntime(vm.externalId);
    const point = await lab.createSnapshot(vm.externalId, "p1");
    await lab.powerOn(vm.externalId);
    expect((await lab.guestWrites(vm.externalId, 0.5, 2)).bytesWritten).toBeGreaterThan(0);
    await lab.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey: vm.disks[0].deviceKey, mode: "nbd", proxy: { kind: "physical", transportModes: ["nbd"], keyProviderExternalId: null, privileges: [], name: "p" } }).then((d) => d.reader.close());
    await expect(lab.guestWrites(vm.externalId, 0.5, 3)).rejects.toMatchObject({ code: "InvalidState", message: expect.stringMatching(/backup snapshot/) });
    await lab.releaseSnapshot(vm.externalId);
    await lab.powerOff(vm.externalId);
    await lab.revertToSnapshot(vm.externalId, point.id);
    expect((await lab.vmRuntime(vm.externalId)).disks.map((d) => d.allocatedBytes)).toEqual(before.disks.map((d) => d.allocatedBytes));
  } finally {
    await lab.close();
    rmSync(folder, { recursive: true, force: true });
  }
}, 30_000);
