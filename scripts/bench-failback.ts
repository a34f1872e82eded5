// `npm run bench:failback [-- --size-mib 1024]`
//
// Failback of one encrypted two-disk VM (2 × `size-mib`, re-keyed replication) from the DR site of a
// lab in a temporary folder back to production (FBK-1), in one run:
//
//   setup          the VM filled by the lab's guest workload, replicated (a full replicateVm run,
//                  re-keyed under the DR site's native key provider); then a failover at the
//                  platform level: the replica reverted to its point, 1% of its written 1 MiB blocks
//                  rewritten (a 64 KiB span in each) through the platform disk writer — which keeps
//                  the replica's points, as the lab's guest cannot yet write a VM holding them —
//                  and the replica powered on.
//   changes only   failbackVm to the original VM (powered on, so failback powers it off): only the
//                  blocks changed on the replica since the failover point are shipped;
//   full copy      failbackVm to a new location: every written block of the replica into a new VM
//                  at production, encrypted with a new key of the production site's provider.
//
// Both read the replica through HotAdd at the DR site and write through NBDSSL (TLS between the
// sites, TRN-7). MB/s = bytes of disk covered (the disks' capacity) / wall time, so the two compare;
// the ratio is the full copy's time over the changes-only one's (target ≥ 20×). Afterwards the
// original and the new VM are each compared with the replica block by block. Warm page cache;
// not part of npm test.

import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { blocksOfAreas } from "../lib/engine/pipeline/backup-disk";
import { failbackVm, type FailbackResult, type FailbackVmOptions } from "../lib/engine/pipeline/failback-vm";
import type { CandidateProxy } from "../lib/engine/pipeline/proxy-selection";
import { replicateVm, type ReplicaPlacement } from "../lib/engine/pipeline/replicate-vm";
import type { InventorySnapshot, PlatformVm } from "../lib/platform/connector";
import { LabConnector } from "../lib/platform/lab/lab-connector";
import { SeededBytes } from "../lib/platform/lab/data-plane/seeded-bytes";

const MiB = 1024 * 1024;
const { values } = parseArgs({ options: { "size-mib": { type: "string", default: "1024" } } });
const sizeMiB = Number(values["size-mib"]);
if (!(Number.isInteger(sizeMiB) && sizeMiB >= 16)) throw new Error("--size-mib must be a whole number ≥ 16");

function site(inv: InventorySnapshot, role: "production" | "dr") {
  const id = inv.sites.find((s) => s.role === role)!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === id && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === id && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const host = inv.hosts.find((h) => h.siteExternalId === id && h.connectionState === "connected")!.externalId;
  const kp = inv.keyProviders.find((k) => k.siteExternalId === id && k.kind === "native")!.externalId;
  return { id, encPolicy, encDs: encDs.externalId, host, kp };
}

const proxy = (siteId: string, kp: string, name: string): CandidateProxy => ({
  externalId: name,
  name,
  kind: "vm",
  siteExternalId: siteId,
  transportModes: ["hotadd", "nbdssl"],
  maxTasks: 4,
  keyProviderExternalId: kp,
  tenantExternalId: null,
  privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"],
  activeTasks: 0,
});

