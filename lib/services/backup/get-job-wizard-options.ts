import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";

export interface JobWizardOptionsDto {
  sites: Array<{ id: string; name: string; vmCount: number }>;
  tenants: Array<{ id: string; name: string; vmCount: number }>;
  /** Folders with VMs, per site (id = "<siteId>:<folder>", as the selection stores it). */
  folders: Array<{ id: string; siteName: string; folder: string; vmCount: number }>;
  repositories: Array<{ id: string; name: string; path: string; immutabilityDays: number }>;
  proxies: Array<{ id: string; name: string; siteName: string; transportModes: string[]; keyProvider: string | null; tenant: string | null; maxTasks: number }>;
  /** Key providers a job's KMS key can live in: standard ones with a registered KMS cluster. */
  kmsKeyProviders: Array<{ id: string; name: string; siteName: string; clusterName: string; status: string }>;
  existingJobNames: string[];
}

/** Everything the backup job wizard offers, in one round trip. */
export async function getJobWizardOptions(actor: Actor): Promise<JobWizardOptionsDto> {
  authorize(actor, "job:manage");
  const [sites, tenants, folders, repositories, proxies, providers, jobs] = await Promise.all([
    db.site.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true, _count: { select: { vms: true } } } }),
    db.tenant.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true, _count: { select: { vms: true } } } }),
    db.vm.groupBy({ by: ["siteId", "folder"], _count: { _all: true }, orderBy: [{ siteId: "asc" }, { folder: "asc" }] }),
    db.backupRepository.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true, path: true, immutabilityDays: true } }),
    db.proxy.findMany({ orderBy: { name: "asc" }, include: { site: true, keyProvider: true, tenant: true } }),
    db.keyProvider.findMany({ where: { kmsClusterId: { not: null } }, orderBy: { name: "asc" }, include: { site: true, kmsCluster: true } }),
    db.backupJob.findMany({ select: { name: true } }),
  ]);
  const siteName = new Map(sites.map((s) => [s.id, s.name]));
  return {
    sites: sites.map((s) => ({ id: s.id, name: s.name, vmCount: s._count.vms })),
    tenants: tenants.map((t) => ({ id: t.id, name: t.name, vmCount: t._count.vms })),
    folders: folders.map((f) => ({ id: `${f.siteId}:${f.folder}`, siteName: siteName.get(f.siteId) ?? "", folder: f.folder, vmCount: f._count._all })),
    repositories,
    proxies: proxies.map((p) => ({
      id: p.id,
      name: p.name,
      siteName: p.site.name,
      transportModes: p.transportModes.split(",").filter(Boolean),
      keyProvider: p.keyProvider?.name ?? null,
      tenant: p.tenant?.name ?? null,
      maxTasks: p.maxTasks,
    })),
    kmsKeyProviders: providers.map((k) => ({ id: k.id, name: k.name, siteName: k.site.name, clusterName: k.kmsCluster!.name, status: k.kmsCluster!.status })),
    existingJobNames: jobs.map((j) => j.name),
  };
}
