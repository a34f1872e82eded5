// A replication run that cannot finish (REP-1, REP-2, VME-3): the VM fails with a message that says
// what happened and what to do, the replica keeps its last complete point, and the next run resumes.
//   - the target datastore fills up mid-write (the replica's writer answers InsufficientSpace)
//   - the target key provider cannot be reached in re-key mode: refused before anything is written
//   - a source VM deleted since the job was made: that VM fails, the job's other VMs replicate
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/db/client";
import type { PlatformVm } from "@/lib/platform/connector";
import type { DiskWriter } from "@/lib/platform/disk-io";
import type { OpenDiskForWriteOptions } from "@/lib/platform/restore-host";
import { HostError } from "@/lib/platform/errors";
import { makeActor } from "@/lib/testing/factories";
import { areasOf, diskHashes, drSite, replicationJobInput } from "@/lib/testing/replication-fixtures";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { platform, replicationHosts, restoreHost } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { createReplicationJob } from "./create-replication-job";
import { runReplicationJobNow } from "./run-replication-job";

let admin: Awaited<ReturnType<typeof makeActor>>;
let source: PlatformVm;
let undo: UndoVm | undefined;
const made = new Set<string>();

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  await platform().guestWrites(source.externalId, 1, 51);
}, 120_000);

afterEach(async () => {
  vi.restoreAllMocks();
  // Each test's replicas go (two replicas of one source at the DR site would share its MACs).
  for (const r of await db.replica.findMany({ where: { job: { createdById: admin.id } }, select: { replicaVmExternalId: true } })) if (r.replicaVmExternalId) made.add(r.replicaVmExternalId);
  for (const id of made) await replicationHosts().target.deleteVm(id).catch(() => undefined);
  made.clear();
}, 60_000);

afterAll(async () => {
  await undo?.().catch(() => undefined);
  await syncInventoryFromPlatform();
}, 60_000);

async function run(jobId: string) {
  const s = await runBackupSession((await runReplicationJobNow(admin, { jobId })).sessionId, 180_000);
  const vms = await db.sessionVm.findMany({ where: { sessionId: s.id }, orderBy: { position: "asc" } });
  const events = await db.sessionEvent.findMany({ where: { sessionId: s.id }, orderBy: { id: "asc" }, select: { text: true } });
  return { session: s, vms: vms.map((v) => ({ ...v, progress: JSON.parse(v.progress) as { status: string; error: string | null; incremental: boolean | null } })), log: events.map((e) => e.text).join("\n") };
}

/** The platform's replica writers fail the way a full datastore does, after `okBlocks` writes each. */
function datastoreFills(okBlocks: number) {
  const target = replicationHosts().target;
  const open = target.openDiskForWrite.bind(target);
  return vi.spyOn(target, "openDiskForWrite").mockImplementation(async (o: OpenDiskForWriteOptions): Promise<DiskWriter> => {
    const w = await open(o);
    let writes = 0;
    return {
      capacityBytes: w.capacityBytes,
      mode: w.mode,
      write: async (offset, data) => {
        if (++writes > okBlocks) throw new HostError("InsufficientSpace", "The host refused the write: datastore-40 has no free space left");
        return w.write(offset, data);
      },
      close: () => w.close(),
      abort: () => w.abort(),
    };
  });
}

