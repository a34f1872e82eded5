// Replication jobs below the browser (REP-1…4, SEC-1, SEC-4): the create-job refusals write
// nothing; a job run twice through the job engine against the lab — first a full copy, then an
// incremental one — leaves the replica bit for bit equal to the source at each point, two
// ReplicaPoints with the replica's key id, and an RPO; a Viewer reads but never creates or runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { diskPrint } from "@/lib/engine/pipeline/testing";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { dbState, expectAppError, expectUnchangedSince } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { platform, replicationHosts } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { createReplicationJob } from "./create-replication-job";
import { getReplica, listReplicas } from "./list-replicas";
import { runReplicationJobNow } from "./run-replication-job";

let admin: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;
let source: PlatformVm;
let undo: UndoVm | undefined;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  viewer = await makeActor("BACKUP_VIEWER");
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  await platform().guestWrites(source.externalId, 0.05, 21);
}, 60_000);
afterAll(async () => {
  // The replicas this file made go, so later files see the lab's estate as it was.
  for (const r of await db.replica.findMany({ where: { job: { createdById: admin.id } }, select: { replicaVmExternalId: true } })) {
    if (r.replicaVmExternalId) await replicationHosts().target.deleteVm(r.replicaVmExternalId).catch(() => undefined);
  }
  await undo?.();
  await syncInventoryFromPlatform();
}, 60_000);

function dr(inv: InventorySnapshot) {
  const site = inv.sites.find((s) => s.role === "dr")!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const plainOnlyDs = inv.datastores.find((d) => d.siteExternalId === site && !d.compatiblePolicyExternalIds.includes(encPolicy) && d.compatiblePolicyExternalIds.length > 0);
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const kp = inv.keyProviders.find((k) => k.siteExternalId === site && k.kind === "native")!;
  return { site, encPolicy, encDs: encDs.externalId, plainPolicy, plainOnlyDs, host, kp };
}

async function jobInput(over: Record<string, unknown> = {}, home?: { datastoreExternalId: string; storagePolicyExternalId: string }) {
  const inv = await platform().inventory();
  const d = dr(inv);
  const vm = inv.vms.find((v) => v.externalId === source.externalId)!;
  const encrypted = over.keyMode !== "unencrypted";
  const place = { datastoreExternalId: d.encDs, storagePolicyExternalId: encrypted ? d.encPolicy : d.plainPolicy };
  return {
    name: uniqueEmail("replication"),
    vms: [
      {
        vmExternalId: vm.externalId,
        name: `${vm.name}_replica_${Math.random().toString(36).slice(2, 7)}`,
        folder: "/Replicas",
        home: home ?? place,
        disks: vm.disks.map((x) => ({ deviceKey: x.deviceKey, ...(encrypted && x.encrypted ? place : { datastoreExternalId: d.encDs, storagePolicyExternalId: d.plainPolicy }) })),
        networks: (vm.nics ?? []).map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: null })),
      },
    ],
    targetSiteExternalId: d.site,
    targetHostExternalId: d.host,
    keyMode: "re-key",
    targetKeyProviderExternalId: d.kp.externalId,
    refuseUnencrypted: false,
    keepPoints: 3,
    schedule: { kind: "manual" },
    ...over,
  };
}

describe("createReplicationJob refusals (REP-2…4): nothing written", () => {
  it("an encrypted replica's home on a datastore outside the VM Encryption Policy node (REP-3)", async () => {
    const d = dr(await platform().inventory());
    expect(d.plainOnlyDs, "the DR site has a datastore without encryption").toBeDefined();
    const input = await jobInput({}, { datastoreExternalId: d.plainOnlyDs!.externalId, storagePolicyExternalId: d.encPolicy });
    const before = await dbState();
    const e = await expectAppError(createReplicationJob(admin, input), "CONFLICT");
    expect(e.message).toMatch(/cannot be created as chosen/);
    await expectUnchangedSince(before);
  });

  it("another tenant's key provider at the target", async () => {
    const p = platform();
    const inv = await p.inventory();
    const d = dr(inv);
    const other = inv.tenants.find((t) => t.externalId !== source.tenantExternalId)!;
    await p.assignKeyProviderTenant(d.site, d.kp.externalId, other.externalId);
    try {
      const input = await jobInput();
      const before = await dbState();
      const e = await expectAppError(createReplicationJob(admin, input), "CONFLICT");
      expect(e.message).toMatch(/belongs to another tenant/);
      await expectUnchangedSince(before);
    } finally {
      await p.assignKeyProviderTenant(d.site, d.kp.externalId, d.kp.tenantExternalId);
    }
  });

  it("shared keys where the target site cannot reach the source's key (a native key stays in its vCenter)", async () => {
    const input = await jobInput({ keyMode: "shared" });
    const before = await dbState();
    const e = await expectAppError(createReplicationJob(admin, input), "CONFLICT");
    expect(e.message).toMatch(/cannot reach the key/);
    expect(e.fieldErrors?.keyMode).toBeDefined();
    await expectUnchangedSince(before);
  });

  it("an unencrypted replica of an encrypted VM while the job refuses unencrypted replicas (REP-4)", async () => {
    const input = await jobInput({ keyMode: "unencrypted", targetKeyProviderExternalId: null, refuseUnencrypted: true });
    const before = await dbState();
    const e = await expectAppError(createReplicationJob(admin, input), "CONFLICT");
    expect(e.fieldErrors?.refuseUnencrypted).toBeDefined();
    await expectUnchangedSince(before);
  });

  it("a Viewer may not create or run a replication job, and reads replicas (SEC-1)", async () => {
    const input = await jobInput();
    const before = await dbState();
    await expectAppError(createReplicationJob(viewer, input), "FORBIDDEN");
    await expectAppError(runReplicationJobNow(viewer, { jobId: "x" }), "FORBIDDEN");
    await expectUnchangedSince(before);
    await expect(listReplicas(viewer)).resolves.toBeInstanceOf(Array);
  });
});

