// Failover of an encrypted replica below the browser (FOV-1, SEC-1, SEC-4), through the job engine
// against the lab, with the DR site's key provider a real KMS (PyKMIP): a replication job re-keys
// the replica under it; the pre-failover check says go, and no-go when the KMS is down or a key
// of the point is gone from it; failover now powers the replica on at its point; a guest write in
// it is discarded by undo (bit for bit back to the point) and replication runs again; permanent
// failover commits the points and drops the source from the job; a planned failover syncs, powers
// the source off, syncs again and fails over without losing a write; every action is refused in a
// state that does not allow it, and by role.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { diskPrint } from "@/lib/engine/pipeline/testing";
import { KmipClient } from "@/lib/kmip";
import { startPykmipServer, type PykmipServer } from "@/lib/kmip/testing/pykmip-server";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { dbState, expectAppError, expectUnchangedSince } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { platform, replicationHosts } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { registerKmsCluster } from "../kms/register-kms-cluster";
import { createReplicationJob } from "../replication/create-replication-job";
import { runReplicationJobNow } from "../replication/run-replication-job";
import { checkFailover } from "./check-failover";
import { permanentFailover } from "./permanent-failover";
import { startFailover } from "./start-failover";
import { startPlannedFailover } from "./start-planned-failover";
import { undoFailover } from "./undo-failover";

let admin: Awaited<ReturnType<typeof makeActor>>;
let operator: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;
let source: PlatformVm;
let undo: UndoVm | undefined;
let kms: PykmipServer;
let jobId: string;
let replicaId: string;
let replicaVmId: string;
let mappedNetwork: string | null = null;
const reason = "DR drill: production site lost";

function dr(inv: InventorySnapshot) {
  const site = inv.sites.find((s) => s.role === "dr")!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const network = inv.networks.find((n) => n.siteExternalId === site && n.hostExternalIds.includes(host)) ?? null;
  return { site, encPolicy, encDs: encDs.externalId, plainPolicy, host, network };
}

async function jobInput(kp: string) {
  const inv = await platform().inventory();
  const d = dr(inv);
  const vm = inv.vms.find((v) => v.externalId === source.externalId)!;
  const place = { datastoreExternalId: d.encDs, storagePolicyExternalId: d.encPolicy };
  return {
    name: uniqueEmail("failover"),
    vms: [
      {
        vmExternalId: vm.externalId,
        name: `${vm.name}_dr_${Math.random().toString(36).slice(2, 7)}`,
        folder: "/Replicas",
        home: place,
        disks: vm.disks.map((x) => ({ deviceKey: x.deviceKey, ...(x.encrypted ? place : { datastoreExternalId: d.encDs, storagePolicyExternalId: d.plainPolicy }) })),
        networks: (vm.nics ?? []).map((n, i) => ({ nicDeviceKey: n.deviceKey, networkExternalId: i === 0 ? (d.network?.externalId ?? null) : null })),
      },
    ],
    targetSiteExternalId: d.site,
    targetHostExternalId: d.host,
    keyMode: "re-key",
    targetKeyProviderExternalId: kp,
    refuseUnencrypted: true,
    keepPoints: 3,
    schedule: { kind: "manual" },
  };
}

/** The replica's disks as hashes of every written area (what a point holds, bit for bit). */
async function prints(vmId: string): Promise<string[]> {
  const vm = (await platform().inventory()).vms.find((v) => v.externalId === vmId)!;
  const out: string[] = [];
  for (const d of vm.disks) out.push((await diskPrint(replicationHosts().source, vmId, d.deviceKey)).hash);
  return out;
}

const replica = () => db.replica.findUniqueOrThrow({ where: { id: replicaId }, include: { points: { orderBy: { createdAt: "asc" } }, job: true } });
const runJob = async () => runBackupSession((await runReplicationJobNow(admin, { jobId })).sessionId);
const logOf = async (sessionId: string) => (await db.sessionEvent.findMany({ where: { sessionId }, orderBy: { id: "asc" }, select: { text: true } })).map((e) => e.text).join("\n");
let drKp: { id: string; externalId: string };
let clusterId: string | undefined;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  operator = await makeActor("RESTORE_OPERATOR");
  viewer = await makeActor("BACKUP_VIEWER");
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  await platform().guestWrites(source.externalId, 0.05, 41);
  kms = await startPykmipServer({ keepDir: true });
  const site = dr(await platform().inventory()).site;
  drKp = await db.keyProvider.findFirstOrThrow({ where: { kind: "STANDARD", kmsClusterId: null, tenantId: null, site: { externalId: site } }, select: { id: true, externalId: true } });
  clusterId = (await registerKmsCluster(admin, { name: uniqueEmail("dr-kms"), servers: `127.0.0.1:${kms.port}`, caPem: kms.ca.toString(), clientCertPem: kms.clientA.cert.toString(), clientKeyPem: kms.clientA.key.toString(), keyProviderIds: [drKp.id] })).id;
  jobId = (await createReplicationJob(admin, await jobInput(drKp.externalId))).id;
  const first = await runJob();
  expect(first.state, first.error ?? "").toBe("success");
  const r = await db.replica.findFirstOrThrow({ where: { jobId } });
  replicaId = r.id;
  replicaVmId = r.replicaVmExternalId!;
  mappedNetwork = dr(await platform().inventory()).network?.externalId ?? null;
}, 180_000);

