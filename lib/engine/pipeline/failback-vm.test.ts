// failbackVm on the memory platform (FBK-1, REP-2, TRN-6): a source VM replicated to the DR site,
// a failover simulated at the platform level (the replica reverted to its point, the guest's
// writes made through the disk writer, the replica powered on), then failback — to the original
// (changes only, counted by the fault-injecting connector's writes, not the engine's statistics)
// or to a new VM (a full copy) — and every disk compared bit for bit with the replica.
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { InventorySnapshot, PlatformProxy, PlatformVm } from "../../platform/connector";
import { generateEstate } from "../../platform/lab/estate";
import type { ReplicaSnapshot } from "../../platform/replica-host";
import { FaultyConnector } from "../../platform/testing/faulty-connector";
import { MemoryConnector } from "../../platform/testing/memory-connector";
import type { ProxyTaskGate } from "./events";
import { failbackVm, type FailbackDestination, type FailbackEvent, type FailbackVmOptions } from "./failback-vm";
import type { CandidateProxy } from "./proxy-selection";
import { replicateVm, type ReplicaKeyMode, type ReplicaPlacement, type ReplicaState } from "./replicate-vm";

const MiB = 1024 * 1024;
const DISK = 48 * MiB;
const DISKS = [2000, 2001];

function siteOf(inv: InventorySnapshot, role: "production" | "dr") {
  const site = inv.sites.find((s) => s.role === role)!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainDs = inv.datastores.filter((d) => d.siteExternalId === site && !d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const kp = inv.keyProviders.find((k) => k.siteExternalId === site && k.kind === "native")!.externalId;
  return { site, encPolicy, encDs: encDs.externalId, plainDs, plainPolicy, host, kp };
}

function proxy(site: string, kp: string, name: string, modes: PlatformProxy["transportModes"]): CandidateProxy {
  return { externalId: name, name, kind: "vm", siteExternalId: site, transportModes: modes, maxTasks: 4, keyProviderExternalId: kp, tenantExternalId: null, privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"], activeTasks: 0 };
}

const readProxy = { kind: "vm" as const, transportModes: ["nbdssl" as const], keyProviderExternalId: null, privileges: ["Cryptographer.Access" as const], name: "check" };

async function setup(keyMode: Exclude<ReplicaKeyMode, "unencrypted"> = "re-key") {
  const memory = new MemoryConnector({ inventory: generateEstate({ vmCount: 12 }) });
  const production = new FaultyConnector(memory); // counts what failback does at the production site
  const dr = new FaultyConnector(memory); // and at the DR site (reads only)
  const inv = await memory.inventory();
  const prod = siteOf(inv, "production");
  const drs = siteOf(inv, "dr");
  const source = await memory.createVm({
    siteExternalId: prod.site,
    hostExternalId: prod.host,
    name: "app-01",
    folder: "/Tenants/Test",
    tenantExternalId: null,
    guestOs: "Ubuntu Linux (64-bit)",
    cpuCount: 2,
    memoryMiB: 2048,
    home: { datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.encPolicy, crypto: { kind: "new-key", keyProviderExternalId: prod.kp } },
    disks: [
      { deviceKey: 2000, label: "Hard disk 1", capacityBytes: DISK, datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.encPolicy, encrypted: true },
      { deviceKey: 2001, label: "Hard disk 2", capacityBytes: DISK, datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.plainPolicy, encrypted: false },
    ],
    vtpm: false,
  });
  /** Writes through the platform disk writer (the VM powered off): what a guest's writes leave. */
  const write = async (vmId: string, deviceKey: number, offset: number, length: number, zero = false) => {
    const w = await memory.openDiskForWrite({ vmExternalId: vmId, deviceKey, mode: "nbdssl", proxy: readProxy });
    await w.write(offset, zero ? Buffer.alloc(length) : randomBytes(length));
    await w.close();
  };
  const hash = async (vmId: string, deviceKey: number) => {
    const d = await memory.openDiskForBackup({ vmExternalId: vmId, deviceKey, mode: "nbdssl", proxy: readProxy });
    const h = createHash("sha256").update(await d.reader.read(0, DISK)).digest("hex");
    await d.reader.close();
    await memory.releaseSnapshot(vmId);
    return h;
  };
  const hashes = async (vmId: string) => Promise.all(DISKS.map((dk) => hash(vmId, dk)));
  const vmOf = async (id: string) => (await memory.inventory()).vms.find((v) => v.externalId === id)!;
  await write(source.externalId, 2000, 0, 20 * MiB);
  await write(source.externalId, 2001, 8 * MiB, 10 * MiB);

  const placement: ReplicaPlacement = {
    siteExternalId: drs.site,
    hostExternalId: drs.host,
    name: "app-01_replica",
    folder: "/Replicas",
    home: { datastoreExternalId: drs.encDs, storagePolicyExternalId: drs.encPolicy },
    disks: { 2000: { datastoreExternalId: drs.encDs, storagePolicyExternalId: drs.encPolicy }, 2001: { datastoreExternalId: drs.encDs, storagePolicyExternalId: drs.plainPolicy } },
    keyProviderExternalId: drs.kp,
  };
  if (keyMode === "shared") memory.addKey(drs.kp, source.keyId!); // the DR site's provider holds the common key (a shared KMS)
  const rep = await replicateVm({
    source: memory,
    sourceVm: await vmOf(source.externalId),
    target: memory,
    placement,
    keyMode,
    last: null,
    keepPoints: 3,
    sourceProxies: [proxy(prod.site, prod.kp, "prod-proxy", ["hotadd", "nbdssl"])],
    targetProxies: [proxy(drs.site, drs.kp, "dr-proxy", ["hotadd", "nbdssl"])],
    sourceSelection: { proxies: "automatic", failoverToNetwork: true },
    targetSelection: { proxies: "automatic", failoverToNetwork: true },
  });
  expect(rep.status, rep.error ?? "").toBe("success");
  const replicaId = rep.replicaVmExternalId!;
  const state: ReplicaState = rep.state!;
  const point: ReplicaSnapshot = rep.point!;

  /** Failover at the platform level: revert to the point, the guest's writes, powered on. */
  const failover = async (writes: Array<[deviceKey: number, offset: number, length: number, zero?: boolean]>) => {
    await memory.revertToSnapshot(replicaId, point.id);
    for (const [dk, at, n, zero] of writes) await write(replicaId, dk, at, n, zero);
    await memory.powerOn(replicaId);
  };

  const run = async (destination: FailbackDestination, more: Partial<FailbackVmOptions> = {}) => {
    production.calls.length = 0;
    dr.calls.length = 0;
    const events: FailbackEvent[] = [];
    const r = await failbackVm({
      replicaHost: dr,
      replicaVm: await vmOf(replicaId),
      failoverPoint: point,
      destinationHost: production,
      destination,
      keyMode,
      replicaProxies: [proxy(drs.site, drs.kp, "dr-proxy", ["hotadd", "nbdssl"])],
      destinationProxies: [proxy(prod.site, prod.kp, "prod-proxy", ["hotadd", "nbd", "nbdssl"])],
      replicaSelection: { proxies: "automatic", failoverToNetwork: true },
      destinationSelection: { proxies: "automatic", failoverToNetwork: true },
      onEvent: (e) => events.push(e),
      ...more,
    });
    const writes = production.calls.filter((c) => c.startsWith("write "));
    return { r, events, writes, bytesWritten: writes.reduce((s, c) => s + Number(c.split("+")[1]), 0) };
  };
  const toOriginal = async (): Promise<FailbackDestination> => ({ kind: "original", vm: await vmOf(source.externalId), changeIds: state.disks });
  const newPlacement = (over: Partial<ReplicaPlacement> = {}): ReplicaPlacement => ({
    siteExternalId: prod.site,
    hostExternalId: prod.host,
    name: "app-01_failback",
    folder: "/Tenants/Test",
    home: { datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.encPolicy },
    disks: { 2000: { datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.encPolicy }, 2001: { datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.plainPolicy } },
    keyProviderExternalId: prod.kp,
    ...over,
  });
  return { memory, production, dr, prod, drs, source, replicaId, state, point, write, hash, hashes, vmOf, failover, run, toOriginal, newPlacement };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** What the replica looks like: its disks and its points, to show failback left it as it was. */
async function replicaPrint(s: Setup) {
  return { disks: await s.hashes(s.replicaId), points: (await s.memory.listSnapshots(s.replicaId)).map((p) => p.id), power: (await s.vmOf(s.replicaId)).powerState };
}

// The failover's writes: ~1% of the 96 one-MiB blocks, on both disks, one of them zeros the guest wrote.
const FAILOVER_WRITES: Array<[number, number, number, boolean?]> = [
  [2000, 2 * MiB + 4096, 64 * 1024],
  [2000, 30 * MiB, 128 * 1024],
  [2000, 5 * MiB, 64 * 1024, true],
  [2001, 9 * MiB, 4096],
];

describe("failbackVm (memory platform)", { timeout: 30_000 }, () => {
  it("to the original: the original is powered off, only the blocks the replica changed since failover are shipped, and it ends bit for bit the replica; the replica is untouched", async () => {
    const s = await setup();
    await s.memory.powerOn(s.source.externalId); // production came back up on its own
    await s.failover(FAILOVER_WRITES);
    expect(await s.hashes(s.source.externalId)).not.toEqual(await s.hashes(s.replicaId));
    const before = await replicaPrint(s);

    const { r, events, writes, bytesWritten } = await s.run(await s.toOriginal());
    expect(r.status, r.error ?? "").toBe("success");
    expect(r.vmExternalId).toBe(s.source.externalId);
    // 4 writes in 4 distinct 1 MiB blocks: 4 blocks shipped, counted at the platform.
    expect(writes).toHaveLength(4);
    expect(bytesWritten).toBe(4 * MiB);
    expect(r.blocksShipped).toBe(4);
    expect(r.disks.map((d) => [d.deviceKey, d.changesOnly, d.replicaChangedBlocks, d.originalChangedBlocks, d.blocksShipped])).toEqual([
      [2000, true, 3, 0, 3],
      [2001, true, 1, 0, 1],
    ]);
    expect(events.filter((e) => e.type === "disk-done").map((e) => (e as { blocksShipped: number }).blocksShipped).sort()).toEqual([1, 3]);
    expect(events.some((e) => e.type === "original-powered-off")).toBe(true);
    expect(s.production.calls.indexOf("powerOff")).toBeLessThan(s.production.calls.indexOf("openDiskForWrite"));
    expect((await s.vmOf(s.source.externalId)).powerState).toBe("poweredOff");
    expect(await s.hashes(s.source.externalId)).toEqual(await s.hashes(s.replicaId));
    // The replica: never written, reverted or reconfigured; still running in failover.
    expect(s.dr.calls.filter((c) => !["openDiskForBackup"].includes(c))).toEqual([]);
    expect(await replicaPrint(s)).toEqual(before);
    expect(before.power).toBe("poweredOn");
    // The original keeps its own (production) key in re-key mode.
    const original = await s.vmOf(s.source.externalId);
    expect(r.keyId).toBe(original.keyId);
    expect(r.keyProviderExternalId).toBe(s.prod.kp);
    expect(events.filter((e) => e.type === "check").every((e) => (e as { ok: boolean }).ok)).toBe(true);
  });

  it("to the original: blocks the original changed after the last replication are reverted to the replica's content too", async () => {
    const s = await setup();
    // Production wrote on after the last replication (before the disaster): two blocks on disk 1, one on disk 2 — one of them a block the replica also changed.
    await s.write(s.source.externalId, 2000, 2 * MiB, 4096);
    await s.write(s.source.externalId, 2000, 40 * MiB, 1 * MiB); // beyond the replicated data: a hole on the replica
    await s.write(s.source.externalId, 2001, 20 * MiB, 8192);
    await s.failover(FAILOVER_WRITES);

    const { r, writes } = await s.run(await s.toOriginal());
    expect(r.status, r.error ?? "").toBe("success");
    expect(r.disks.map((d) => [d.deviceKey, d.replicaChangedBlocks, d.originalChangedBlocks, d.blocksShipped])).toEqual([
      [2000, 3, 2, 4], // blocks 2, 5, 30 ∪ 2, 40
      [2001, 1, 1, 2], // block 9 ∪ 20
    ]);
    expect(writes).toHaveLength(6);
    expect(await s.hashes(s.source.externalId)).toEqual(await s.hashes(s.replicaId));
  });

  it("after failback to the original, replication resumes from it with the failover point's state: the next run ships only the failed-back blocks and the replica is the original again", async () => {
    const s = await setup();
    await s.write(s.source.externalId, 2001, 20 * MiB, 8192); // production's late write
    await s.failover(FAILOVER_WRITES);
    const back = await s.run(await s.toOriginal());
    expect(back.r.status, back.r.error ?? "").toBe("success");
    // Commit failback: the replica leaves failover (powered off), the original is production again.
    await s.memory.powerOff(s.replicaId);
    const target = new FaultyConnector(s.memory);
    const next = await replicateVm({
      source: s.memory,
      sourceVm: await s.vmOf(s.source.externalId),
      target,
      placement: { siteExternalId: s.drs.site, hostExternalId: s.drs.host, name: "app-01_replica", folder: "/Replicas", home: { datastoreExternalId: s.drs.encDs, storagePolicyExternalId: s.drs.encPolicy }, disks: { 2000: { datastoreExternalId: s.drs.encDs, storagePolicyExternalId: s.drs.encPolicy }, 2001: { datastoreExternalId: s.drs.encDs, storagePolicyExternalId: s.drs.plainPolicy } }, keyProviderExternalId: s.drs.kp },
      keyMode: "re-key",
      last: s.state,
      keepPoints: 3,
      sourceProxies: [proxy(s.prod.site, s.prod.kp, "prod-proxy", ["hotadd", "nbdssl"])],
      targetProxies: [proxy(s.drs.site, s.drs.kp, "dr-proxy", ["hotadd", "nbdssl"])],
      sourceSelection: { proxies: "automatic", failoverToNetwork: true },
      targetSelection: { proxies: "automatic", failoverToNetwork: true },
    });
    expect(next.status, next.error ?? "").toBe("success");
    expect(next.disks.every((d) => d.incremental)).toBe(true);
    // The run reverted the replica to the point (the failover's writes gone), then shipped the original's changes since it: the same 5 blocks.
    expect(target.calls.filter((c) => c.startsWith("write "))).toHaveLength(5);
    expect(await s.hashes(s.replicaId)).toEqual(await s.hashes(s.source.externalId));
  });

  it("to the original without the replicated state's change ids (or a CBT reset): every block is shipped, with a warning, and it ends bit for bit", async () => {
    const s = await setup();
    await s.failover(FAILOVER_WRITES);
    const unknown = await s.run({ kind: "original", vm: await s.vmOf(s.source.externalId), changeIds: null });
    expect(unknown.r.status, unknown.r.error ?? "").toBe("warning");
    expect(unknown.r.blocksShipped).toBe(96);
    expect(unknown.r.warnings.join(" ")).toMatch(/not known/);
    expect(await s.hashes(s.source.externalId)).toEqual(await s.hashes(s.replicaId));

    const reset = await s.run({ kind: "original", vm: await s.vmOf(s.source.externalId), changeIds: s.state.disks.map((d) => ({ deviceKey: d.deviceKey, changeId: d.deviceKey === 2001 ? "00000000-0000-0000-0000-000000000000/1" : d.changeId })) });
    expect(reset.r.status, reset.r.error ?? "").toBe("warning");
    expect(reset.r.disks.map((d) => [d.deviceKey, d.changesOnly])).toEqual([
      [2000, true],
      [2001, false],
    ]);
    expect(reset.r.warnings.join(" ")).toMatch(/does not know/);
    expect(await s.hashes(s.source.externalId)).toEqual(await s.hashes(s.replicaId));
  });

  it("to the original restored elsewhere: both read and compared, only the blocks that differ are written, and it ends bit for bit", async () => {
    const s = await setup();
    // The original was lost and restored from a backup of the replicated state into another VM (new key, no CBT in common)…
    const restored = await s.memory.createVm({
      siteExternalId: s.prod.site,
      hostExternalId: s.prod.host,
      name: "app-01_restored",
      folder: "/Tenants/Test",
      tenantExternalId: null,
      guestOs: "Ubuntu Linux (64-bit)",
      cpuCount: 2,
      memoryMiB: 2048,
      home: { datastoreExternalId: s.prod.encDs, storagePolicyExternalId: s.prod.encPolicy, crypto: { kind: "new-key", keyProviderExternalId: s.prod.kp } },
      disks: [
        { deviceKey: 2000, label: "Hard disk 1", capacityBytes: DISK, datastoreExternalId: s.prod.encDs, storagePolicyExternalId: s.prod.encPolicy, encrypted: true },
        { deviceKey: 2001, label: "Hard disk 2", capacityBytes: DISK, datastoreExternalId: s.prod.encDs, storagePolicyExternalId: s.prod.plainPolicy, encrypted: false },
      ],
      vtpm: false,
    });
    for (const dk of DISKS) {
      const from = await s.memory.openDiskForBackup({ vmExternalId: s.source.externalId, deviceKey: dk, mode: "nbdssl", proxy: readProxy });
      const to = await s.memory.openDiskForWrite({ vmExternalId: restored.externalId, deviceKey: dk, mode: "nbdssl", proxy: readProxy });
      for (const a of await s.memory.queryChangedAreas({ vmExternalId: s.source.externalId, deviceKey: dk, changeId: "*" })) await to.write(a.start, await from.reader.read(a.start, a.length));
      await to.close();
      await from.reader.close();
      await s.memory.releaseSnapshot(s.source.externalId);
    }
    // …which then booted and wrote a little of its own (one block, and one beyond the replica's data).
    await s.write(restored.externalId, 2001, 12 * MiB, 4096);
    await s.write(restored.externalId, 2001, 40 * MiB, 4096);
    await s.failover(FAILOVER_WRITES);

    const { r, writes, events } = await s.run({ kind: "restored-vm", vm: await s.vmOf(restored.externalId) });
    expect(r.status, r.error ?? "").toBe("success");
    expect(r.vmExternalId).toBe(restored.externalId);
    expect(r.disks.map((d) => [d.deviceKey, d.changesOnly, d.comparedBlocks, d.blocksShipped])).toEqual([
      [2000, true, 21, 3], // blocks 0–19 (data) and 30 (the failover): the failover's 3 differ
      [2001, true, 11, 3], // 10 MiB of data + block 40 on the restored VM: 9 (failover) ∪ 12, 40 (its own)
    ]);
    expect(writes).toHaveLength(6);
    expect(events.filter((e) => e.type === "compared")).toHaveLength(2);
    expect(await s.hashes(restored.externalId)).toEqual(await s.hashes(s.replicaId));
    expect(r.keyId).toBe((await s.vmOf(restored.externalId)).keyId);
    expect(r.keyProviderExternalId).toBe(s.prod.kp);
  });

  it("to a new location: a full copy into a new encrypted VM, bit for bit, under a new key of the production site's provider (re-key), never the DR's", async () => {
    const s = await setup("re-key");
    await s.failover(FAILOVER_WRITES);
    const replica = await s.vmOf(s.replicaId);
    const created: PlatformVm[] = [];
    const { r, events } = await s.run({ kind: "new-vm", placement: s.newPlacement() }, { onVmCreated: (vm) => void created.push(vm) });
    expect(r.status, r.error ?? "").toBe("success");
    expect(created).toHaveLength(1);
    const vm = await s.vmOf(r.vmExternalId!);
    expect(vm.siteExternalId).toBe(s.prod.site);
    expect(vm.encrypted).toBe(true);
    expect(vm.keyProviderExternalId).toBe(s.prod.kp);
    expect(vm.keyProviderExternalId).not.toBe(replica.keyProviderExternalId);
    expect(vm.keyId).not.toBe(replica.keyId);
    expect(vm.keyId).not.toBe(s.source.keyId);
    expect(vm.disks.map((d) => [d.deviceKey, d.encrypted, d.keyId])).toEqual([
      [2000, true, vm.keyId],
      [2001, false, null],
    ]);
    expect(r.disks.every((d) => !d.changesOnly)).toBe(true);
    expect(r.blocksShipped).toBeGreaterThan(25); // the replica's data: ~20 + ~10 MiB, zero blocks skipped
    expect(await s.hashes(vm.externalId)).toEqual(await s.hashes(s.replicaId));
    expect(events.find((e) => e.type === "check" && /production key/.test(e.text))).toMatchObject({ ok: true });
  });

  it("shared keys: the new VM and the original carry the source's key id", async () => {
    const s = await setup("shared");
    const replica = await s.vmOf(s.replicaId);
    expect(replica.keyId).toBe(s.source.keyId);
    await s.failover(FAILOVER_WRITES);
    const toNew = await s.run({ kind: "new-vm", placement: s.newPlacement() });
    expect(toNew.r.status, toNew.r.error ?? "").toBe("success");
    expect(toNew.r.keyId).toBe(replica.keyId);
    expect(await s.hashes(toNew.r.vmExternalId!)).toEqual(await s.hashes(s.replicaId));
    const back = await s.run(await s.toOriginal());
    expect(back.r.status, back.r.error ?? "").toBe("success");
    expect(back.r.keyId).toBe(replica.keyId);
    expect(back.r.blocksShipped).toBe(4);
    expect(await s.hashes(s.source.externalId)).toEqual(await s.hashes(s.replicaId));
  });

  it("a new location outside the VM Encryption Policy, the DR key provider in re-key mode, or the replica's own site are refused before anything is created", async () => {
    const s = await setup("re-key");
    await s.failover(FAILOVER_WRITES);
    const vmsBefore = (await s.memory.inventory()).vms.length;
    const cases: Array<[ReplicaPlacement, RegExp]> = [
      [s.newPlacement({ disks: { 2000: { datastoreExternalId: s.prod.plainDs.externalId, storagePolicyExternalId: s.prod.encPolicy }, 2001: { datastoreExternalId: s.prod.encDs, storagePolicyExternalId: s.prod.plainPolicy } } }), /new location is refused: Hard disk 1: datastore .* is not compatible with the storage policy/],
      [s.newPlacement({ home: { datastoreExternalId: s.prod.encDs, storagePolicyExternalId: s.prod.plainPolicy } }), /new location is refused: .*encrypted/],
      [s.newPlacement({ keyProviderExternalId: s.drs.kp }), /not a key provider of the production site/],
      [s.newPlacement({ siteExternalId: s.drs.site, hostExternalId: s.drs.host, keyProviderExternalId: s.drs.kp }), /replica's own site/],
    ];
    for (const [placement, message] of cases) {
      const { r } = await s.run({ kind: "new-vm", placement });
      expect(r.status).toBe("failed");
      expect(r.error).toMatch(message);
      expect(r.restartable).toBe(false);
      expect(s.production.calls.filter((c) => c !== "inventory")).toEqual([]);
      expect(s.dr.calls).toEqual([]);
    }
    expect((await s.memory.inventory()).vms.length).toBe(vmsBefore);
  });

  it("bad options are refused before anything is touched: the original stays powered on and unchanged", async () => {
    const s = await setup("re-key");
    await s.memory.powerOn(s.source.externalId);
    await s.failover(FAILOVER_WRITES);
    const originalBefore = await s.vmOf(s.source.externalId);
    const print = () => s.hashes(s.source.externalId);
    const hashBefore = await print();
    const original = await s.toOriginal();
    const cases: Array<[FailbackDestination, Partial<FailbackVmOptions>, RegExp]> = [
      [original, { failoverPoint: { ...s.point, id: "rp-nope" } }, /no replica point rp-nope/],
      [original, { keyMode: "unencrypted" }, /is encrypted/],
      [original, { blockSize: 1000 }, /multiple of 512/],
      [{ kind: "original", vm: originalBefore, changeIds: s.state.disks.slice(0, 1) }, {}, /no change id .* Hard disk 2/],
      [{ kind: "original", vm: { ...originalBefore, externalId: "vm-gone" }, changeIds: s.state.disks }, {}, /not on the production site/],
      [{ kind: "original", vm: await s.vmOf(s.replicaId), changeIds: s.state.disks }, {}, /not on the production site|replica's own site/],
      [original, { failoverPoint: { ...s.point, disks: s.point.disks.slice(1) } }, /no change id for .*Hard disk 1/],
    ];
    for (const [destination, more, message] of cases) {
      const { r } = await s.run(destination, more);
      expect(r.status).toBe("failed");
      expect(r.error).toMatch(message);
      expect(r.restartable).toBe(false);
      expect(s.production.calls.filter((c) => c !== "inventory")).toEqual([]);
      expect(s.dr.calls).toEqual([]);
    }
    expect((await s.vmOf(s.source.externalId)).powerState).toBe("poweredOn");
    expect(await print()).toEqual(hashBefore);
  });

  it("cut off mid-copy (stop signal, then a write error) leaves the original powered off; the retry ships the union again and ends bit for bit", async () => {
    const s = await setup();
    // Enough changes that a copy takes several blocks: production wrote 6 MiB after the last replication.
    await s.write(s.source.externalId, 2000, 10 * MiB, 6 * MiB);
    await s.failover(FAILOVER_WRITES);
    const stop = new AbortController();
    const first = await s.run(await s.toOriginal(), {
      signal: stop.signal,
      progressIntervalMs: 0,
      inFlight: 1,
      onEvent: (e) => {
        if (e.type === "disk-progress" && e.bytesWritten > 0) stop.abort(new Error("stop"));
      },
    });
    expect(first.r.status).toBe("failed");
    expect(first.r.error).toBe("stopped by request");
    expect(first.r.restartable).toBe(true);
    expect(first.writes.length).toBeGreaterThan(0);
    expect(first.writes.length).toBeLessThan(10);
    expect((await s.vmOf(s.source.externalId)).powerState).toBe("poweredOff");
    expect(await s.hashes(s.source.externalId)).not.toEqual(await s.hashes(s.replicaId));

    s.production.arm({ operation: "write", error: new Error("host went away"), after: 2 * MiB });
    const second = await s.run(await s.toOriginal());
    expect(second.r.status).toBe("failed");
    expect(second.r.error).toMatch(/host went away/);
    s.production.disarm();

    const retry = await s.run(await s.toOriginal());
    expect(retry.r.status, retry.r.error ?? "").toBe("success");
    // Still the union: replica changes (3 + 1) ∪ original changes since the replicated state (blocks 10–15, plus what the cut-off attempts wrote, all inside it).
    expect(retry.r.disks.map((d) => [d.deviceKey, d.blocksShipped])).toEqual([
      [2000, 9],
      [2001, 1],
    ]);
    expect(await s.hashes(s.source.externalId)).toEqual(await s.hashes(s.replicaId));
  });

  it("a new VM cut off mid-copy is deleted; the retry makes it again", async () => {
    const s = await setup();
    await s.failover(FAILOVER_WRITES);
    const vmsBefore = (await s.memory.inventory()).vms.length;
    s.production.arm({ operation: "write", error: new Error("datastore full"), after: 3 * MiB });
    const first = await s.run({ kind: "new-vm", placement: s.newPlacement() });
    expect(first.r.status).toBe("failed");
    expect(first.r.vmExternalId).toBeNull();
    expect(s.production.calls).toContain("deleteVm");
    expect((await s.memory.inventory()).vms.length).toBe(vmsBefore);
    s.production.disarm();
    const retry = await s.run({ kind: "new-vm", placement: s.newPlacement() });
    expect(retry.r.status, retry.r.error ?? "").toBe("success");
    expect(await s.hashes(retry.r.vmExternalId!)).toEqual(await s.hashes(s.replicaId));
  });

  it("holds one proxy task slot per disk at each end (TRN-6) and writes through NBDSSL by default", async () => {
    const s = await setup();
    await s.failover(FAILOVER_WRITES);
    const active: Record<string, number> = {};
    const taken: string[] = [];
    const tasks: ProxyTaskGate = {
      counts: async () => ({ ...active }),
      take: async (p, t) => {
        if ((active[p.externalId] ?? 0) >= p.maxTasks) return null;
        active[p.externalId] = (active[p.externalId] ?? 0) + 1;
        taken.push(`${p.externalId}:${t.deviceKey}`);
        return { slot: active[p.externalId], release: async () => void (active[p.externalId] -= 1) };
      },
    };
    const { r, events } = await s.run(await s.toOriginal(), { tasks });
    expect(r.status, r.error ?? "").toBe("success");
    // The original's CBT query holds a production slot briefly, then each disk one slot at each end.
    expect(taken.sort()).toEqual(["dr-proxy:2000", "dr-proxy:2001", "prod-proxy:2000", "prod-proxy:2000", "prod-proxy:2001"]);
    expect(Object.values(active).every((n) => n === 0)).toBe(true);
    expect(events.filter((e) => e.type === "task-end")).toHaveLength(5);
    expect(r.disks.map((d) => d.destinationMode)).toEqual(["nbdssl", "nbdssl"]);
  });
});