describe("a replication job run twice through the job engine (REP-1, REP-2)", { timeout: 240_000 }, () => {
  it("full, then incremental: the replica equals the source at each point; two points with the replica's key; RPO", async () => {
    const p = platform();
    const { id: jobId } = await createReplicationJob(admin, await jobInput());
    const audit = await db.auditEvent.findFirst({ where: { action: "replication-job.create", objectId: jobId } });
    expect(audit?.actorId).toBe(admin.id);

    const sameAsSource = async (replicaVmId: string) => {
      for (const disk of source.disks) {
        const src = await diskPrint(replicationHosts().source, source.externalId, disk.deviceKey);
        const rep = await diskPrint(replicationHosts().source, replicaVmId, disk.deviceKey, src.written);
        expect(rep.hash, disk.label).toBe(src.hash);
      }
    };

    const first = await runBackupSession((await runReplicationJobNow(admin, { jobId })).sessionId);
    expect(first.kind).toBe("replication");
    expect(first.state, first.error ?? "").toBe("success");
    const [r1] = (await listReplicas(admin)).filter((r) => r.jobId === jobId);
    expect(r1.points).toHaveLength(1);
    expect(r1.replicaVmExternalId).toBeTruthy();
    const replicaVm = (await p.inventory()).vms.find((v) => v.externalId === r1.replicaVmExternalId)!;
    expect(replicaVm).toMatchObject({ encrypted: true, keyProviderExternalId: dr(await p.inventory()).kp.externalId });
    expect(replicaVm.keyId).not.toBe(source.keyId);
    expect(r1.points[0]).toMatchObject({ keyIds: [replicaVm.keyId], keyMode: "re-key" });
    const firstVm = await db.sessionVm.findFirstOrThrow({ where: { sessionId: first.id } });
    expect(JSON.parse(firstVm.progress).incremental).toBe(false);
    await sameAsSource(r1.replicaVmExternalId!);

    await p.guestWrites(source.externalId, 0.02, 22);
    const second = await runBackupSession((await runReplicationJobNow(admin, { jobId })).sessionId);
    expect(second.state, second.error ?? "").toBe("success");
    const secondVm = await db.sessionVm.findFirstOrThrow({ where: { sessionId: second.id } });
    expect(JSON.parse(secondVm.progress).incremental).toBe(true);
    expect(Number(second.bytesStored)).toBeLessThan(Number(first.bytesStored));
    const r2 = await getReplica(viewer, { replicaId: r1.id });
    expect(r2.replicaVmExternalId).toBe(r1.replicaVmExternalId);
    expect(r2.points).toHaveLength(2);
    expect(r2.points.map((x) => x.snapshotId)).toEqual((await replicationHosts().target.listSnapshots(r2.replicaVmExternalId!)).map((s) => s.id));
    expect(r2.rpoSeconds).not.toBeNull();
    expect(r2.rpoSeconds!).toBeLessThan(120);
    expect(r2.lastRun).toMatchObject({ status: "success", error: null });
    expect(r2.warnings).toEqual([]);
    await sameAsSource(r2.replicaVmExternalId!);
    const events = await db.sessionEvent.findMany({ where: { sessionId: second.id }, select: { text: true } });
    expect(events.map((e) => e.text).join("\n")).toMatch(/incremental run from the replica's last point/);
  });
});
