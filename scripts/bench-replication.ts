// `npm run bench:replication [-- --size-mib 1024]`
//
// Replication of one encrypted two-disk VM from the production site to the DR site of a lab in a
// temporary folder (REP-1, REP-2), in one run:
//
//   full         the first run of replicateVm, re-keyed under the DR site's native key provider:
//                the source read through HotAdd (a proxy encrypted with the VM's key provider),
//                the replica written through NBDSSL (TLS to the DR host, TRN-7);
//   incremental  the guest rewrites 1% of its written blocks, then the next run (revert to the
//                newest point, CBT changes only, a new point);
//   naive copy   the baseline: every block of both disks read through HotAdd and written through
//                NBDSSL into a fresh VM, zeros and holes included (read all, write all).
//
// The VM is made for the bench: two disks of `size-mib` each, filled by the lab's guest workload
// (zeros, random, repeated and text blocks; ~10% left as holes). MB/s = bytes of disk covered
// (the disks' capacity) / wall time, so the three are comparable; bytes written are shown too.
// The ratio is the full run's time over the incremental's (target ≥ 20×). After the timed runs
// the replica is compared with the source block by block. Warm page cache; not part of npm test.

import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { CandidateProxy } from "../lib/engine/pipeline/proxy-selection";
import { replicateVm, type ReplicaPlacement, type ReplicationResult } from "../lib/engine/pipeline/replicate-vm";
import type { InventorySnapshot, PlatformVm } from "../lib/platform/connector";
import { LabConnector } from "../lib/platform/lab/lab-connector";

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
  const folder = await mkdtemp(path.join(os.tmpdir(), "strongroom-bench-replication-"));
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
    const source: PlatformVm = (await lab.inventory()).vms.find((v) => v.externalId === vm.externalId)!;
    const placement = (name: string): ReplicaPlacement => ({
      siteExternalId: dr.id,
      hostExternalId: dr.host,
      name,
      folder: "/Replicas",
      home: { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.encPolicy },
      disks: Object.fromEntries(source.disks.map((d) => [d.deviceKey, { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.encPolicy }])),
      keyProviderExternalId: dr.kp,
    });
    const options = {
      source: lab,
      sourceVm: source,
      target: lab,
      keyMode: "re-key" as const,
      keepPoints: 3,
      sourceProxies: [proxy(prod.id, prod.kp, "prod-hotadd")],
      targetProxies: [proxy(dr.id, dr.kp, "dr-proxy")],
      sourceSelection: { proxies: "automatic" as const, failoverToNetwork: true },
      targetSelection: { proxies: "automatic" as const, failoverToNetwork: true },
    };
    const timed = async (run: () => Promise<ReplicationResult>) => {
      const t = performance.now();
      const r = await run();
      if (r.status === "failed") throw new Error(r.error ?? "replication failed");
      return { r, ms: performance.now() - t };
    };

    const full = await timed(() => replicateVm({ ...options, placement: placement("bench-app_replica"), last: null }));
    await lab.powerOn(vm.externalId);
    const change = await lab.guestWrites(vm.externalId, 0.01, 2);
    await lab.powerOff(vm.externalId);
    const incr = await timed(() => replicateVm({ ...options, placement: placement("bench-app_replica"), last: full.r.state }));

    // The baseline: read all, write all, into a fresh VM at the DR site.
    const naiveVm = await lab.createVm({ ...placement("bench-app_naive"), tenantExternalId: null, guestOs: source.guestOs, cpuCount: 2, memoryMiB: 2048, home: { ...placement("x").home, crypto: { kind: "new-key", keyProviderExternalId: dr.kp } }, disks: source.disks.map((d) => ({ deviceKey: d.deviceKey, label: d.label, capacityBytes: d.capacityBytes, datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.encPolicy, encrypted: true })), vtpm: false });
    const t0 = performance.now();
    let naiveWritten = 0;
    for (const d of source.disks) {
      const r = await lab.openDiskForBackup({ vmExternalId: source.externalId, deviceKey: d.deviceKey, mode: "hotadd", proxy: options.sourceProxies[0] });
      const w = await lab.openDiskForWrite({ vmExternalId: naiveVm.externalId, deviceKey: d.deviceKey, mode: "nbdssl", proxy: options.targetProxies[0] });
      const buf = Buffer.allocUnsafe(MiB);
      for (let at = 0; at < d.capacityBytes; at += MiB) {
        const b = buf.subarray(0, Math.min(MiB, d.capacityBytes - at));
        await r.reader.readInto(at, b);
        await w.write(at, b);
        naiveWritten += b.length;
      }
      await w.close();
      await r.reader.close();
    }
    await lab.releaseSnapshot(source.externalId);
    const naiveMs = performance.now() - t0;

    // Check: the replica is the source, block by block.
    let differing = 0;
    for (const d of source.disks) {
      const a = await lab.openDiskForBackup({ vmExternalId: source.externalId, deviceKey: d.deviceKey, mode: "hotadd", proxy: options.sourceProxies[0] });
      const b = await lab.openDiskForBackup({ vmExternalId: full.r.replicaVmExternalId!, deviceKey: d.deviceKey, mode: "nbdssl", proxy: options.targetProxies[0] });
      for (let at = 0; at < d.capacityBytes; at += MiB) {
        const n = Math.min(MiB, d.capacityBytes - at);
        const [x, y] = [await a.reader.read(at, n), await b.reader.read(at, n)];
        if (createHash("sha256").update(x).digest("hex") !== createHash("sha256").update(y).digest("hex")) differing++;
      }
      await a.reader.close();
      await b.reader.close();
    }
    await lab.releaseSnapshot(source.externalId);
    await lab.releaseSnapshot(full.r.replicaVmExternalId!);

    const covered = 2 * capacity;
    const written = (r: ReplicationResult) => r.disks.reduce((s, d) => s + d.bytesWritten, 0);
    const mbs = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(1);
    const rows = [
      ["full (HotAdd → NBDSSL, re-key)", full.ms, written(full.r)],
      [`incremental after 1% (${change.changedBlocks} blocks changed)`, incr.ms, written(incr.r)],
      ["naive full copy (read all, write all)", naiveMs, naiveWritten],
    ] as const;
    console.log(`bench:replication — one encrypted VM, 2 disks × ${sizeMiB} MiB (${(fill.bytesWritten / MiB).toFixed(0)} MiB of guest data), production → DR, lab in ${os.tmpdir()}`);
    console.log("run".padEnd(52) + "seconds".padStart(9) + "MB/s".padStart(10) + "MiB written".padStart(13));
    for (const [name, ms, bytes] of rows) console.log(name.padEnd(52) + (ms / 1000).toFixed(2).padStart(9) + mbs(covered, ms).padStart(10) + (bytes / MiB).toFixed(1).padStart(13));
    console.log(`incremental vs full: ${(full.ms / incr.ms).toFixed(1)}× faster (target ≥ 20×); full vs naive copy: ${(naiveMs / full.ms).toFixed(1)}× faster`);
    console.log(`check: replica vs source, ${differing} differing 1 MiB blocks of ${covered / MiB}${differing ? " — FAILED" : ""}`);
    if (differing) process.exitCode = 1;
  } finally {
    await lab.close();
    await rm(folder, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
