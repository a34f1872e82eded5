// failbackVm on the lab (FBK-1, REP-2): a natively encrypted two-disk VM of the production site
// replicated re-keyed to the DR site; a failover at the platform level (the replica reverted to its
// point, ~1% of its blocks rewritten through the disk writer — which keeps the points — and powered
// on) while production's guest wrote on; then failback to the original (changes only, counted at
// the platform) and to a new location (a full copy under a new production key). Disks compared
// over every block either side holds.
import { afterEach, describe, expect, it } from "vitest";
import type { InventorySnapshot, PlatformVm } from "../../platform/connector";
import type { DiskArea } from "../../platform/disk-io";
import { useTempFolder } from "../../platform/lab/data-plane/testing/temp-folder";
import { LabConnector } from "../../platform/lab/lab-connector";
import { SwitchableKeySources, isNative, pickVm } from "../../platform/lab/testing/lab-fixtures";
import { FaultyConnector } from "../../platform/testing/faulty-connector";
import { blocksOfAreas } from "./backup-disk";
import { failbackVm, type FailbackDestination } from "./failback-vm";
import type { CandidateProxy } from "./proxy-selection";
import { replicateVm } from "./replicate-vm";
import { diskPrint } from "./testing";

const MiB = 1024 * 1024;
const folder = useTempFolder("strongroom-failback-vm-");
const sourceVm = pickVm("natively encrypted two-disk VM at production", (v) => v.encrypted && !v.vtpm && isNative(v) && v.disks.length >= 2);

function siteOf(inv: InventorySnapshot, role: "production" | "dr") {
  const site = inv.sites.find((s) => s.role === role)!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const kp = inv.keyProviders.find((k) => k.siteExternalId === site && k.kind === "native")!.externalId;
  return { site, encPolicy, encDs: encDs.externalId, plainPolicy, host, kp };
}

const proxy = (site: string, kp: string | null, name: string): CandidateProxy => ({
  externalId: name,
  name,
  kind: "vm",
  siteExternalId: site,
  transportModes: ["hotadd", "nbd", "nbdssl"],
  maxTasks: 4,
  keyProviderExternalId: kp,
  tenantExternalId: null,
  privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"],
  activeTasks: 0,
});

