import "server-only";
import { db } from "@/lib/db/client";
import type { ComplianceReplicationData } from "@/lib/compliance/replication-checks";
import { parseSchedule } from "@/lib/services/backup/job-dto";

// What the replication compliance checks read (lib/compliance/replication-checks.ts): every
// replication job with its source VMs as the inventory shows them now, every replica with its
// replica VM (as synced from the platform) and its newest point, and the key providers of the
// sites the jobs replicate to. Nothing here writes.

export async function loadReplicationCompliance(): Promise<ComplianceReplicationData> {
  const jobRows = await db.replicationJob.findMany({
    orderBy: { name: "asc" },
    select: { id: true, name: true, enabled: true, createdAt: true, keyMode: true, targetSiteExternalId: true, targetKeyProviderExternalId: true, refuseUnencrypted: true, schedule: true, vmExternalIds: true },
  });
  if (jobRows.length === 0) return { jobs: [], replicas: [], keyProviders: [] };
  const replicaRows = await db.replica.findMany({
    where: { jobId: { in: jobRows.map((j) => j.id) } },
    select: { id: true, jobId: true, sourceVmExternalId: true, sourceVmName: true, replicaVmName: true, replicaVmExternalId: true, state: true, points: { orderBy: { createdAt: "desc" }, take: 1, select: { createdAt: true } } },
  });
  const vmIds = new Set<string>();
  for (const j of jobRows) for (const id of JSON.parse(j.vmExternalIds) as string[]) vmIds.add(id);
  for (const r of replicaRows) if (r.replicaVmExternalId) vmIds.add(r.replicaVmExternalId);
  const vms = await db.vm.findMany({
    where: { externalId: { in: [...vmIds] } },
    select: { externalId: true, name: true, encrypted: true, site: { select: { externalId: true } }, tenant: { select: { externalId: true } }, keyProvider: { select: { externalId: true } } },
  });
  const sites = [...new Set(jobRows.map((j) => j.targetSiteExternalId))];
  const keyProviders = await db.keyProvider.findMany({ where: { site: { externalId: { in: sites } } }, select: { externalId: true, name: true, kind: true, kmsClusterId: true, site: { select: { externalId: true } }, tenant: { select: { externalId: true } } } });
  return {
    jobs: jobRows.map((j) => ({
      id: j.id,
      name: j.name,
      enabled: j.enabled,
      createdAt: j.createdAt,
      keyMode: j.keyMode,
      targetSiteExternalId: j.targetSiteExternalId,
      targetKeyProviderExternalId: j.targetKeyProviderExternalId,
      refuseUnencrypted: j.refuseUnencrypted,
      schedule: parseSchedule(j.schedule),
      vms: (JSON.parse(j.vmExternalIds) as string[]).map((id) => {
        const vm = vms.find((v) => v.externalId === id && v.site.externalId !== j.targetSiteExternalId) ?? vms.find((v) => v.externalId === id);
        const replica = replicaRows.find((r) => r.jobId === j.id && r.sourceVmExternalId === id);
        return { externalId: id, name: vm?.name ?? replica?.sourceVmName ?? id, encrypted: vm?.encrypted ?? false, tenantExternalId: vm?.tenant?.externalId ?? null };
      }),
    })),
    replicas: replicaRows.map((r) => {
      const site = jobRows.find((j) => j.id === r.jobId)!.targetSiteExternalId;
      const vm = r.replicaVmExternalId ? vms.find((v) => v.externalId === r.replicaVmExternalId && v.site.externalId === site) : undefined;
      return {
        id: r.id,
        jobId: r.jobId,
        sourceVmExternalId: r.sourceVmExternalId,
        sourceVmName: r.sourceVmName,
        replicaVmName: r.replicaVmName,
        replicaVm: vm ? { encrypted: vm.encrypted, keyProviderExternalId: vm.keyProvider?.externalId ?? null } : null,
        newestPointAt: r.points[0]?.createdAt ?? null,
        state: r.state,
      };
    }),
    keyProviders: keyProviders.map((k) => ({ siteExternalId: k.site.externalId, externalId: k.externalId, name: k.name, kind: k.kind, tenantExternalId: k.tenant?.externalId ?? null, kmsClusterId: k.kmsClusterId })),
  };
}
