// The analyzer's replication checks (SEC-5) on the database: jobs and replicas made through the
// services and run through the job engine against the lab, then loaded as the daily run loads them
// (narrowed to this file's jobs: other files' replicas would otherwise decide): an unencrypted
// replica to be made of an encrypted VM, a replica under another tenant's key provider, a DR-site
// KMS certificate ending soon, and a replica older than its schedule promises are each reported
// with their fix, and pass once fixed. A manual run stores every check.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { evaluateCompliance, type ComplianceData } from "@/lib/compliance/compliance-checks";
import type { CheckId } from "@/lib/compliance/compliance-types";
import type { PlatformVm } from "@/lib/platform/connector";
import { makeActor, uniqueEmail, uniqueSuffix } from "@/lib/testing/factories";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { platform } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { createReplicationJob } from "../replication/create-replication-job";
import { deleteReplicationJob } from "../replication/delete-replication-job";
import { runReplicationJobNow } from "../replication/run-replication-job";
import { loadComplianceData } from "./load-compliance-data";
import { runComplianceChecks } from "./run-compliance";

let admin: Awaited<ReturnType<typeof makeActor>>;
let source: PlatformVm;
let undo: UndoVm | undefined;
const jobs: string[] = [];

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  await syncInventoryFromPlatform(); // the checks read the synced inventory: the VM as encrypted now
}, 60_000);
afterAll(async () => {
  for (const jobId of jobs) await deleteReplicationJob(admin, { jobId, deleteReplicaVms: true }).catch(() => undefined);
  await undo?.();
  await syncInventoryFromPlatform();
}, 60_000);

async function jobInput(keyMode: "re-key" | "unencrypted") {
  const inv = await platform().inventory();
  const site = inv.sites.find((s) => s.role === "dr")!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const ds = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = ds.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const vm = inv.vms.find((v) => v.externalId === source.externalId)!;
  const place = { datastoreExternalId: ds.externalId, storagePolicyExternalId: keyMode === "re-key" ? encPolicy : plainPolicy };
  return {
    name: uniqueEmail("compliance-repl"),
    vms: [
      {
        vmExternalId: vm.externalId,
        name: `${vm.name}_c_${uniqueSuffix().slice(-6)}`,
        folder: "/Replicas",
        home: place,
        disks: vm.disks.map((x) => ({ deviceKey: x.deviceKey, ...place })),
        networks: (vm.nics ?? []).map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: null })),
      },
    ],
    targetSiteExternalId: site,
    targetHostExternalId: inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId,
    keyMode,
    targetKeyProviderExternalId: keyMode === "re-key" ? inv.keyProviders.find((k) => k.siteExternalId === site && k.kind === "native")!.externalId : null,
    keepPoints: 2,
    schedule: { kind: "hourly", everyHours: 1 },
  };
}

/** One check on the loaded data with only `mine` replication jobs (other files' would decide otherwise). */
async function narrowed(id: CheckId, mine: string[], over: (d: ComplianceData) => Partial<ComplianceData> = () => ({})) {
  const data = await loadComplianceData();
  const replication = { ...data.replication, jobs: data.replication.jobs.filter((j) => mine.includes(j.id)), replicas: data.replication.replicas.filter((r) => mine.includes(r.jobId)) };
  return evaluateCompliance({ ...data, replication, ...over({ ...data, replication }) }).find((r) => r.id === id)!;
}

