// Failback of an encrypted replica below the browser (FBK-1, REP-2, SEC-4), through the job engine
// against the lab: a re-keyed replication job (the DR site's native key provider) and a failover;
// a guest write in the failed-over replica is failed back to the original shipping only the changed
// blocks (counted) and the original is bit for bit the replica, under the production key; undo
// failback makes the replica production again; commit makes the original the source again and the
// next replication is incremental and bit for bit; a new location is a full copy under a new
// production key, a datastore outside the VM Encryption Policy refused first; each action is
// refused in a state that does not allow it, and by role.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { blocksOfAreas } from "@/lib/engine/pipeline/backup-disk";
import { diskPrint } from "@/lib/engine/pipeline/testing";
import type { DiskArea } from "@/lib/platform/disk-io";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { dbState, expectAppError, expectUnchangedSince } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { startFailover } from "../failover/start-failover";
import { platform, replicationHosts } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { createReplicationJob } from "../replication/create-replication-job";
import { runReplicationJobNow } from "../replication/run-replication-job";
import { commitFailback } from "./commit-failback";
import { startFailback } from "./start-failback";
import { undoFailback } from "./undo-failback";

const MiB = 1024 * 1024;
let admin: Awaited<ReturnType<typeof makeActor>>;
let operator: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;
let source: PlatformVm;
let undo: UndoVm | undefined;
let jobId: string;
let replicaId: string;
let replicaVmId: string;
const made: string[] = [];
const reason = "production is back";

function siteOf(inv: InventorySnapshot, role: "production" | "dr") {
  const site = inv.sites.find((s) => s.role === role)!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  // A datastore no encryption policy covers (outside the VM Encryption Policy node).
  const plainDs = inv.datastores.find((d) => d.siteExternalId === site && !d.compatiblePolicyExternalIds.some((id) => inv.storagePolicies.find((p) => p.externalId === id)?.encryption)) ?? null;
  return { site, encPolicy, encDs: encDs.externalId, plainPolicy, host, plainDs };
}

const vmOf = async (id: string) => (await platform().inventory()).vms.find((v) => v.externalId === id);
const replica = () => db.replica.findUniqueOrThrow({ where: { id: replicaId }, include: { points: { orderBy: { createdAt: "asc" } }, job: true } });
const runJob = async () => runBackupSession((await runReplicationJobNow(admin, { jobId })).sessionId, 180_000);
const logOf = async (sessionId: string) => (await db.sessionEvent.findMany({ where: { sessionId }, orderBy: { id: "asc" }, select: { text: true } })).map((e) => e.text).join("\n");
const auditOf = async (sessionId: string, action: string) => JSON.parse((await db.auditEvent.findFirstOrThrow({ where: { objectId: replicaId, action, details: { contains: sessionId } } })).details) as Record<string, unknown>;

/** Every block either VM holds reads the same on both (bit for bit). */
async function expectSame(vmId: string, otherId: string) {
  const host = replicationHosts().source;
  for (const d of source.disks) {
    const a = await diskPrint(host, vmId, d.deviceKey);
    const b = await diskPrint(host, otherId, d.deviceKey);
    const blocks = [...new Set([...blocksOfAreas(a.written, d.capacityBytes, MiB), ...blocksOfAreas(b.written, d.capacityBytes, MiB)])].sort((x, y) => x - y);
    const areas: DiskArea[] = blocks.map((i) => ({ start: i * MiB, length: Math.min(MiB, d.capacityBytes - i * MiB) }));
    expect((await diskPrint(host, vmId, d.deviceKey, areas)).hash, `${vmId} / ${d.label}`).toBe((await diskPrint(host, otherId, d.deviceKey, areas)).hash);
  }
}

async function failOver() {
  const s = await runBackupSession((await startFailover(admin, { replicaId, reason: "DR drill" })).sessionId);
  expect(s.state, `${s.error ?? ""}\n${await logOf(s.id)}`).toBe("success");
  expect((await replica()).state).toBe("Failover");
}