describe("replication runs that cannot finish", { timeout: 300_000 }, () => {
  it("the target datastore fills up mid-write: the VM fails saying so, the last point is intact, the next run resumes", async () => {
    const { id: jobId } = await createReplicationJob(admin, await replicationJobInput([source]));
    const first = await run(jobId);
    expect(first.session.state, first.log).toBe("success");
    const replica = await db.replica.findFirstOrThrow({ where: { jobId }, include: { points: true } });
    const replicaVm = replica.replicaVmExternalId!;
    const point1 = replica.points[0].snapshotId;
    const atPoint1 = await diskHashes(source.externalId, source);

    await platform().guestWrites(source.externalId, 0.1, 52);
    const spy = datastoreFills(0);
    const full = await run(jobId);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
    expect(full.session.state).toBe("failed");
    expect(full.vms[0].state).toBe("failed");
    const error = full.vms[0].progress.error!;
    expect(error).toMatch(/datastore .*full|no free space/i);
    expect(error).toMatch(/free space on .*datastore|another datastore/i);
    expect(full.log).toMatch(/the replica keeps its last point/);
    const after = await db.replica.findUniqueOrThrow({ where: { id: replica.id }, include: { points: true } });
    expect(after).toMatchObject({ lastPointId: point1, replicaVmExternalId: replicaVm, lastRunStatus: "failed" });
    expect(after.lastRunError).toBe(error);
    expect(after.points.map((p) => p.snapshotId)).toEqual([point1]);
    expect((await replicationHosts().target.listSnapshots(replicaVm)).map((s) => s.id)).toEqual([point1]);
    // The replica at its last point is the source at point 1 (the next run reverts to it first).
    await replicationHosts().target.revertToSnapshot(replicaVm, point1);
    const reverted = await diskHashes(replicaVm, source, areasOf(atPoint1));
    for (const d of source.disks) expect(reverted.get(d.deviceKey)!.hash, d.label).toBe(atPoint1.get(d.deviceKey)!.hash);

    const next = await run(jobId);
    expect(next.session.state, next.log).toBe("success");
    expect(next.vms[0].progress.incremental).toBe(true);
    const now = await diskHashes(source.externalId, source);
    const rep = await diskHashes(replicaVm, source, areasOf(now));
    for (const d of source.disks) expect(rep.get(d.deviceKey)!.hash, d.label).toBe(now.get(d.deviceKey)!.hash);
    expect(await db.replicaPoint.count({ where: { replicaId: replica.id } })).toBe(2);
  });

  it("a first run whose datastore fills up leaves no replica VM and no point; the next run makes it", async () => {
    const { id: jobId } = await createReplicationJob(admin, await replicationJobInput([source]));
    const spy = datastoreFills(2);
    const full = await run(jobId);
    spy.mockRestore();
    expect(full.vms[0].state).toBe("failed");
    expect(full.vms[0].progress.error).toMatch(/full|no free space/i);
    const replica = await db.replica.findFirstOrThrow({ where: { jobId }, include: { points: true } });
    expect(replica).toMatchObject({ replicaVmExternalId: null, lastPointId: null });
    expect(replica.points).toEqual([]);
    const placed = JSON.parse((await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } })).placements)[source.externalId].name as string;
    expect((await platform().inventory()).vms.filter((v) => v.name === placed)).toEqual([]);
    const next = await run(jobId);
    expect(next.session.state, next.log).toBe("success");
  });

  describe("the target key provider cannot be reached in re-key mode: refused before anything is written", () => {
    const standardDrProvider = async () => {
      const inv = await platform().inventory();
      const d = drSite(inv);
      return inv.keyProviders.find((k) => k.siteExternalId === d.site && k.kind === "standard" && k.tenantExternalId === null)!;
    };

    it("no KMS cluster is registered for it", async () => {
      const kp = await standardDrProvider();
      const { id: jobId } = await createReplicationJob(admin, await replicationJobInput([source], { targetKeyProviderExternalId: kp.externalId }));
      const createVm = vi.spyOn(replicationHosts().target, "createVm");
      const r = await run(jobId);
      expect(r.vms[0].state).toBe("failed");
      const error = r.vms[0].progress.error!;
      expect(error).toContain(kp.name);
      expect(error).toMatch(/register .*under Key providers/i);
      expect(error).toMatch(/nothing was written/i);
      expect(createVm).not.toHaveBeenCalled();
      expect(await db.replica.findFirstOrThrow({ where: { jobId }, include: { points: true } })).toMatchObject({ replicaVmExternalId: null, lastPointId: null, points: [] });
    });

    it("its KMS cluster is unreachable", async () => {
      const kp = await standardDrProvider();
      const row = await db.keyProvider.findFirstOrThrow({ where: { externalId: kp.externalId, site: { externalId: kp.siteExternalId } } });
      const cluster = await db.kmsCluster.create({
        data: { name: `dr-kms-${Math.random().toString(36).slice(2, 8)}`, servers: JSON.stringify([{ host: "127.0.0.1", port: 1 }]), caSealed: "x", clientCertSealed: "x", clientKeySealed: "x", clientCertSubject: "CN=strongroom", clientCertFingerprint: "00", clientCertNotAfter: new Date(Date.now() + 86_400_000 * 365), status: "unreachable", statusCheckedAt: new Date(), unreachableSince: new Date(Date.now() - 600_000), lastError: "connect ECONNREFUSED 127.0.0.1:1" },
      });
      await db.keyProvider.update({ where: { id: row.id }, data: { kmsClusterId: cluster.id } });
      try {
        const { id: jobId } = await createReplicationJob(admin, await replicationJobInput([source], { targetKeyProviderExternalId: kp.externalId }));
        const createVm = vi.spyOn(replicationHosts().target, "createVm");
        const r = await run(jobId);
        expect(r.vms[0].state).toBe("failed");
        const error = r.vms[0].progress.error!;
        expect(error).toContain(cluster.name);
        expect(error).toMatch(/unreachable since/);
        expect(error).toMatch(/Check the KMS cluster under Key providers/);
        expect(createVm).not.toHaveBeenCalled();
        expect(await db.replica.findFirstOrThrow({ where: { jobId } })).toMatchObject({ replicaVmExternalId: null, lastPointId: null });
      } finally {
        await db.keyProvider.update({ where: { id: row.id }, data: { kmsClusterId: row.kmsClusterId } });
        await db.kmsCluster.delete({ where: { id: cluster.id } });
      }
    });
  });

  it("a source VM deleted since the job was made fails with the reason; the job's other VM replicates", async () => {
    const inv = await platform().inventory();
    const prod = source.siteExternalId;
    const plainPolicy = inv.storagePolicies.find((p) => p.siteExternalId === prod && !p.encryption)!;
    const ds = inv.datastores.filter((d) => d.siteExternalId === prod && d.compatiblePolicyExternalIds.includes(plainPolicy.externalId)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
    const doomed = await restoreHost().createVm({
      siteExternalId: prod,
      hostExternalId: source.hostExternalId,
      name: `doomed-${Math.random().toString(36).slice(2, 8)}`,
      folder: "/Tests",
      tenantExternalId: source.tenantExternalId,
      guestOs: source.guestOs,
      cpuCount: 1,
      memoryMiB: 512,
      home: { datastoreExternalId: ds.externalId, storagePolicyExternalId: plainPolicy.externalId, crypto: { kind: "none" } },
      disks: [{ deviceKey: 2000, label: "Hard disk 1", capacityBytes: 64 * 1024 * 1024, datastoreExternalId: ds.externalId, storagePolicyExternalId: plainPolicy.externalId, encrypted: false }],
      vtpm: false,
    });
    try {
      await platform().powerOn(doomed.externalId);
      await platform().guestWrites(doomed.externalId, 1, 53);
      const { id: jobId } = await createReplicationJob(admin, await replicationJobInput([source, doomed]));
      await platform().powerOff(doomed.externalId);
      await restoreHost().deleteVm(doomed.externalId);
      const r = await run(jobId);
      const [ok, gone] = r.vms;
      expect(ok.progress.status, r.log).toBe("success");
      expect(gone.state).toBe("failed");
      expect(gone.progress.error).toContain(doomed.name);
      expect(gone.progress.error).toMatch(/no longer exists/);
      expect(gone.progress.error).toMatch(/remove it from the job/);
      expect(r.session.state).toBe("failed");
      expect(r.session.error).toMatch(/1 of 2 VM/);
      const replicas = await db.replica.findMany({ where: { jobId }, include: { points: true } });
      expect(replicas.find((x) => x.sourceVmExternalId === source.externalId)!.points).toHaveLength(1);
      expect(replicas.find((x) => x.sourceVmExternalId === doomed.externalId)).toMatchObject({ replicaVmExternalId: null, points: [] });
    } finally {
      await platform().powerOff(doomed.externalId).catch(() => undefined);
      await restoreHost().deleteVm(doomed.externalId).catch(() => undefined);
    }
  });
});