describe("the replication checks on the console's data (REP-1, REP-2, REP-4, VME-4)", { timeout: 180_000 }, () => {
  it("reports an unencrypted replica to be, another tenant's key provider, a DR certificate ending soon and a late replica, each with its fix", async () => {
    // A job that will make an unencrypted replica of the encrypted VM (made before the other's
    // replica exists: the two replicas of one VM could not share the DR site's MACs).
    const plain = (await createReplicationJob(admin, await jobInput("unencrypted"))).id;
    jobs.push(plain);
    const unencrypted = await narrowed("replicas-encrypted", [plain]);
    expect(unencrypted.status).toBe("fail");
    expect(unencrypted.why).toContain(`${source.name} → (next run) in`);
    expect(unencrypted.fixHref).toBe(`/replication/${plain}`);
    await deleteReplicationJob(admin, { jobId: plain });

    const rekey = (await createReplicationJob(admin, await jobInput("re-key"))).id;
    jobs.push(rekey);
    const run = await runBackupSession((await runReplicationJobNow(admin, { jobId: rekey })).sessionId);
    expect(run.state, run.error ?? "").toBe("success");
    for (const id of ["replicas-encrypted", "replica-keys-reachable", "replica-tenant-keys", "replica-rpo"] as const) {
      const r = await narrowed(id, [rekey]);
      expect(r.status, `${id}: ${r.why}`).toBe("pass");
    }

    // The DR site's native provider dedicated to another tenant: the replica is under a foreign key.
    const p = platform();
    const inv = await p.inventory();
    const kp = inv.keyProviders.find((k) => k.siteExternalId === inv.sites.find((s) => s.role === "dr")!.externalId && k.kind === "native")!;
    const other = inv.tenants.find((t) => t.externalId !== source.tenantExternalId)!;
    await p.assignKeyProviderTenant(kp.siteExternalId, kp.externalId, other.externalId);
    try {
      await syncInventoryFromPlatform();
      const foreign = await narrowed("replica-tenant-keys", [rekey]);
      expect(foreign.status).toBe("fail");
      expect(foreign.why).toContain(`of ${other.name} (`);
      expect(foreign.fixHref).toBe(`/replication/${rekey}`);
    } finally {
      await p.assignKeyProviderTenant(kp.siteExternalId, kp.externalId, kp.tenantExternalId);
      await syncInventoryFromPlatform();
    }

    // A KMS cluster behind a DR key provider whose client certificate ends in 10 days.
    const kpRow = await db.keyProvider.findFirstOrThrow({ where: { externalId: kp.externalId, site: { externalId: kp.siteExternalId } } });
    const cluster = await db.kmsCluster.create({
      data: { name: uniqueEmail("dr-kms"), servers: "[]", caSealed: "x", clientCertSealed: "x", clientKeySealed: "x", clientCertSubject: "CN=dr", clientCertFingerprint: "00", clientCertNotAfter: new Date(Date.now() + 10 * 86_400_000), status: "reachable" },
    });
    try {
      const narrowKms = (d: ComplianceData) => ({ kmsClusters: d.kmsClusters.filter((c) => c.id === cluster.id) });
      expect((await narrowed("dr-kms-certificates", [rekey], narrowKms)).status).toBe("na");
      await db.keyProvider.update({ where: { id: kpRow.id }, data: { kmsClusterId: cluster.id } });
      const soon = await narrowed("dr-kms-certificates", [rekey], narrowKms);
      expect(soon.status).toBe("fail");
      expect(soon.why).toContain(`${cluster.name}: the client certificate expires on`);
      expect(soon.fixHref).toBe("/key-providers");
    } finally {
      await db.keyProvider.update({ where: { id: kpRow.id }, data: { kmsClusterId: kpRow.kmsClusterId } });
      await db.kmsCluster.delete({ where: { id: cluster.id } });
    }

    // Every hour promised; the newest point 3 hours old: late (allowed 2 h 15 min).
    const replica = await db.replica.findFirstOrThrow({ where: { jobId: rekey }, include: { points: true } });
    await db.replicaPoint.updateMany({ where: { replicaId: replica.id }, data: { createdAt: new Date(Date.now() - 3 * 3_600_000) } });
    const late = await narrowed("replica-rpo", [rekey]);
    expect(late.status).toBe("fail");
    expect(late.why).toContain(`${replica.replicaVmName} (`);
    expect(late.why).toMatch(/newest point 3 hours old, allowed 2 hours/);
    expect(late.fixHref).toBe(`/replication/${rekey}`);

    // A manual run stores every check, the replication ones included.
    const stored = await runComplianceChecks(admin);
    expect(stored.results.map((r) => r.id)).toEqual(expect.arrayContaining(["replicas-encrypted", "replica-keys-reachable", "replica-tenant-keys", "dr-kms-certificates", "replica-rpo"]));
  });
});
