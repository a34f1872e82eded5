import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { describeSchedule } from "@/lib/backup/schedule";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import type { Schedule } from "@/lib/schemas/backup";
import { replicationJobIdSchema, type ReplicaVmInput } from "@/lib/schemas/replication";
import { platform } from "@/lib/services/inventory/platform";
import { listReplicas, type ReplicaDto } from "./list-replicas";

// Replication jobs as the console lists them (REP-1…4): what each copies where, under which keys,
// when it runs, how its last session ended; and one job with its settings in words, per VM where
// the replica's home and disks go, its replicas and its sessions. Names come from the inventory as
// it is now (an id is shown when the object is gone). Whoever may read jobs may read these.

export interface ReplicationSessionDto {
  id: string;
  state: string;
  trigger: string;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  error: string | null;
}

export interface ReplicationJobRowDto {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  vms: Array<{ externalId: string; name: string; replicaName: string }>;
  targetSite: string;
  targetHost: string;
  keyMode: string;
  keyProvider: string | null;
  refuseUnencrypted: boolean;
  keepPoints: number;
  proxyMode: string;
  schedule: Schedule;
  scheduleText: string;
  nextRunAt: string | null;
  lastSession: ReplicationSessionDto | null;
  /** A session queued or running now. */
  active: ReplicationSessionDto | null;
}

export interface ReplicationJobDetailDto extends ReplicationJobRowDto {
  placements: Array<{
    vm: string;
    replicaName: string;
    folder: string;
    home: string;
    disks: Array<{ label: string; place: string }>;
    networks: Array<{ nic: string; network: string }>;
  }>;
  proxies: string[];
  /** The repository a first run is seeded from (REP-1), if any. */
  seedRepository: string | null;
  /** The job's stored choices, as the wizard's edit mode starts from them. */
  form: {
    vmIds: string[];
    targetSiteExternalId: string;
    targetHostExternalId: string;
    placements: Record<string, { home: { datastoreExternalId: string; storagePolicyExternalId: string }; disks: Array<{ deviceKey: number; datastoreExternalId: string; storagePolicyExternalId: string }>; networks: ReplicaVmInput["networks"] }>;
    suffix: string;
    keyMode: "shared" | "re-key" | "unencrypted";
    targetKeyProviderExternalId: string;
    refuseUnencrypted: boolean;
    keepPoints: number;
    proxyMode: "automatic" | "manual";
    proxyIds: string[];
    seedFromRepositoryId: string;
    schedule: Schedule;
    enabled: boolean;
    /** The job's own replica VMs' names (an edit may keep them). */
    replicaVmNames: string[];
  };
  sessions: ReplicationSessionDto[];
  replicas: ReplicaDto[];
}

type Names = Awaited<ReturnType<typeof names>>;

async function names() {
  const inv = await platform().inventory();
  const of = <T extends { externalId: string; name: string }>(rows: T[]) => new Map(rows.map((r) => [r.externalId, r.name]));
  return { inv, site: of(inv.sites), host: of(inv.hosts), ds: of(inv.datastores), policy: of(inv.storagePolicies), network: of(inv.networks), kp: of(inv.keyProviders), vm: of(inv.vms) };
}

const sessionSelect = { id: true, state: true, trigger: true, queuedAt: true, startedAt: true, endedAt: true, error: true } as const;
const toSession = (s: { id: string; state: string; trigger: string; queuedAt: Date; startedAt: Date | null; endedAt: Date | null; error: string | null }): ReplicationSessionDto => ({
  id: s.id,
  state: s.state,
  trigger: s.trigger,
  queuedAt: s.queuedAt.toISOString(),
  startedAt: s.startedAt?.toISOString() ?? null,
  endedAt: s.endedAt?.toISOString() ?? null,
  error: s.error,
});

type JobRow = NonNullable<Awaited<ReturnType<typeof db.replicationJob.findFirst>>>;

function toRow(j: JobRow, n: Names, sessions: ReplicationSessionDto[]): ReplicationJobRowDto {
  const placements = JSON.parse(j.placements) as Record<string, ReplicaVmInput>;
  const schedule = JSON.parse(j.schedule) as Schedule;
  return {
    id: j.id,
    name: j.name,
    description: j.description,
    enabled: j.enabled,
    vms: (JSON.parse(j.vmExternalIds) as string[]).map((id) => ({ externalId: id, name: n.vm.get(id) ?? id, replicaName: placements[id]?.name ?? "" })),
    targetSite: n.site.get(j.targetSiteExternalId) ?? j.targetSiteExternalId,
    targetHost: n.host.get(j.targetHostExternalId) ?? j.targetHostExternalId,
    keyMode: j.keyMode,
    keyProvider: j.targetKeyProviderExternalId ? (n.kp.get(j.targetKeyProviderExternalId) ?? j.targetKeyProviderExternalId) : null,
    refuseUnencrypted: j.refuseUnencrypted,
    keepPoints: j.keepPoints,
    proxyMode: j.proxyMode,
    schedule,
    scheduleText: describeSchedule(schedule),
    nextRunAt: j.enabled ? (j.nextRunAt?.toISOString() ?? null) : null,
    lastSession: sessions.find((s) => s.state !== "queued" && s.state !== "running") ?? null,
    active: sessions.find((s) => s.state === "queued" || s.state === "running") ?? null,
  };
}