function newVmDestination(inv: InventorySnapshot, name: string, ds?: string) {
  const p = siteOf(inv, "production");
  const datastore = ds ?? p.encDs;
  return {
    kind: "new-vm" as const,
    hostExternalId: p.host,
    name,
    folder: "/Failback",
    home: { datastoreExternalId: datastore, storagePolicyExternalId: p.encPolicy },
    disks: source.disks.map((d) => ({ deviceKey: d.deviceKey, datastoreExternalId: datastore, storagePolicyExternalId: d.encrypted ? p.encPolicy : p.plainPolicy })),
  };
}

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  operator = await makeActor("RESTORE_OPERATOR");
  viewer = await makeActor("BACKUP_VIEWER");
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  await platform().guestWrites(source.externalId, 0.05, 61);
  const inv = await platform().inventory();
  const dr = siteOf(inv, "dr");
  const drKp = inv.keyProviders.find((k) => k.siteExternalId === dr.site && k.kind === "native" && k.tenantExternalId === null)!;
  const place = { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.encPolicy };
  jobId = (
    await createReplicationJob(admin, {
      name: uniqueEmail("failback"),
      vms: [{ vmExternalId: source.externalId, name: `${source.name}_fb_${Math.random().toString(36).slice(2, 7)}`, folder: "/Replicas", home: place, disks: source.disks.map((x) => ({ deviceKey: x.deviceKey, ...(x.encrypted ? place : { datastoreExternalId: dr.encDs, storagePolicyExternalId: dr.plainPolicy }) })), networks: (source.nics ?? []).map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: null })) }],
      targetSiteExternalId: dr.site,
      targetHostExternalId: dr.host,
      keyMode: "re-key",
      targetKeyProviderExternalId: drKp.externalId,
      refuseUnencrypted: true,
      keepPoints: 3,
      schedule: { kind: "manual" },
    })
  ).id;
  const first = await runJob();
  expect(first.state, `${first.error ?? ""}\n${await logOf(first.id)}`).toBe("success");
  const r = await db.replica.findFirstOrThrow({ where: { jobId } });
  replicaId = r.id;
  replicaVmId = r.replicaVmExternalId!;
  await failOver();
}, 240_000);

afterAll(async () => {
  for (const id of [...made, replicaVmId].filter(Boolean)) {
    await platform().powerOff(id).catch(() => undefined);
    await replicationHosts().target.deleteVm(id).catch(() => undefined);
  }
  await undo?.();
  await syncInventoryFromPlatform();
}, 60_000);

