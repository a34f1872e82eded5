import "server-only";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { db } from "@/lib/db/client";
import type { CryptoPrivilege, TransportMode } from "@/lib/platform/connector";
import type { CandidateProxy } from "@/lib/engine/pipeline/proxy-selection";
import { activeSecurityOfficers, readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { resolveSelection } from "@/lib/services/backup/job-context";
import { parseIds, parseSelection } from "@/lib/services/backup/job-dto";
import { readKeysetPolicy } from "@/lib/services/recovery/keyset-store";
import { loadReplicationCompliance } from "./load-replication-compliance";
import type { ComplianceData, ComplianceJob, ComplianceVm, MetadataScan, SessionDisk } from "@/lib/compliance/compliance-checks";

// Reads, once, everything the compliance checks look at (SEC-5): jobs with the VMs their selection
// names today and what their last session read each disk with, proxies, keysets and their policy,
// repositories, four-eyes, KMS clusters, the permissions of the chain metadata files on disk, and
// replication jobs with their replicas (load-replication-compliance.ts).
// Nothing here writes.

const FINISHED = ["success", "warning", "failed", "stopped"];
/** At most this many .vbm files are looked at per repository (stat is cheap, but estates are large). */
const MAX_CHAIN_FILES = 2000;

const progressSchema = z.object({
  vms: z.array(
    z.object({
      name: z.string().catch(""),
      disks: z.array(z.object({ label: z.string().catch(""), encrypted: z.boolean().catch(false), mode: z.string().nullable().catch(null), proxy: z.string().nullable().catch(null) })).catch([]),
    }),
  ),
});

function sessionDisks(json: string): SessionDisk[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  const r = progressSchema.safeParse(parsed);
  if (!r.success) return [];
  return r.data.vms.flatMap((vm) => vm.disks.map((d) => ({ vmName: vm.name, label: d.label, encrypted: d.encrypted, mode: d.mode, proxy: d.proxy })));
}

export async function loadComplianceData(now: Date = new Date()): Promise<ComplianceData> {
  const [jobRows, proxyRows, keyProviders, tenants, sites, keysets, keysetPolicy, repositories, fourEyes, securityOfficers, kmsClusters] = await Promise.all([
    db.backupJob.findMany({
      orderBy: { name: "asc" },
      select: { id: true, name: true, enabled: true, encryptionMode: true, proxyMode: true, proxyIds: true, failoverToNetwork: true, selection: true, passwordApprovedAt: true, pendingApprovalId: true },
    }),
    db.proxy.findMany({ orderBy: { name: "asc" }, include: { site: { select: { externalId: true, name: true } }, tenant: { select: { externalId: true, name: true } }, keyProvider: { select: { externalId: true, tenant: { select: { externalId: true } } } } } }),
    db.keyProvider.findMany({ select: { externalId: true, name: true, kind: true, kmsClusterId: true, site: { select: { name: true } } } }),
    db.tenant.findMany({ select: { externalId: true, name: true } }),
    db.site.findMany({ select: { externalId: true, name: true } }),
    db.recoveryKeyset.findMany({ select: { id: true, createdAt: true, retiredAt: true } }),
    readKeysetPolicy(db),
    db.backupRepository.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true, path: true, immutabilityDays: true, _count: { select: { restorePoints: { where: { status: { not: "removed" } } } } } } }),
    readFourEyes(),
    activeSecurityOfficers(),
    db.kmsCluster.findMany({
      orderBy: { name: "asc" },
      select: { id: true, name: true, status: true, statusCheckedAt: true, unreachableSince: true, lastError: true, clientCertNotAfter: true, serverCertNotAfter: true },
    }),
  ]);

  // One resolution per distinct selection: jobs often share a folder or a tenant.
  const resolved = new Map<string, Promise<ComplianceVm[]>>();
  const vmsOf = (selection: string) => {
    let p = resolved.get(selection);
    if (!p) {
      p = resolveSelection(parseSelection(selection)).then(({ vms }) =>
        vms.map((v) => ({
          id: v.id,
          name: v.name,
          encrypted: v.encrypted,
          siteExternalId: v.site.externalId,
          tenantExternalId: v.tenant?.externalId ?? null,
          keyProviderExternalId: v.encrypted ? (v.keyProvider?.externalId ?? null) : null,
          disks: v.disks.map((d) => ({ label: d.label, encrypted: d.encrypted })),
        })),
      );
      resolved.set(selection, p);
    }
    return p;
  };

  const jobs: ComplianceJob[] = [];
  for (const j of jobRows) {
    const [vms, last] = await Promise.all([
      vmsOf(j.selection),
      db.jobSession.findFirst({ where: { jobId: j.id, state: { in: FINISHED } }, orderBy: { queuedAt: "desc" }, select: { id: true, endedAt: true, progress: true, vms: { orderBy: { position: "asc" }, select: { progress: true } } } }),
    ]);
    jobs.push({
      id: j.id,
      name: j.name,
      enabled: j.enabled,
      encryptionMode: j.encryptionMode,
      proxyMode: j.proxyMode === "manual" ? "manual" : "automatic",
      proxyIds: j.proxyMode === "manual" ? parseIds(j.proxyIds) : [],
      failoverToNetwork: j.failoverToNetwork,
      passwordApprovedAt: j.passwordApprovedAt,
      pendingApprovalId: j.pendingApprovalId,
      vms,
      lastSession: last ? { id: last.id, endedAt: last.endedAt, disks: sessionDisks(last.vms.length ? `{"vms":[${last.vms.map((v) => v.progress).join(",")}]}` : last.progress) } : null,
    });
  }

  const proxies = proxyRows.map((p) => ({
    id: p.id,
    externalId: p.externalId,
    name: p.name,
    kind: p.kind as CandidateProxy["kind"],
    siteExternalId: p.site.externalId,
    siteName: p.site.name,
    transportModes: p.transportModes.split(",").filter(Boolean) as TransportMode[],
    maxTasks: p.maxTasks,
    keyProviderExternalId: p.keyProvider?.externalId ?? null,
    keyProviderTenantExternalId: p.keyProvider?.tenant?.externalId ?? null,
    tenantExternalId: p.tenant?.externalId ?? null,
    tenantName: p.tenant?.name ?? null,
    privileges: p.privileges.split(",").filter(Boolean) as CryptoPrivilege[],
    activeTasks: 0,
  }));

  const metadata: MetadataScan[] = [];
  // A folder that cannot be read matters only where it holds restore points.
  for (const r of repositories) {
    const scan = await scanMetadata(r);
    metadata.push(scan.error && r._count.restorePoints === 0 ? { ...scan, error: null } : scan);
  }

  return {
    now,
    jobs,
    proxies,
    keyProviderNames: Object.fromEntries(keyProviders.map((k) => [k.externalId, k.name])),
    tenantNames: Object.fromEntries(tenants.map((t) => [t.externalId, t.name])),
    siteNames: Object.fromEntries(sites.map((s) => [s.externalId, s.name])),
    keysets,
    keysetPolicy,
    repositories: repositories.map((r) => ({ id: r.id, name: r.name, immutabilityDays: r.immutabilityDays, pointCount: r._count.restorePoints })),
    fourEyes: { enabled: fourEyes.enabled },
    securityOfficers,
    kmsClusters,
    unwatchedKeyProviders: keyProviders.filter((k) => k.kind === "STANDARD" && !k.kmsClusterId).map((k) => `${k.name} at ${k.site.name}`),
    metadata,
    replication: await loadReplicationCompliance(),
  };
}