const opened: LabConnector[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

describe("failbackVm (lab)", { timeout: 60_000 }, () => {
  it("re-key: back to the original shipping only the changed blocks, and to a new location under a new production key, bit for bit", async () => {
    const lab = new LabConnector({ folder: folder(), diskDataMiB: 16, keySources: new SwitchableKeySources(folder()) });
    opened.push(lab);
    const production = new FaultyConnector(lab);
    const inv = await lab.inventory();
    const prod = siteOf(inv, "production");
    const dr = siteOf(inv, "dr");
    if (sourceVm.powerState !== "poweredOn") await lab.powerOn(sourceVm.externalId);
    await lab.guestWrites(sourceVm.externalId, 1, 21);
    const vmOf = async (id: string): Promise<PlatformVm> => (await lab.inventory()).vms.find((v) => v.externalId === id)!;
    const source = await vmOf(sourceVm.externalId);
    const drProxy = proxy(dr.site, dr.kp, "dr-proxy");
    const prodProxy = proxy(prod.site, source.keyProviderExternalId, "prod-proxy");
    const rep = await replicateVm({
      source: lab,
      sourceVm: source,
      target: lab,
      placement: {
        siteExternalId: dr.site,
        hostExternalId: dr.host,
        name: `${source.name}_replica`,
        folder: "/Replicas",
        home: { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.encPolicy },
        disks: Object.fromEntries(source.disks.map((d) => [d.deviceKey, { datastoreExternalId: dr.encDs, storagePolicyExternalId: d.encrypted ? dr.encPolicy : dr.plainPolicy }])),
        keyProviderExternalId: dr.kp,
      },
      keyMode: "re-key",
      last: null,
      keepPoints: 2,
      sourceProxies: [prodProxy],
      targetProxies: [drProxy],
      sourceSelection: { proxies: "automatic", failoverToNetwork: true },
      targetSelection: { proxies: "automatic", failoverToNetwork: true },
    });
    expect(rep.status, rep.error ?? "").toBe("success");
    const replicaId = rep.replicaVmExternalId!;

    // Production wrote on after the last replication (the guest, through CBT)…
    const late = await lab.guestWrites(sourceVm.externalId, 0.05, 22);
    expect(late.changedBlocks).toBeGreaterThan(0);
    // …and the DR site failed over: reverted to the point, the failed-over VM's writes, powered on.
    await lab.revertToSnapshot(replicaId, rep.point!.id);
    for (const d of source.disks) {
      const w = await lab.openDiskForWrite({ vmExternalId: replicaId, deviceKey: d.deviceKey, mode: "nbdssl", proxy: drProxy });
      const blocks = [1, 7];
      for (const b of blocks) await w.write(b * MiB + 8192, Buffer.alloc(16 * 1024, 0x5a + b));
      await w.close();
    }
    await lab.powerOn(replicaId);

    const points = (await lab.listSnapshots(replicaId)).map((p) => p.id);
    const run = async (destination: FailbackDestination) => {
      production.calls.length = 0;
      return failbackVm({
        replicaHost: lab,
        replicaVm: await vmOf(replicaId),
        failoverPoint: rep.point!,
        destinationHost: production,
        destination,
        keyMode: "re-key",
        replicaProxies: [drProxy],
        destinationProxies: [prodProxy],
        replicaSelection: { proxies: "automatic", failoverToNetwork: true },
        destinationSelection: { proxies: "automatic", failoverToNetwork: true },
      });
    };
    /** Every block either VM holds reads the same on both. */
    const sameAsReplica = async (vmId: string) => {
      for (const d of source.disks) {
        const a = await diskPrint(lab, vmId, d.deviceKey);
        const b = await diskPrint(lab, replicaId, d.deviceKey);
        const blocks = [...new Set([...blocksOfAreas(a.written, d.capacityBytes, MiB), ...blocksOfAreas(b.written, d.capacityBytes, MiB)])].sort((x, y) => x - y);
        const areas: DiskArea[] = blocks.map((i) => ({ start: i * MiB, length: Math.min(MiB, d.capacityBytes - i * MiB) }));
        expect((await diskPrint(lab, vmId, d.deviceKey, areas)).hash, `${vmId} ${d.label}`).toBe((await diskPrint(lab, replicaId, d.deviceKey, areas)).hash);
      }
    };

    const back = await run({ kind: "original", vm: source, changeIds: rep.state!.disks });
    expect(back.status, back.error ?? "").toBe("success");
    expect((await vmOf(sourceVm.externalId)).powerState).toBe("poweredOff");
    expect(back.disks.every((d) => d.changesOnly && d.replicaChangedBlocks === 2)).toBe(true);
    const shipped = production.calls.filter((c) => c.startsWith("write "));
    expect(shipped.length).toBe(back.blocksShipped);
    // The failover's 2 blocks per disk ∪ what production wrote late: far fewer than the disks hold.
    expect(back.disks.reduce((n, d) => n + d.originalChangedBlocks!, 0)).toBe(late.changedBlocks);
    expect(back.blocksShipped).toBeGreaterThanOrEqual(Math.max(2 * source.disks.length, late.changedBlocks));
    expect(back.blocksShipped).toBeLessThanOrEqual(2 * source.disks.length + late.changedBlocks);
    expect(back.keyId).toBe(source.keyId);
    await sameAsReplica(sourceVm.externalId);

    const elsewhere = await run({
      kind: "new-vm",
      placement: {
        siteExternalId: prod.site,
        hostExternalId: prod.host,
        name: `${source.name}_failback`,
        folder: "/Failback",
        home: { datastoreExternalId: prod.encDs, storagePolicyExternalId: prod.encPolicy },
        disks: Object.fromEntries(source.disks.map((d) => [d.deviceKey, { datastoreExternalId: prod.encDs, storagePolicyExternalId: d.encrypted ? prod.encPolicy : prod.plainPolicy }])),
        keyProviderExternalId: prod.kp,
      },
    });
    expect(elsewhere.status, elsewhere.error ?? "").toMatch(/success|warning/);
    const copy = await vmOf(elsewhere.vmExternalId!);
    expect(copy).toMatchObject({ siteExternalId: prod.site, encrypted: true, keyProviderExternalId: prod.kp });
    expect(copy.keyId).not.toBe((await vmOf(replicaId)).keyId);
    expect(copy.keyId).not.toBe(source.keyId);
    expect(elsewhere.blocksShipped).toBeGreaterThan(back.blocksShipped);
    await sameAsReplica(copy.externalId);
    // The copy is keyed at production: it powers on there (VME-3).
    await lab.powerOn(copy.externalId);

    // The replica: its points as they were, still running in failover.
    expect((await lab.listSnapshots(replicaId)).map((p) => p.id)).toEqual(points);
    expect((await vmOf(replicaId)).powerState).toBe("poweredOn");
  });
});