export async function listReplicationJobs(actor: Actor): Promise<ReplicationJobRowDto[]> {
  authorize(actor, "job:read");
  const [jobs, n] = await Promise.all([db.replicationJob.findMany({ orderBy: { name: "asc" }, take: 1000 }), names()]);
  const sessions = jobs.length
    ? await Promise.all(jobs.map((j) => db.jobSession.findMany({ where: { replicationJobId: j.id }, orderBy: { queuedAt: "desc" }, take: 5, select: sessionSelect })))
    : [];
  return jobs.map((j, i) => toRow(j, n, sessions[i].map(toSession)));
}

export async function getReplicationJob(actor: Actor, raw: unknown): Promise<ReplicationJobDetailDto> {
  authorize(actor, "job:read");
  const { jobId } = parseInput(replicationJobIdSchema, raw);
  const job = await db.replicationJob.findUnique({ where: { id: jobId } });
  if (!job) throw new AppError("NOT_FOUND", "This replication job does not exist (it may have been removed).");
  const [n, sessionRows, replicas] = await Promise.all([
    names(),
    db.jobSession.findMany({ where: { replicationJobId: jobId }, orderBy: { queuedAt: "desc" }, take: 50, select: sessionSelect }),
    listReplicas(actor),
  ]);
  const sessions = sessionRows.map(toSession);
  const placements = JSON.parse(job.placements) as Record<string, ReplicaVmInput>;
  const place = (p: { datastoreExternalId: string; storagePolicyExternalId: string }) => `${n.ds.get(p.datastoreExternalId) ?? p.datastoreExternalId} · ${n.policy.get(p.storagePolicyExternalId) ?? p.storagePolicyExternalId}`;
  const proxyIds = JSON.parse(job.proxyIds) as string[];
  const proxies = job.proxyMode === "manual" ? await db.proxy.findMany({ where: { id: { in: proxyIds } }, select: { name: true }, orderBy: { name: "asc" } }) : [];
  const seed = job.seedFromRepositoryId ? await db.backupRepository.findUnique({ where: { id: job.seedFromRepositoryId }, select: { name: true } }) : null;
  const vmIds = JSON.parse(job.vmExternalIds) as string[];
  const first = vmIds.map((id) => ({ p: placements[id], name: n.inv.vms.find((v) => v.externalId === id)?.name })).find((x) => x.p && x.name && x.p.name.startsWith(x.name));
  const form: ReplicationJobDetailDto["form"] = {
    vmIds,
    targetSiteExternalId: job.targetSiteExternalId,
    targetHostExternalId: job.targetHostExternalId,
    placements: Object.fromEntries(vmIds.filter((id) => placements[id]).map((id) => [id, { home: placements[id].home, disks: placements[id].disks, networks: placements[id].networks ?? [] }])),
    suffix: first ? first.p.name.slice(first.name!.length) : "_replica",
    keyMode: job.keyMode as ReplicationJobDetailDto["form"]["keyMode"],
    targetKeyProviderExternalId: job.targetKeyProviderExternalId ?? "",
    refuseUnencrypted: job.refuseUnencrypted,
    keepPoints: job.keepPoints,
    proxyMode: job.proxyMode === "manual" ? "manual" : "automatic",
    proxyIds,
    seedFromRepositoryId: job.seedFromRepositoryId ?? "",
    schedule: JSON.parse(job.schedule) as Schedule,
    enabled: job.enabled,
    replicaVmNames: replicas.filter((r) => r.jobId === job.id).map((r) => r.replicaVmName),
  };
  return {
    form,
    seedRepository: job.seedFromRepositoryId ? (seed?.name ?? "a repository that no longer exists") : null,
    ...toRow(job, n, sessions),
    placements: (JSON.parse(job.vmExternalIds) as string[]).map((id) => {
      const p = placements[id];
      const vm = n.inv.vms.find((v) => v.externalId === id);
      return {
        vm: vm?.name ?? id,
        replicaName: p?.name ?? "",
        folder: p?.folder ?? "",
        home: p ? place(p.home) : "",
        disks: (p?.disks ?? []).map((d) => ({ label: vm?.disks.find((x) => x.deviceKey === d.deviceKey)?.label ?? `Disk ${d.deviceKey}`, place: place(d) })),
        networks: (p?.networks ?? []).map((c) => ({ nic: vm?.nics?.find((x) => x.deviceKey === c.nicDeviceKey)?.label ?? `Adapter ${c.nicDeviceKey}`, network: c.networkExternalId ? (n.network.get(c.networkExternalId) ?? c.networkExternalId) : "disconnected" })),
      };
    }),
    proxies: proxies.map((p) => p.name),
    sessions,
    replicas: replicas.filter((r) => r.jobId === jobId),
  };
}