const mode = (m: number) => (m & 0o777).toString(8).padStart(3, "0");

/**
 * Which parts of a repository's chain metadata other OS users may touch: a .vbm file readable or
 * writable by others (or writable by the group), or the repository or chains/ folder writable by
 * others (they could replace or delete the files). File names are the engine's ids, nothing secret.
 */
async function scanMetadata(r: { id: string; name: string; path: string }): Promise<MetadataScan> {
  const scan: MetadataScan = { repositoryId: r.id, name: r.name, path: r.path, chainFiles: 0, exposed: [], error: null };
  try {
    const root = await stat(r.path);
    if (!root.isDirectory()) return { ...scan, error: "not a folder" };
    const chainsDir = path.join(r.path, "chains");
    let names: string[];
    try {
      names = (await readdir(chainsDir)).filter((n) => n.endsWith(".vbm"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return scan; // no backup yet
      throw e;
    }
    if (names.length === 0) return scan;
    if (root.mode & 0o002) scan.exposed.push(`the repository folder (mode ${mode(root.mode)})`);
    const chains = await stat(chainsDir);
    if (chains.mode & 0o002) scan.exposed.push(`chains/ (mode ${mode(chains.mode)})`);
    const looked = names.sort().slice(0, MAX_CHAIN_FILES);
    scan.chainFiles = looked.length;
    for (let i = 0; i < looked.length; i += 64) {
      const modes = await Promise.all(looked.slice(i, i + 64).map(async (n) => ({ n, m: (await stat(path.join(chainsDir, n))).mode })));
      for (const { n, m } of modes) if (m & 0o027) scan.exposed.push(`chains/${n.length > 20 ? `${n.slice(0, 12)}….vbm` : n} (mode ${mode(m)})`);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    scan.error = code === "ENOENT" ? "the folder is missing" : code === "EACCES" ? "permission denied" : code ? `error ${code}` : "cannot be read";
  }
  return scan;
}