async function main() {
  const folder = await mkdtemp(path.join(os.tmpdir(), "strongroom-bench-failback-"));
  const lab = new LabConnector({ folder, vmCount: 12, diskDataMiB: sizeMiB });
  try {
    const inv = await lab.inventory();
    const prod = site(inv, "production");
    const dr = site(inv, "dr");
    const capacity = sizeMiB * MiB;
    const disks = [2000, 2001].map((deviceKey, i) => ({ deviceKey, label: `Hard disk ${i + 1}`, capacityBytes: capacity, datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.encPolicy, encrypted: true }));
    const vm = await lab.createVm({ siteExternalId: prod.id, hostExternalId: prod.host, name: "bench-app", folder: "/Bench", tenantExternalId: null, guestOs: "Ubuntu Linux (64-bit)", cpuCount: 2, memoryMiB: 2048, home: { datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.encPolicy, crypto: { kind: "new-key", keyProviderExternalId: prod.kp } }, disks, vtpm: false });
    await lab.powerOn(vm.externalId);
    const fill = await lab.guestWrites(vm.externalId, 1, 1);
    await lab.powerOff(vm.externalId);
    const vmOf = async (id: string): Promise<PlatformVm> => (await lab.inventory()).vms.find((v) => v.externalId === id)!;
    const source = await vmOf(vm.externalId);
    const drProxy = proxy(dr.id, dr.kp, "dr-proxy");
    const prodProxy = proxy(prod.id, prod.kp, "prod-proxy");
    const placement: ReplicaPlacement = {
      siteExternalId: dr.id,
      hostExternalId: dr.host,
      name: "bench-app_replica",
      folder: "/Replicas",
      home: { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.encPolicy },
      disks: Object.fromEntries(source.disks.map((d) => [d.deviceKey, { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.encPolicy }])),
      keyProviderExternalId: dr.kp,
    };
    const t0 = performance.now();
    const rep = await replicateVm({ source: lab, sourceVm: source, target: lab, placement, keyMode: "re-key", last: null, keepPoints: 3, sourceProxies: [prodProxy], targetProxies: [drProxy], sourceSelection: { proxies: "automatic", failoverToNetwork: true }, targetSelection: { proxies: "automatic", failoverToNetwork: true } });
    if (rep.status === "failed") throw new Error(`replication failed: ${rep.error}`);
    const replicationMs = performance.now() - t0;
    const replicaId = rep.replicaVmExternalId!;
    const point = rep.point!;

    // ── failover at the platform level: revert, 1% of the written blocks rewritten, power on ──
    await lab.revertToSnapshot(replicaId, point.id);
    const dice = new SeededBytes("bench-failback");
    let changedBlocks = 0;
    for (const d of source.disks) {
      const snap = await lab.openDiskForBackup({ vmExternalId: replicaId, deviceKey: d.deviceKey, mode: "hotadd", proxy: drProxy });
      const written = blocksOfAreas(await lab.queryChangedAreas({ vmExternalId: replicaId, deviceKey: d.deviceKey, changeId: "*" }), d.capacityBytes, MiB);
      await snap.reader.close();
      await lab.releaseSnapshot(replicaId);
      const chosen = new Set<number>();
      const want = Math.max(1, Math.round(written.length * 0.01));
      for (let k = 0; chosen.size < want; k++) chosen.add(written[dice.pick(written.length, d.deviceKey * 1_000_000 + k)]);
      const w = await lab.openDiskForWrite({ vmExternalId: replicaId, deviceKey: d.deviceKey, mode: "nbdssl", proxy: drProxy });
      for (const b of [...chosen].sort((x, y) => x - y)) await w.write(b * MiB + 64 * 1024 * (b % 8), dice.fill(Buffer.alloc(64 * 1024), b));
      await w.close();
      changedBlocks += chosen.size;
    }
    await lab.powerOn(replicaId);
    await lab.powerOn(source.externalId); // production came back on its own: failback powers it off

    const common = {
      replicaHost: lab,
      replicaVm: await vmOf(replicaId),
      failoverPoint: point,
      destinationHost: lab,
      keyMode: "re-key" as const,
      replicaProxies: [drProxy],
      destinationProxies: [prodProxy],
      replicaSelection: { proxies: "automatic" as const, failoverToNetwork: true },
      destinationSelection: { proxies: "automatic" as const, failoverToNetwork: true },
    } satisfies Omit<FailbackVmOptions, "destination">;
    const timed = async (run: () => Promise<FailbackResult>) => {
      const t = performance.now();
      const r = await run();
      if (r.status === "failed") throw new Error(r.error ?? "failback failed");
      return { r, ms: performance.now() - t };
    };
    const changes = await timed(() => failbackVm({ ...common, destination: { kind: "original", vm: source, changeIds: rep.state!.disks } }));
    const full = await timed(() =>
      failbackVm({
        ...common,
        destination: {
          kind: "new-vm",
          placement: { siteExternalId: prod.id, hostExternalId: prod.host, name: "bench-app_failback", folder: "/Bench", home: { datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.encPolicy }, disks: Object.fromEntries(source.disks.map((d) => [d.deviceKey, { datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.encPolicy }])), keyProviderExternalId: prod.kp },
        },
      }),
    );

    // Check: the original and the new VM are the replica, block by block.
    await lab.powerOff(replicaId);
    const differing = { original: 0, newVm: 0 };
    for (const d of source.disks) {
      const open = (id: string, p: CandidateProxy) => lab.openDiskForBackup({ vmExternalId: id, deviceKey: d.deviceKey, mode: "hotadd", proxy: p });
      const [rep0, orig, copy] = [await open(replicaId, drProxy), await open(source.externalId, prodProxy), await open(full.r.vmExternalId!, prodProxy)];
      const h = (b: Buffer) => createHash("sha256").update(b).digest("hex");
      for (let at = 0; at < d.capacityBytes; at += MiB) {
        const n = Math.min(MiB, d.capacityBytes - at);
        const want = h(await rep0.reader.read(at, n));
        if (h(await orig.reader.read(at, n)) !== want) differing.original++;
        if (h(await copy.reader.read(at, n)) !== want) differing.newVm++;
      }
      for (const x of [rep0, orig, copy]) await x.reader.close();
    }
    for (const id of [replicaId, source.externalId, full.r.vmExternalId!]) await lab.releaseSnapshot(id);

    const newVm = await vmOf(full.r.vmExternalId!);
    const covered = 2 * capacity;
    const written = (r: FailbackResult) => r.disks.reduce((s, d) => s + d.bytesWritten, 0);
    const mbs = (ms: number) => (covered / 1e6 / (ms / 1000)).toFixed(1);
    console.log(`bench:failback — one encrypted VM, 2 disks × ${sizeMiB} MiB (${(fill.bytesWritten / MiB).toFixed(0)} MiB of guest data), DR → production, lab in ${os.tmpdir()}`);
    console.log(`replicated first in ${(replicationMs / 1000).toFixed(2)} s; failover: ${changedBlocks} of the replica's written 1 MiB blocks rewritten (1%)`);
    console.log("failback".padEnd(56) + "seconds".padStart(9) + "MB/s".padStart(10) + "blocks".padStart(9) + "MiB written".padStart(13));
    const rows = [
      ["to the original, changes only (HotAdd → NBDSSL)", changes],
      ["to a new location, full copy (HotAdd → NBDSSL, re-key)", full],
    ] as const;
    for (const [name, x] of rows) console.log(name.padEnd(56) + (x.ms / 1000).toFixed(2).padStart(9) + mbs(x.ms).padStart(10) + String(x.r.blocksShipped).padStart(9) + (written(x.r) / MiB).toFixed(1).padStart(13));
    console.log(`changes only vs full copy: ${(full.ms / changes.ms).toFixed(1)}× faster (target ≥ 20×)`);
    console.log(`keys: the original keeps ${changes.r.keyId} of ${changes.r.keyProviderExternalId}; the new VM has ${newVm.keyId} of ${newVm.keyProviderExternalId} (the replica's: ${common.replicaVm.keyId} of ${common.replicaVm.keyProviderExternalId})`);
    console.log(`check: original vs replica ${differing.original}, new VM vs replica ${differing.newVm} differing 1 MiB blocks of ${covered / MiB}${differing.original + differing.newVm ? " — FAILED" : ""}`);
    if (differing.original + differing.newVm || changes.r.blocksShipped !== changedBlocks) {
      if (changes.r.blocksShipped !== changedBlocks) console.log(`FAILED: ${changes.r.blocksShipped} blocks shipped to the original, ${changedBlocks} changed`);
      process.exitCode = 1;
    }
  } finally {
    await lab.close();
    await rm(folder, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
