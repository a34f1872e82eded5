// Shared fixtures for the pipeline's tests (tests only).

import { createHash } from "node:crypto";
import type { PlatformProxy, PlatformVm, TransportMode } from "../../platform/connector";
import type { DiskArea } from "../../platform/disk-io";
import type { OpenPoint } from "../repository/open-point";
import { blocksOfAreas } from "./backup-disk";
import { diskIdOf, type VmBackupHost } from "./backup-vm";
import { LabConnector } from "../../platform/lab/lab-connector";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "../keys/user-key";
import { KeyRing } from "../keys/key-ring";
import { MemoryStore } from "../repository/memory-store";
import { createRepository } from "../repository/repository";
import type { CandidateProxy } from "./proxy-selection";

const MiB = 1024 * 1024;

export function candidate(vm: PlatformVm, overrides: Partial<PlatformProxy> = {}): CandidateProxy {
  return {
    externalId: "proxy-test",
    name: "proxy-test",
    kind: "vm",
    siteExternalId: vm.siteExternalId,
    transportModes: ["hotadd", "nbd", "nbdssl"],
    maxTasks: 4,
    keyProviderExternalId: vm.keyProviderExternalId,
    tenantExternalId: null,
    privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"],
    activeTasks: 0,
    ...overrides,
  };
}

/** The connector's backup host as a plain object, so a test can spread it and replace one method. */
export function backupHostOf(c: VmBackupHost): VmBackupHost {
  return {
    openDiskForBackup: (o) => c.openDiskForBackup(o),
    queryChangedAreas: (q) => c.queryChangedAreas(q),
    releaseSnapshot: (vm) => c.releaseSnapshot(vm),
    vmFiles: c.vmFiles && ((vm) => c.vmFiles!(vm)),
  };
}

/** A lab on `folder` with small disks, a 1 MiB-block repository in memory and a weak password key. */
export async function labAndRepository(folder: string, diskDataMiB = 2) {
  const connector = new LabConnector({ folder, diskDataMiB });
  const repository = await createRepository(new MemoryStore());
  const password = await createPasswordKey("pipeline test password", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
  const keyRing = new KeyRing().addPasswordKey(password);
  const inventoryVm = async (id: string) => (await connector.inventory()).vms.find((v) => v.externalId === id)!;
  return { connector, repository, password, keyRing, protection: { password }, inventoryVm };
}

/**
 * Compares a restore point's disk with the live disk bit for bit, as a snapshot opened through
 * `host` serves it: every block of the disk's written areas, and no data block outside them.
 * Returns the blocks that differ (empty: identical). Releases the snapshot.
 */
export async function diskDifferences(o: { host: VmBackupHost; point: OpenPoint; vm: PlatformVm; deviceKey: number; proxy: CandidateProxy; mode: TransportMode }): Promise<string[]> {
  const { host, point, vm } = o;
  const bs = point.blockSize;
  const disk = vm.disks.find((d) => d.deviceKey === o.deviceKey)!;
  const diskId = diskIdOf(o.deviceKey);
  const live = await host.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey: o.deviceKey, mode: o.mode, proxy: o.proxy });
  const out: string[] = [];
  try {
    const written = new Set(blocksOfAreas(await host.queryChangedAreas({ vmExternalId: vm.externalId, deviceKey: o.deviceKey, changeId: "*" }), disk.capacityBytes, bs));
    for (const [i, e] of point.blockMap(diskId)) if (e.kind === "data" && !written.has(i)) out.push(`${diskId} block ${i}: data outside the written areas`);
    for (const i of [...written].sort((a, b) => a - b)) {
      const expected = Buffer.alloc(Math.min(bs, disk.capacityBytes - i * bs));
      await live.reader.readInto(i * bs, expected);
      if (!(await point.readBlock(diskId, i)).equals(expected)) out.push(`${diskId} block ${i} differs`);
    }
  } finally {
    await live.reader.close();
    await host.releaseSnapshot(vm.externalId);
  }
  return out;
}

/** SHA-256 of every written area (offset, length, bytes) of a disk as a fresh snapshot serves it. */
export async function diskPrint(lab: VmBackupHost, vmId: string, deviceKey: number, areas?: DiskArea[]) {
  const proxy = { kind: "physical" as const, transportModes: ["nbdssl" as const], keyProviderExternalId: null, privileges: ["Cryptographer.Access" as const], name: "check" };
  const disk = await lab.openDiskForBackup({ vmExternalId: vmId, deviceKey, mode: "nbdssl", proxy });
  try {
    const written = await lab.queryChangedAreas({ vmExternalId: vmId, deviceKey, changeId: "*" });
    const h = createHash("sha256");
    for (const a of areas ?? written) {
      h.update(`${a.start}+${a.length}`);
      for (let at = a.start; at < a.start + a.length; at += MiB) h.update(await disk.reader.read(at, Math.min(MiB, a.start + a.length - at)));
    }
    return { hash: h.digest("hex"), written };
  } finally {
    await disk.reader.close();
    await lab.releaseSnapshot(vmId);
  }
}

