// replicateVm on the memory platform (REP-1…4): a source VM at the production site, its replica at
// the DR site; replica disks compared bit for bit with the source after every run, bytes written
// counted by the fault-injecting connector (not by the engine's own statistics).
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { InventorySnapshot, PlatformVm, PlatformProxy } from "../../platform/connector";
import { HostError } from "../../platform/errors";
import { generateEstate } from "../../platform/lab/estate";
import { FaultyConnector } from "../../platform/testing/faulty-connector";
import { MemoryConnector } from "../../platform/testing/memory-connector";
import type { NetworkChoice } from "../../platform/network-mapping";
import type { ProxyTaskGate } from "./events";
import type { CandidateProxy } from "./proxy-selection";
import { replicateVm, type ReplicaKeyMode, type ReplicaState, type ReplicateVmOptions, type ReplicationEvent } from "./replicate-vm";

const MiB = 1024 * 1024;
const DISK = 48 * MiB;

function siteOf(inv: InventorySnapshot, role: "production" | "dr") {
  const site = inv.sites.find((s) => s.role === role)!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const nets = inv.networks.filter((n) => n.siteExternalId === site && n.hostExternalIds.includes(host));
  const kp = inv.keyProviders.find((k) => k.siteExternalId === site && k.kind === "native")!.externalId;
  return { site, encPolicy, encDs: encDs.externalId, plainPolicy, host, kp, nets };
}

function proxy(site: string, kp: string, name: string, modes: PlatformProxy["transportModes"]): CandidateProxy {
  return { externalId: name, name, kind: "vm", siteExternalId: site, transportModes: modes, maxTasks: 4, keyProviderExternalId: kp, tenantExternalId: null, privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"], activeTasks: 0 };
}

async function setup() {
  const memory = new MemoryConnector({ inventory: generateEstate({ vmCount: 12 }) });
  const target = new FaultyConnector(memory); // counts the replica's writes
  const inv = await memory.inventory();
  const prod = siteOf(inv, "production");
  const dr = siteOf(inv, "dr");
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
    nics: [
      { deviceKey: 4000, label: "Network adapter 1", adapterType: "vmxnet3", networkExternalId: prod.nets[0].externalId, connected: true },
      { deviceKey: 4001, label: "Network adapter 2", adapterType: "e1000e", networkExternalId: prod.nets[1].externalId, connected: true },
    ],
    vtpm: false,
  });
  const srcProxy = proxy(prod.site, prod.kp, "prod-proxy", ["hotadd", "nbd", "nbdssl"]);
  const readProxy = { kind: "vm" as const, transportModes: ["nbdssl" as const], keyProviderExternalId: null, privileges: ["Cryptographer.Access" as const], name: "check" };
  /** The guest writes: random bytes at [offset, offset+length) of a disk (explicit zeros with `zero`). */
  const guest = async (deviceKey: number, offset: number, length: number, zero = false) => {
    const w = await memory.openDiskForWrite({ vmExternalId: source.externalId, deviceKey, mode: "nbdssl", proxy: readProxy });
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
  const sameAsSource = async (replicaId: string) => {
    for (const dk of [2000, 2001]) expect(await hash(replicaId, dk), `disk ${dk}`).toBe(await hash(source.externalId, dk));
  };
  const bytesWritten = () => target.calls.filter((c) => c.startsWith("write ")).reduce((s, c) => s + Number(c.split("+")[1]), 0);
  const run = async (keyMode: ReplicaKeyMode, last: ReplicaState | null, more: Partial<ReplicateVmOptions> = {}, networks?: NetworkChoice[]) => {
    target.calls.length = 0;
    const events: ReplicationEvent[] = [];
    const vm = (await memory.inventory()).vms.find((v) => v.externalId === source.externalId)!;
    const r = await replicateVm({
      source: memory,
      sourceVm: vm,
      target,
      placement: {
        siteExternalId: dr.site,
        hostExternalId: dr.host,
        name: "app-01_replica",
        folder: "/Replicas",
        home: keyMode === "unencrypted" ? { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.plainPolicy } : { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.encPolicy },
        disks: { 2000: { datastoreExternalId: dr.encDs, storagePolicyExternalId: keyMode === "unencrypted" ? dr.plainPolicy : dr.encPolicy }, 2001: { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.plainPolicy } },
        keyProviderExternalId: keyMode === "unencrypted" ? null : dr.kp,
        networks,
      },
      keyMode,
      last,
      keepPoints: 3,
      sourceProxies: [srcProxy],
      targetProxies: [proxy(dr.site, dr.kp, "dr-proxy", ["hotadd", "nbdssl"])],
      sourceSelection: { proxies: "automatic", failoverToNetwork: true },
      targetSelection: { proxies: "automatic", failoverToNetwork: true },
      onEvent: (e) => events.push(e),
      ...more,
    });
    return { r, events, written: bytesWritten() };
  };
  // 20 MiB of data on disk 1, 10 MiB on disk 2, and 4 MiB the guest wrote as zeros.
  await guest(2000, 0, 20 * MiB);
  await guest(2000, 30 * MiB, 4 * MiB, true);
  await guest(2001, 8 * MiB, 10 * MiB);
  return { memory, target, source, prod, dr, guest, hash, sameAsSource, run };
}