afterAll(async () => {
  for (const r of await db.replica.findMany({ where: { job: { createdById: admin.id } }, select: { replicaVmExternalId: true } })) {
    if (!r.replicaVmExternalId) continue;
    await platform().powerOff(r.replicaVmExternalId).catch(() => undefined);
    await replicationHosts().target.deleteVm(r.replicaVmExternalId).catch(() => undefined);
  }
  // The DR KMS goes with its server: later files see the estate's key providers as they were.
  if (clusterId) await db.kmsCluster.delete({ where: { id: clusterId } }).catch(() => undefined);
  await kms?.stop();
  await undo?.();
  await syncInventoryFromPlatform();
}, 60_000);

describe("failover of an encrypted replica (FOV-1)", { timeout: 180_000 }, () => {
  it("the pre-failover check says go: the DR KMS answers for the point's key; a Viewer may not ask", async () => {
    const [res] = await checkFailover(operator, { replicas: [{ replicaId }] });
    expect(res.reasons).toEqual([]);
    expect(res.go).toBe(true);
    const r = await replica();
    expect(res.point?.snapshotId).toBe(r.points[r.points.length - 1].snapshotId);
    expect(res.notes.join(" ")).toMatch(/Keys unlock: .* answered for key/);
    await expectAppError(checkFailover(viewer, { replicas: [{ replicaId }] }), "FORBIDDEN");
  });

  it("no-go while the DR key provider's KMS is down, and failover is refused with the reason, nothing queued", async () => {
    const { dir, port } = kms;
    await kms.stop();
    try {
      const [res] = await checkFailover(admin, { replicas: [{ replicaId }] });
      expect(res.go).toBe(false);
      expect(res.reasons.join(" ")).toMatch(/cannot reach key provider .* would not power on/);
      const sessions = await db.jobSession.count({ where: { kind: "failover" } });
      const e = await expectAppError(startFailover(admin, { replicaId, reason }), "CONFLICT");
      expect(e.message).toMatch(/no-go .* cannot reach key provider/);
      expect(await db.jobSession.count({ where: { kind: "failover" } })).toBe(sessions);
      expect((await replica()).state).toBe("Ready");
    } finally {
      kms = await startPykmipServer({ keepDir: true, reuse: { dir, port } });
    }
    expect((await checkFailover(admin, { replicas: [{ replicaId }] }))[0].go).toBe(true);
  });

  it("roles: a Viewer can do none of it; a Restore Operator may not make a failover permanent; nothing written", async () => {
    const before = await dbState();
    await expectAppError(startFailover(viewer, { replicaId, reason }), "FORBIDDEN");
    await expectAppError(undoFailover(viewer, { replicaId, reason }), "FORBIDDEN");
    await expectAppError(permanentFailover(viewer, { replicaId, reason }), "FORBIDDEN");
    await expectAppError(permanentFailover(operator, { replicaId, reason }), "FORBIDDEN");
    await expectUnchangedSince(before);
  });

  it("undo and permanent are refused while the replica is Ready", async () => {
    expect((await expectAppError(undoFailover(admin, { replicaId, reason }), "CONFLICT")).message).toMatch(/not failed over: there is nothing to undo/);
    expect((await expectAppError(permanentFailover(admin, { replicaId, reason }), "CONFLICT")).message).toMatch(/fail it over first/);
  });

  let atPoint: string[];
  it("failover now (a Restore Operator): the replica is powered on at the point with its network connected, state Failover, audited", async () => {
    atPoint = await prints(replicaVmId);
    const point = (await replica()).points.at(-1)!;
    const { sessionId } = await startFailover(operator, { replicaId, reason });
    const s = await runBackupSession(sessionId);
    expect(s.kind).toBe("failover");
    expect(s.state, `${s.error ?? ""}\n${await logOf(sessionId)}`).toBe("success");
    const r = await replica();
    expect(r).toMatchObject({ state: "Failover", failoverPointId: point.snapshotId, failoverSessionId: sessionId });
    const rt = await platform().vmRuntime(replicaVmId);
    expect(rt.powerState).toBe("poweredOn");
    expect(mappedNetwork, "the DR host has a network to map to").not.toBeNull();
    expect(rt.nics[0]).toMatchObject({ networkExternalId: mappedNetwork, connected: true });
    expect(await prints(replicaVmId)).toEqual(atPoint);
    expect((await platform().vmRuntime(source.externalId)).powerState).toBe("poweredOn"); // the source is left as it is
    const log = await logOf(sessionId);
    expect(log).toMatch(/Check: go/);
    expect(log).toMatch(/powered on at the DR site .* s after the action/);
    const audits = await db.auditEvent.findMany({ where: { objectId: replicaId, action: { startsWith: "failover." } }, orderBy: { at: "asc" } });
    expect(audits.map((a) => [a.action, a.outcome])).toEqual(expect.arrayContaining([["failover.failover.start", "success"], ["failover.failover", "success"]]));
    expect(audits.find((a) => a.action === "failover.failover.start" && a.outcome === "success")?.actorId).toBe(operator.id);
    expect(audits.find((a) => a.action === "failover.failover.start" && a.outcome === "failure")?.details).toMatch(/cannot reach key provider/); // the refused one above
  });

  it("in Failover: failing over again is refused, and a replication run skips the replica with a clear line", async () => {
    expect((await expectAppError(startFailover(admin, { replicaId, reason }), "CONFLICT")).message).toMatch(/already failed over/);
    const points = (await replica()).points.length;
    const run = await runJob();
    expect(run.state).toBe("warning");
    expect(await logOf(run.id)).toMatch(/skipped: the replica is failed over/);
    expect((await replica()).points).toHaveLength(points);
    expect((await platform().vmRuntime(replicaVmId)).powerState).toBe("poweredOn");
  });

  it("a guest write in the failed-over VM, then undo: the write is gone (bit for bit the point), Ready, and replication runs again", async () => {
    const wrote = await platform().guestWrites(replicaVmId, 0.5, 42);
    expect(wrote.changedBlocks).toBeGreaterThan(0);
    expect(await prints(replicaVmId)).not.toEqual(atPoint);
    const { sessionId } = await undoFailover(operator, { replicaId, reason });
    const s = await runBackupSession(sessionId);
    expect(s.state, `${s.error ?? ""}\n${await logOf(sessionId)}`).toBe("success");
    const r = await replica();
    expect(r).toMatchObject({ state: "Ready", failoverPointId: null });
    expect((await platform().vmRuntime(replicaVmId)).powerState).toBe("poweredOff");
    expect(await prints(replicaVmId)).toEqual(atPoint);
    expect((await expectAppError(undoFailover(admin, { replicaId, reason }), "CONFLICT")).message).toMatch(/nothing to undo/);
    await platform().guestWrites(source.externalId, 0.02, 43);
    const next = await runJob();
    expect(next.state, next.error ?? "").toBe("success");
    expect(JSON.parse((await db.sessionVm.findFirstOrThrow({ where: { sessionId: next.id } })).progress).incremental).toBe(true);
    expect((await replica()).points.length).toBe(r.points.length + 1);
  });

  it("planned failover: a guest write on the source just before is on the replica; the source is powered off; no data lost", async () => {
    await platform().guestWrites(source.externalId, 0.03, 44); // the last writes production makes
    const { sessionId } = await startPlannedFailover(operator, { replicaId, reason: "planned move to the DR site" });
    const s = await runBackupSession(sessionId, 240_000);
    const log = await logOf(sessionId);
    expect(s.state, `${s.error ?? ""}\n${log}`).toBe("success");
    expect(log).toMatch(/Sync 1 done[\s\S]*powered off at the production site[\s\S]*Final sync done[\s\S]*powered on at the DR site/);
    expect((await platform().vmRuntime(source.externalId)).powerState).toBe("poweredOff");
    expect((await platform().vmRuntime(replicaVmId)).powerState).toBe("poweredOn");
    const r = await replica();
    expect(r.state).toBe("Failover");
    expect(r.failoverPointId).toBe(r.points.at(-1)!.snapshotId);
    for (const disk of source.disks) {
      const src = await diskPrint(replicationHosts().source, source.externalId, disk.deviceKey);
      const rep = await diskPrint(replicationHosts().source, replicaVmId, disk.deviceKey, src.written);
      expect(rep.hash, `${disk.label}: the replica holds every block the source wrote`).toBe(src.hash);
    }
    expect(await db.auditEvent.count({ where: { objectId: replicaId, action: "failover.planned", outcome: "success" } })).toBe(1);
    // Back to Ready for what follows, production powered on again.
    expect((await runBackupSession((await undoFailover(admin, { replicaId, reason })).sessionId)).state).toBe("success");
    await platform().powerOn(source.externalId);
  });

  it("failover to an older point removes the newer ones; after undo the next replication is incremental from it and the replica equals the source", async () => {
    const before = (await replica()).points;
    expect(before.length).toBeGreaterThanOrEqual(2);
    const [res] = await checkFailover(admin, { replicas: [{ replicaId, pointId: before[0].id }] });
    expect(res.go).toBe(true);
    expect(res.notes.join(" ")).toMatch(new RegExp(`${before.length - 1} newer point\\(s\\) .* are removed`));
    const f = await runBackupSession((await startFailover(admin, { replicaId, pointId: before[0].id, reason })).sessionId);
    expect(f.state, f.error ?? "").toBe("success");
    expect((await replica()).points.map((p) => p.snapshotId)).toEqual([before[0].snapshotId]);
    expect((await replicationHosts().target.listSnapshots(replicaVmId)).map((p) => p.id)).toEqual([before[0].snapshotId]);
    expect((await runBackupSession((await undoFailover(admin, { replicaId, reason })).sessionId)).state).toBe("success");
    await platform().guestWrites(source.externalId, 0.02, 45);
    const run = await runJob();
    expect(run.state, run.error ?? "").toBe("success");
    expect(JSON.parse((await db.sessionVm.findFirstOrThrow({ where: { sessionId: run.id } })).progress).incremental).toBe(true);
    for (const disk of source.disks) {
      const src = await diskPrint(replicationHosts().source, source.externalId, disk.deviceKey);
      const rep = await diskPrint(replicationHosts().source, replicaVmId, disk.deviceKey, src.written);
      expect(rep.hash, disk.label).toBe(src.hash);
    }
    expect((await replica()).points).toHaveLength(2);
  });

  it("permanent failover (a Backup Administrator): points committed, the source dropped from the job, every action refused after", async () => {
    const f = await runBackupSession((await startFailover(admin, { replicaId, reason })).sessionId);
    expect(f.state, f.error ?? "").toBe("success");
    const live = await prints(replicaVmId);
    const { sessionId } = await permanentFailover(admin, { replicaId, reason });
    const s = await runBackupSession(sessionId);
    expect(s.state, `${s.error ?? ""}\n${await logOf(sessionId)}`).toBe("success");
    const r = await replica();
    expect(r.state).toBe("PermanentFailover");
    expect(r.points).toEqual([]);
    expect(await replicationHosts().target.listSnapshots(replicaVmId)).toEqual([]);
    expect(JSON.parse(r.job.vmExternalIds)).not.toContain(source.externalId);
    expect(Object.keys(JSON.parse(r.job.placements))).not.toContain(source.externalId);
    expect((await platform().vmRuntime(replicaVmId)).powerState).toBe("poweredOn");
    expect(await prints(replicaVmId)).toEqual(live);
    for (const refused of [() => startFailover(admin, { replicaId, reason }), () => undoFailover(admin, { replicaId, reason }), () => permanentFailover(admin, { replicaId, reason })]) {
      expect((await expectAppError(refused(), "CONFLICT")).message).toMatch(/production VM by a permanent failover/);
    }
    expect(await db.auditEvent.count({ where: { objectId: replicaId, action: "failover.permanent", outcome: "success" } })).toBe(1);
  });

  it("no-go when a key of the point is gone from the DR KMS (another job's replica, its key destroyed there)", async () => {
    // A replica at the DR site keeps its source's MACs: the first one (production now) goes first.
    await platform().powerOff(replicaVmId);
    await replicationHosts().target.deleteVm(replicaVmId);
    const other = (await createReplicationJob(admin, await jobInput(drKp.externalId))).id;
    const run = await runBackupSession((await runReplicationJobNow(admin, { jobId: other })).sessionId);
    expect(run.state, run.error ?? "").toBe("success");
    const r = await db.replica.findFirstOrThrow({ where: { jobId: other } });
    expect((await checkFailover(admin, { replicas: [{ replicaId: r.id }] }))[0].go).toBe(true);
    const client = new KmipClient({ host: "127.0.0.1", port: kms.port, ca: kms.ca, cert: kms.clientA.cert, key: kms.clientA.key });
    try {
      await client.revoke(r.keyId!);
      await client.destroy(r.keyId!);
    } finally {
      await client.close();
    }
    const [res] = await checkFailover(admin, { replicas: [{ replicaId: r.id }] });
    expect(res.go).toBe(false);
    expect(res.reasons.join(" ")).toMatch(new RegExp(`does not hold key ${r.keyId}`));
    await expectAppError(startFailover(admin, { replicaId: r.id, reason }), "CONFLICT");
    expect((await db.replica.findUniqueOrThrow({ where: { id: r.id } })).state).toBe("Ready");
  });
});