describe("failback of an encrypted replica (FBK-1)", { timeout: 240_000 }, () => {
  it("roles: a Viewer and a Restore Operator may not fail back, commit or undo; nothing written", async () => {
    const before = await dbState();
    for (const who of [viewer, operator]) {
      await expectAppError(startFailback(who, { replicaId, destination: { kind: "original" }, reason }), "FORBIDDEN");
      await expectAppError(commitFailback(who, { replicaId, reason }), "FORBIDDEN");
      await expectAppError(undoFailback(who, { replicaId, reason }), "FORBIDDEN");
    }
    await expectUnchangedSince(before);
  });

  it("in Failover, commit and undo failback are refused: there is no failback yet", async () => {
    expect((await expectAppError(commitFailback(admin, { replicaId, reason }), "CONFLICT")).message).toMatch(/not failed back: fail it back first, then commit/);
    expect((await expectAppError(undoFailback(admin, { replicaId, reason }), "CONFLICT")).message).toMatch(/not failed back: fail it back first, then undo/);
  });

  it("bad destinations are refused before anything is queued, with the reason", async () => {
    const inv = await platform().inventory();
    const sessions = await db.jobSession.count({ where: { kind: "failback" } });
    const dr = siteOf(inv, "dr");
    const atDr = { ...newVmDestination(inv, "fb_at_dr"), hostExternalId: dr.host };
    expect((await expectAppError(startFailback(admin, { replicaId, destination: atDr, reason }), "CONFLICT")).message).toMatch(/at the DR site, where the replica is: choose a host of the production site/);
    expect((await expectAppError(startFailback(admin, { replicaId, destination: { kind: "restored-vm", vmExternalId: "vm-none" }, reason }), "CONFLICT")).message).toMatch(/not in the production site's inventory/);
    const plainDs = siteOf(inv, "production").plainDs;
    expect(plainDs, "the production site has a datastore outside the VM Encryption Policy").not.toBeNull();
    const e = await expectAppError(startFailback(admin, { replicaId, destination: newVmDestination(inv, "fb_plain", plainDs!.externalId), reason }), "CONFLICT");
    expect(e.message).toMatch(/not under the VM Encryption Policy/);
    expect(await db.jobSession.count({ where: { kind: "failback" } })).toBe(sessions);
    expect((await replica()).state).toBe("Failover");
    expect(await db.auditEvent.count({ where: { objectId: replicaId, action: "failback.failback.start", outcome: "failure" } })).toBe(3);
  });

  let shippedFirst = 0;
  it("to the original after a guest write in the failed-over replica: only the changed blocks are shipped, bit for bit, under the production key", async () => {
    const wrote = await platform().guestWrites(replicaVmId, 0.3, 62);
    expect(wrote.changedBlocks).toBeGreaterThan(0);
    const { sessionId } = await startFailback(admin, { replicaId, destination: { kind: "original" }, reason });
    const s = await runBackupSession(sessionId);
    const log = await logOf(sessionId);
    expect(s.kind).toBe("failback");
    expect(s.state, `${s.error ?? ""}\n${log}`).toBe("success");
    const details = await auditOf(sessionId, "failback.failback");
    expect(details).toMatchObject({ destination: "original", changesOnly: true, failedBackVm: source.externalId });
    // Production wrote nothing since the replicated state: exactly the replica's changed blocks go back.
    expect(details.blocksShipped).toBe(wrote.changedBlocks);
    shippedFirst = details.blocksShipped as number;
    expect(log).toMatch(/changed on the replica since failover, 0 on the original since the last replication/);
    const progress = JSON.parse((await db.sessionVm.findFirstOrThrow({ where: { sessionId } })).progress) as { disks: Array<{ done: boolean; bytesTransferred: number }> };
    expect(progress.disks).toHaveLength(source.disks.length);
    expect(progress.disks.every((d) => d.done)).toBe(true);
    expect(progress.disks.reduce((n, d) => n + d.bytesTransferred, 0)).toBeGreaterThan(0);
    expect((await replica())).toMatchObject({ state: "Failback", failbackVmExternalId: source.externalId, failbackKind: "original", failbackSessionId: sessionId });
    expect((await platform().vmRuntime(replicaVmId)).powerState).toBe("poweredOff");
    const back = await platform().vmRuntime(source.externalId);
    expect(back.powerState).toBe("poweredOn");
    // Re-key: production's own key provider, never the DR site's.
    const rep = (await vmOf(replicaVmId))!;
    expect(back.keyProviderExternalId).toBe(source.keyProviderExternalId);
    expect(back.keyProviderExternalId).not.toBe(rep.keyProviderExternalId);
    expect(back.keyId).not.toBe(rep.keyId);
    await expectSame(source.externalId, replicaVmId);
    expect((await expectAppError(startFailback(admin, { replicaId, destination: { kind: "original" }, reason }), "CONFLICT")).message).toMatch(/already failed back/);
    // Not committed yet: replication leaves the replica alone and says why.
    const points = (await replica()).points.length;
    const run = await runJob();
    expect(run.state).toBe("warning");
    expect(await logOf(run.id)).toMatch(/failed back but the failback is not committed/);
    expect((await replica()).points).toHaveLength(points);
  });

  it("undo failback: the original is powered off, the replica is production again (Failover), audited", async () => {
    const s = await runBackupSession((await undoFailback(admin, { replicaId, reason })).sessionId);
    expect(s.state, `${s.error ?? ""}\n${await logOf(s.id)}`).toBe("success");
    expect((await replica())).toMatchObject({ state: "Failover", failbackVmExternalId: null });
    expect((await platform().vmRuntime(source.externalId)).powerState).toBe("poweredOff");
    expect((await platform().vmRuntime(replicaVmId)).powerState).toBe("poweredOn");
    expect(await db.auditEvent.count({ where: { objectId: replicaId, action: "failback.undo-failback", outcome: "success" } })).toBe(1);
    expect(await db.auditEvent.count({ where: { objectId: replicaId, action: "failback.undo-failback.start", actorId: admin.id } })).toBe(1);
  });

  it("failback again and commit: Ready, the replica powered off, and the next replication is incremental and bit for bit", async () => {
    await platform().guestWrites(replicaVmId, 0.2, 63);
    const f = await runBackupSession((await startFailback(admin, { replicaId, destination: { kind: "original" }, reason })).sessionId);
    expect(f.state, `${f.error ?? ""}\n${await logOf(f.id)}`).toBe("success");
    const again = (await auditOf(f.id, "failback.failback")).blocksShipped as number;
    // The original changed by the first failback since the replicated state: those blocks and the new writes.
    expect(again).toBeGreaterThanOrEqual(shippedFirst);
    await expectSame(source.externalId, replicaVmId);
    const c = await runBackupSession((await commitFailback(admin, { replicaId, reason })).sessionId);
    expect(c.state, `${c.error ?? ""}\n${await logOf(c.id)}`).toBe("success");
    const r = await replica();
    expect(r).toMatchObject({ state: "Ready", failoverPointId: null, failbackVmExternalId: null });
    expect((await platform().vmRuntime(replicaVmId)).powerState).toBe("poweredOff");
    expect((await platform().vmRuntime(source.externalId)).powerState).toBe("poweredOn");
    expect((await expectAppError(startFailback(admin, { replicaId, destination: { kind: "original" }, reason }), "CONFLICT")).message).toMatch(/not failed over/);
    expect((await expectAppError(commitFailback(admin, { replicaId, reason }), "CONFLICT")).message).toMatch(/no failback to commit/);
    await platform().guestWrites(source.externalId, 0.2, 64);
    const run = await runJob();
    expect(run.state, `${run.error ?? ""}\n${await logOf(run.id)}`).toBe("success");
    expect(JSON.parse((await db.sessionVm.findFirstOrThrow({ where: { sessionId: run.id } })).progress).incremental).toBe(true);
    await expectSame(source.externalId, replicaVmId);
  });

  it("to a new location: a full copy under a new production key, bit for bit; undo deletes it; to the original restored elsewhere: compared, only differing blocks; commit makes the new VM the job's source", async () => {
    await failOver();
    await platform().guestWrites(replicaVmId, 0.2, 65);
    const inv = await platform().inventory();
    const name = `fb_new_${Math.random().toString(36).slice(2, 7)}`;
    const start = async () => {
      const s = await runBackupSession((await startFailback(admin, { replicaId, destination: newVmDestination(inv, name), reason })).sessionId);
      expect(s.state, `${s.error ?? ""}\n${await logOf(s.id)}`).toMatch(/success|warning/);
      const r = await replica();
      made.push(r.failbackVmExternalId!);
      return { session: s, vmId: r.failbackVmExternalId! };
    };
    const first = await start();
    const details = await auditOf(first.session.id, "failback.failback");
    expect(details).toMatchObject({ destination: "new-vm", changesOnly: false });
    expect(details.blocksShipped as number).toBeGreaterThan(shippedFirst);
    const copy = (await vmOf(first.vmId))!;
    const rep = (await vmOf(replicaVmId))!;
    const prod = siteOf(inv, "production");
    expect(copy).toMatchObject({ siteExternalId: prod.site, encrypted: true, keyProviderExternalId: source.keyProviderExternalId });
    expect(copy.keyId).not.toBe(rep.keyId);
    expect(copy.keyId).not.toBe(source.keyId);
    await expectSame(first.vmId, replicaVmId);
    const u = await runBackupSession((await undoFailback(admin, { replicaId, reason })).sessionId);
    expect(u.state, `${u.error ?? ""}\n${await logOf(u.id)}`).toBe("success");
    expect(await vmOf(first.vmId)).toBeUndefined();
    expect((await replica()).state).toBe("Failover");

    // The original restored in another location (here: the original VM itself, chosen as an existing
    // production VM): compared block by block, only the blocks that differ are written.
    await platform().guestWrites(replicaVmId, 0.2, 67);
    const restored = await runBackupSession((await startFailback(admin, { replicaId, destination: { kind: "restored-vm", vmExternalId: source.externalId }, reason })).sessionId);
    expect(restored.state, `${restored.error ?? ""}\n${await logOf(restored.id)}`).toBe("success");
    const rd = await auditOf(restored.id, "failback.failback");
    expect(rd).toMatchObject({ destination: "restored-vm", changesOnly: true, failedBackVm: source.externalId });
    expect(rd.blocksShipped as number).toBeGreaterThan(0);
    expect(rd.blocksShipped as number).toBeLessThan(details.blocksShipped as number);
    expect(await logOf(restored.id)).toMatch(/blocks compared with the replica, \d+ differ/);
    await expectSame(source.externalId, replicaVmId);
    expect((await runBackupSession((await undoFailback(admin, { replicaId, reason })).sessionId)).state).toBe("success");
    expect(await vmOf(source.externalId)).toBeDefined(); // an existing VM is powered off by undo, never deleted
    expect((await platform().vmRuntime(source.externalId)).powerState).toBe("poweredOff");

    const second = await start();
    const c = await runBackupSession((await commitFailback(admin, { replicaId, reason })).sessionId);
    expect(c.state, `${c.error ?? ""}\n${await logOf(c.id)}`).toBe("success");
    const r = await replica();
    expect(r).toMatchObject({ state: "Ready", sourceVmExternalId: second.vmId });
    expect(JSON.parse(r.job.vmExternalIds)).toEqual([second.vmId]);
    expect(Object.keys(JSON.parse(r.job.placements))).toEqual([second.vmId]);
    await platform().guestWrites(second.vmId, 0.2, 66);
    const run = await runJob();
    expect(run.state, `${run.error ?? ""}\n${await logOf(run.id)}`).toBe("success");
    await expectSame(second.vmId, replicaVmId);
  });
});