describe("replicateVm (memory platform)", { timeout: 30_000 }, () => {
  it("network mapping: each adapter on the network the job maps it to, the others disconnected; at the DR site the replica keeps the source's MACs", async () => {
    const s = await setup();
    const src = (await s.memory.inventory()).vms.find((v) => v.externalId === s.source.externalId)!;
    expect(src.nics).toHaveLength(2);
    const r = await s.run("re-key", null, {}, [{ nicDeviceKey: 4000, networkExternalId: s.dr.nets[0].externalId }]);
    expect(r.r.status, r.r.error ?? "").toBe("success");
    const replica = (await s.memory.inventory()).vms.find((v) => v.externalId === r.r.replicaVmExternalId)!;
    expect(replica.nics.map((n) => [n.deviceKey, n.adapterType, n.networkExternalId, n.connected, n.macAddress])).toEqual([
      [4000, "vmxnet3", s.dr.nets[0].externalId, true, src.nics[0].macAddress],
      [4001, "e1000e", null, false, src.nics[1].macAddress],
    ]);
  });

  it("a network that is not on the target host is refused before the replica is created", async () => {
    const s = await setup();
    const before = (await s.memory.inventory()).vms.length;
    const r = await s.run("re-key", null, {}, [{ nicDeviceKey: 4000, networkExternalId: s.prod.nets[0].externalId }]);
    expect(r.r.status).toBe("failed");
    expect(r.r.error).toMatch(/network/);
    expect((await s.memory.inventory()).vms.length).toBe(before);
  });

  it("re-key: a full run then incrementals are bit for bit the source at each point; 1% changed ships only the changed blocks", async () => {
    const s = await setup();
    const first = await s.run("re-key", null);
    expect(first.r.status, first.r.error ?? "").toBe("success");
    expect(first.written).toBe(30 * MiB); // zero blocks and never-written areas are skipped
    expect(first.r.disks.map((d) => [d.deviceKey, d.incremental, d.targetMode])).toEqual(expect.arrayContaining([[2000, false, "nbdssl"], [2001, false, "nbdssl"]]));
    expect(first.r.disks.find((d) => d.deviceKey === 2000)!.zeroBlocksSkipped).toBe(4);
    await s.sameAsSource(first.r.replicaVmExternalId!);
    const replica = (await s.memory.inventory()).vms.find((v) => v.externalId === first.r.replicaVmExternalId)!;
    expect(replica).toMatchObject({ siteExternalId: s.dr.site, encrypted: true, keyProviderExternalId: s.dr.kp });
    expect(replica.keyId).not.toBe(s.source.keyId);
    expect(first.events.filter((e) => e.type === "disk-planned" && e.side === "target").map((e) => e.text).join()).toMatch(/under TLS/);

    // ~1% of the 96 MiB: 512 KiB inside one block of each disk.
    await s.guest(2000, 5 * MiB + 4096, 512 * 1024);
    await s.guest(2001, 40 * MiB, 512 * 1024); // a block that was a hole
    const second = await s.run("re-key", first.r.state);
    expect(second.r.status, second.r.error ?? "").toBe("success");
    expect(second.r.disks.every((d) => d.incremental)).toBe(true);
    expect(second.written).toBe(2 * MiB); // one 1 MiB block per disk
    expect(first.written / second.written).toBeGreaterThanOrEqual(15);
    expect(second.r.replicaVmExternalId).toBe(first.r.replicaVmExternalId);
    await s.sameAsSource(second.r.replicaVmExternalId!);

    // A block the guest zeroes is shipped too (the replica must not keep the old data).
    await s.guest(2000, 2 * MiB, MiB, true);
    const third = await s.run("re-key", second.r.state);
    expect(third.written).toBe(MiB);
    await s.sameAsSource(third.r.replicaVmExternalId!);
    expect((await s.target.listSnapshots(third.r.replicaVmExternalId!)).map((p) => p.id)).toEqual([first.r.point!.id, second.r.point!.id, third.r.point!.id]);
    expect(third.r.state!.disks.map((d) => d.changeId)).not.toEqual(second.r.state!.disks.map((d) => d.changeId));
  });

  it("shared keys keep the source's key id and bundle where the target reaches the key; refused (nothing left) where it does not", async () => {
    const s = await setup();
    const refused = await s.run("shared", null);
    expect(refused.r.status).toBe("failed");
    expect(refused.r.error).toMatch(/key/);
    expect((await s.memory.inventory()).vms.some((v) => v.name === "app-01_replica")).toBe(false);

    s.memory.addKey(s.dr.kp, s.source.keyId!); // the DR site's provider holds the common key (a shared KMS)
    const shared = await s.run("shared", null);
    expect(shared.r.status, shared.r.error ?? "").toBe("success");
    const files = await s.memory.vmFiles(shared.r.replicaVmExternalId!);
    const sourceFiles = await s.memory.vmFiles(s.source.externalId);
    expect(files.keyId).toBe(s.source.keyId);
    expect(files.encryptionBundle).toBe(sourceFiles.encryptionBundle);
    expect(shared.events.some((e) => e.type === "check" && e.ok && /source's/.test(e.text))).toBe(true);
    await s.sameAsSource(shared.r.replicaVmExternalId!);
  });

  it("unencrypted (REP-4): the replica has no encryption, the run warns, the data is the source's", async () => {
    const s = await setup();
    const { r, events } = await s.run("unencrypted", null);
    expect(r.status).toBe("warning");
    expect(r.warnings.join(" ")).toMatch(/is encrypted, but its replica is not/);
    expect(events.some((e) => e.type === "warning" && /unencrypted/.test(e.text))).toBe(true);
    const replica = (await s.memory.inventory()).vms.find((v) => v.externalId === r.replicaVmExternalId)!;
    expect(replica.encrypted).toBe(false);
    expect(replica.disks.every((d) => !d.encrypted)).toBe(true);
    await s.sameAsSource(r.replicaVmExternalId!);
  });

  it("a run cut off by a write error leaves the last point intact; the next run reverts the half-work and ends bit for bit", async () => {
    const s = await setup();
    const first = await s.run("re-key", null);
    const replicaId = first.r.replicaVmExternalId!;
    const atPoint = [await s.hash(replicaId, 2000), await s.hash(replicaId, 2001)];
    await s.guest(2000, 0, 12 * MiB);
    await s.guest(2001, 8 * MiB, 6 * MiB);
    s.target.arm({ operation: "write", after: 5 * MiB, error: new HostError("InsufficientSpace", "datastore full") });
    const cut = await s.run("re-key", first.r.state);
    expect(cut.r.status).toBe("failed");
    expect(cut.r.error).toMatch(/datastore full/);
    expect(cut.r.state).toBeNull();
    expect(cut.r.point).toBeNull();
    expect(cut.written).toBeGreaterThan(0);
    expect((await s.target.listSnapshots(replicaId)).map((p) => p.id)).toEqual([first.r.point!.id]);
    expect([await s.hash(replicaId, 2000), await s.hash(replicaId, 2001)]).not.toEqual(atPoint); // half-work on the live disks
    await s.memory.revertToSnapshot(replicaId, first.r.point!.id);
    expect([await s.hash(replicaId, 2000), await s.hash(replicaId, 2001)]).toEqual(atPoint); // the point itself is untouched

    await s.guest(2000, 0, 12 * MiB); // and again the half-work, as a killed run leaves it
    s.target.disarm();
    s.target.arm({ operation: "write", after: 3 * MiB, error: new HostError("Unreachable", "link down") });
    expect((await s.run("re-key", first.r.state)).r.status).toBe("failed");
    s.target.disarm();
    const resumed = await s.run("re-key", first.r.state);
    expect(resumed.r.status, resumed.r.error ?? "").toBe("success");
    expect(resumed.events.find((e) => e.type === "reverted")).toMatchObject({ pointId: first.r.point!.id });
    expect(resumed.written).toBe(18 * MiB); // everything changed since the last complete point, nothing more
    await s.sameAsSource(replicaId);
  });

  it("a run stopped by its signal mid-copy keeps the last point; a first run cut off leaves no replica", async () => {
    const s = await setup();
    s.target.arm({ operation: "write", after: 2 * MiB, error: new HostError("Unreachable", "link down") });
    const firstCut = await s.run("re-key", null);
    expect(firstCut.r.status).toBe("failed");
    expect((await s.memory.inventory()).vms.some((v) => v.name === "app-01_replica")).toBe(false);
    s.target.disarm();

    const first = await s.run("re-key", null);
    await s.guest(2000, 0, 16 * MiB);
    const stop = new AbortController();
    const stopped = await s.run("re-key", first.r.state, {
      signal: stop.signal,
      progressIntervalMs: 0,
      onEvent: (e) => {
        if (e.type === "disk-progress" && e.bytesWritten >= 2 * MiB) stop.abort();
      },
    });
    expect(stopped.r.status).toBe("failed");
    expect(stopped.r.error).toBe("stopped by request");
    expect((await s.target.listSnapshots(first.r.replicaVmExternalId!)).map((p) => p.id)).toEqual([first.r.point!.id]);
    const next = await s.run("re-key", first.r.state);
    expect(next.r.status).toBe("success");
    await s.sameAsSource(first.r.replicaVmExternalId!);
  });

  it("keeps the job's count of points, removing the oldest; an unknown change id copies every block and warns", async () => {
    const s = await setup();
    let state: ReplicaState | null = null;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      await s.guest(2000, i * MiB, MiB);
      const { r } = await s.run("re-key", state, { keepPoints: 2 });
      expect(r.status, r.error ?? "").toBe("success");
      ids.push(r.point!.id);
      if (i >= 2) expect(r.removedPoints).toEqual([ids[i - 2]]);
      state = r.state;
    }
    expect((await s.target.listSnapshots(state!.replicaVmExternalId)).map((p) => p.id)).toEqual(ids.slice(-2));
    await s.sameAsSource(state!.replicaVmExternalId);

    const reset: ReplicaState = { ...state!, disks: state!.disks.map((d) => ({ ...d, changeId: "00000000-0000-0000-0000-000000000000/1" })) };
    const fallback = await s.run("re-key", reset, { keepPoints: 2 });
    expect(fallback.r.status).toBe("warning");
    expect(fallback.r.warnings.join(" ")).toMatch(/change id/);
    expect(fallback.written).toBe(2 * DISK); // every block, zeros included
    await s.sameAsSource(state!.replicaVmExternalId);
  });

  it("a run whose point cannot be taken reports no new state; the next run reverts and ends in a point", async () => {
    const s = await setup();
    const first = await s.run("re-key", null);
    await s.guest(2001, 0, 4 * MiB);
    s.target.arm({ operation: "createSnapshot", error: new HostError("InsufficientSpace", "no room for the snapshot") });
    const noPoint = await s.run("re-key", first.r.state);
    expect(noPoint.r.status).toBe("failed");
    expect(noPoint.r.state).toBeNull();
    expect(noPoint.r.replicaVmExternalId).toBe(first.r.replicaVmExternalId); // an existing replica is never deleted
    expect((await s.target.listSnapshots(first.r.replicaVmExternalId!)).map((p) => p.id)).toEqual([first.r.point!.id]);
    const next = await s.run("re-key", first.r.state);
    expect(next.r.status, next.r.error ?? "").toBe("success");
    expect(next.written).toBe(4 * MiB);
    await s.sameAsSource(first.r.replicaVmExternalId!);
  });

  it("claims a task slot on the source and on the target proxy per disk, and gives every slot back (TRN-6)", async () => {
    const s = await setup();
    const active: Record<string, number> = {};
    const taken: string[] = [];
    let peak = 0;
    const tasks: ProxyTaskGate = {
      counts: async () => ({ ...active }),
      take: async (p, t) => {
        if ((active[p.externalId] ?? 0) >= p.maxTasks) return null;
        active[p.externalId] = (active[p.externalId] ?? 0) + 1;
        peak = Math.max(peak, ...Object.values(active));
        taken.push(`${p.externalId}:${t.deviceKey}`);
        return { slot: active[p.externalId], release: async () => void (active[p.externalId] -= 1) };
      },
    };
    const { r, events } = await s.run("re-key", null, { tasks });
    expect(r.status, r.error ?? "").toBe("success");
    expect(taken.sort()).toEqual(["dr-proxy:2000", "dr-proxy:2001", "prod-proxy:2000", "prod-proxy:2001"]);
    expect(Object.values(active).every((n) => n === 0)).toBe(true);
    expect(peak).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e.type === "task-end")).toHaveLength(4);
  });

  it("refuses bad options before touching anything", async () => {
    const s = await setup();
    expect((await s.run("re-key", null, { keepPoints: 0 })).r.error).toMatch(/at least 1/);
    const noDisk = await s.run("re-key", null, { placement: { ...(await placementOf(s)), disks: {} } });
    expect(noDisk.r.error).toMatch(/no target datastore/);
    expect(s.target.calls.filter((c) => c === "createVm")).toEqual([]);
    expect((await s.memory.inventory()).vms.some((v) => v.name === "app-01_replica")).toBe(false);
  });
});

async function placementOf(s: Awaited<ReturnType<typeof setup>>) {
  return { siteExternalId: s.dr.site, hostExternalId: s.dr.host, name: "app-01_replica", folder: "/Replicas", home: { datastoreExternalId: s.dr.encDs, storagePolicyExternalId: s.dr.encPolicy }, disks: {}, keyProviderExternalId: s.dr.kp };
}

export type { PlatformVm };
