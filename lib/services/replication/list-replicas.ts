import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { replicaIdSchema } from "@/lib/schemas/replication";

// Replicas as the console shows them (REP-1…4): state, the points with their key ids and key mode,
// RPO (the age of the newest point), the last run, and warnings — an encrypted source whose
// replica is unencrypted, a target key provider whose KMS does not answer. Read-only: whoever may
// read jobs may read replicas.

export interface ReplicaPointDto {
  id: string;
  snapshotId: string;
  createdAt: string;
  keyIds: string[];
  keyMode: string;
}

export interface ReplicaDto {
  id: string;
  jobId: string;
  jobName: string;
  sourceVmExternalId: string;
  sourceVmName: string;
  replicaVmExternalId: string | null;
  /** The replica VM's inventory id, for a link to its page (null until the inventory has it). */
  replicaVmId: string | null;
  replicaVmName: string;
  targetSiteExternalId: string;
  state: string;
  keyMode: string;
  keyId: string | null;
  points: ReplicaPointDto[];
  /** Age of the newest point in seconds at `asOf`; null while no point exists. */
  rpoSeconds: number | null;
  asOf: string;
  lastRun: { at: string; status: string; error: string | null } | null;
  warnings: string[];
  /** While failed over (FOV-1): the point it was failed over to and when, and by which session. */
  failover: { pointSnapshotId: string | null; pointCreatedAt: string | null; at: string | null; sessionId: string | null } | null;
  /** Its failover sessions (failover, planned, undo, permanent), newest first, at most 10. */
  failoverSessions: Array<{ sessionId: string; action: string; at: string; state: string }>;
}

const include = {
  job: { select: { id: true, name: true, targetSiteExternalId: true, targetKeyProviderExternalId: true } },
  points: { orderBy: { createdAt: "asc" as const } },
  failovers: { orderBy: { createdAt: "desc" as const }, take: 10, select: { sessionId: true, action: true, createdAt: true } },
};
type Row = NonNullable<Awaited<ReturnType<typeof db.replica.findFirst<{ include: typeof include }>>>>;

export async function listReplicas(actor: Actor): Promise<ReplicaDto[]> {
  authorize(actor, "job:read");
  const rows = await db.replica.findMany({ include, orderBy: [{ sourceVmName: "asc" }, { createdAt: "asc" }], take: 1000 });
  const unreachable = await unreachableProviders();
  const states = await sessionStates(rows);
  const vmIds = await inventoryIds(rows);
  return rows.map((r) => ({ ...toDto(r, unreachable, new Date(), states), replicaVmId: (r.replicaVmExternalId && vmIds.get(r.replicaVmExternalId)) || null }));
}

export async function getReplica(actor: Actor, raw: unknown): Promise<ReplicaDto> {
  authorize(actor, "job:read");
  const { replicaId } = parseInput(replicaIdSchema, raw);
  const row = await db.replica.findUnique({ where: { id: replicaId }, include });
  if (!row) throw new AppError("NOT_FOUND", "This replica does not exist (its job may have been removed).");
  const vmIds = await inventoryIds([row]);
  return { ...toDto(row, await unreachableProviders(), new Date(), await sessionStates([row])), replicaVmId: (row.replicaVmExternalId && vmIds.get(row.replicaVmExternalId)) || null };
}

/** externalId → inventory id of the replica VMs (read-only, for links). */
async function inventoryIds(rows: Row[]): Promise<Map<string, string>> {
  const ext = rows.flatMap((r) => (r.replicaVmExternalId ? [r.replicaVmExternalId] : []));
  if (!ext.length) return new Map();
  const vms = await db.vm.findMany({ where: { externalId: { in: ext } }, select: { id: true, externalId: true } });
  return new Map(vms.map((v) => [v.externalId, v.id]));
}

/** The state of each failover session of these replicas (read-only, for the links). */
async function sessionStates(rows: Row[]): Promise<Map<string, string>> {
  const ids = rows.flatMap((r) => r.failovers.map((f) => f.sessionId));
  if (!ids.length) return new Map();
  const sessions = await db.jobSession.findMany({ where: { id: { in: ids } }, select: { id: true, state: true } });
  return new Map(sessions.map((s) => [s.id, s.state]));
}

/** site|provider of standard key providers whose registered KMS did not answer its last check (VME-3). */
async function unreachableProviders(): Promise<Set<string>> {
  const rows = await db.keyProvider.findMany({ where: { kind: "STANDARD", OR: [{ kmsClusterId: null }, { kmsCluster: { status: "unreachable" } }] }, select: { externalId: true, site: { select: { externalId: true } } } });
  return new Set(rows.map((r) => `${r.site.externalId}|${r.externalId}`));
}

function toDto(r: Row, unreachable: Set<string>, now: Date, states: Map<string, string>): Omit<ReplicaDto, "replicaVmId"> {
  const warnings = [...(JSON.parse(r.warnings) as string[])];
  if (r.sourceEncrypted && r.keyMode === "unencrypted") warnings.unshift(`${r.sourceVmName} is encrypted, but this replica is not: its data sits unencrypted at the target site.`);
  const kp = r.job.targetKeyProviderExternalId;
  if (kp && r.keyMode !== "unencrypted" && unreachable.has(`${r.job.targetSiteExternalId}|${kp}`)) warnings.unshift(`The target key provider ${kp} cannot be reached: the replica cannot be powered on or updated until its KMS answers.`);
  const newest = r.points[r.points.length - 1];
  return {
    id: r.id,
    jobId: r.job.id,
    jobName: r.job.name,
    sourceVmExternalId: r.sourceVmExternalId,
    sourceVmName: r.sourceVmName,
    replicaVmExternalId: r.replicaVmExternalId,
    replicaVmName: r.replicaVmName,
    targetSiteExternalId: r.job.targetSiteExternalId,
    state: r.state,
    keyMode: r.keyMode,
    keyId: r.keyId,
    points: r.points.map((p) => ({ id: p.id, snapshotId: p.snapshotId, createdAt: p.createdAt.toISOString(), keyIds: JSON.parse(p.keyIds) as string[], keyMode: p.keyMode })),
    rpoSeconds: newest ? Math.max(0, Math.round((now.getTime() - newest.createdAt.getTime()) / 1000)) : null,
    asOf: now.toISOString(),
    lastRun: r.lastRunAt ? { at: r.lastRunAt.toISOString(), status: r.lastRunStatus ?? "failed", error: r.lastRunError } : null,
    warnings,
    failover:
      r.state === "Failover"
        ? { pointSnapshotId: r.failoverPointId, pointCreatedAt: r.points.find((p) => p.snapshotId === r.failoverPointId)?.createdAt.toISOString() ?? null, at: r.failoverAt?.toISOString() ?? null, sessionId: r.failoverSessionId }
        : null,
    failoverSessions: r.failovers.map((f) => ({ sessionId: f.sessionId, action: f.action, at: f.createdAt.toISOString(), state: states.get(f.sessionId) ?? "unknown" })),
  };
}
