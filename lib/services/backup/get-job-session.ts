import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { MAX_LOG_LINES, type LogLine, type SessionProgress, type VmRunProgress } from "@/lib/jobs/session-progress";
import { sessionIdSchema } from "@/lib/schemas/backup";
import { loadWorkers, type WorkerRefDto } from "@/lib/services/jobs/job-dto";

/**
 * A VM that moved: its worker stopped answering, the queue took the VM back and another worker
 * started it again (the "taken-over" event that worker recorded). `from`/`to` are null when the
 * worker row is gone; their ids stay.
 */
export interface VmTakeoverDto {
  at: string;
  vmExternalId: string;
  vmName: string;
  fromId: string;
  from: WorkerRefDto | null;
  toId: string;
  to: WorkerRefDto | null;
}

/** One VM of a restore session: where it went and how it came out (RST-1…6). */
export interface RestoreItemDto {
  vmExternalId: string;
  pointId: string;
  targetName: string;
  /** The restored VM's id once the platform created it (null when it failed: nothing is left). */
  targetVmExternalId: string | null;
  /** The console's inventory id of the restored VM, for a link (null until synced). */
  targetVmId: string | null;
  powerOn: boolean;
  consequences: string[];
  checks: Array<{ ok: boolean; text: string }>;
  poweredOn: boolean;
  /** How it restores: a new VM ("new-location"), the VM itself in place ("overwrite", "quick-rollback"), or disks attached to an existing VM ("disks"). */
  mode: RestoreItemMode;
}

export type RestoreItemMode = "new-location" | "overwrite" | "quick-rollback" | "disks";

/** What a failover session does (FOV-1): the action on one replica and the point. */
export interface FailoverItemDto {
  action: string;
  replicaId: string;
  replicaVmName: string;
  /** The replica VM's inventory id, for a link (null until the inventory has it). */
  replicaVmId: string | null;
  sourceVmName: string;
  jobId: string;
  jobName: string;
  /** The point failed over to (for undo: the failover point); null for a planned failover until its final sync made it. */
  pointSnapshotId: string | null;
  pointCreatedAt: string | null;
  /** The replica's state now. */
  replicaState: string;
}

export interface JobSessionDto {
  id: string;
  /** "backup" | "restore" | "verify" …: what the session does. */
  kind: string;
  title: string;
  /** Why it runs, as the operator wrote it (restores). */
  reason: string | null;
  /** The backup job (backup sessions only). */
  job: { id: string; name: string; encryptionMode: string } | null;
  repository: { id: string; name: string } | null;
  restore: RestoreItemDto[] | null;
  /** Failover sessions only. */
  failover?: FailoverItemDto | null;
  state: string;
  trigger: string;
  requestedBy: string | null;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  stopRequested: boolean;
  error: string | null;
  progress: SessionProgress & { vms: Array<VmRunProgress & { worker?: WorkerRefDto | null }> };
  log: LogLine[];
  /** Per VM, the worker that runs or ran it (filled by the job engine from SessionVm.workerId), and the one it was last taken over from. */
  vms?: Array<{ vmExternalId: string; worker?: WorkerRefDto | null; takenOverFrom?: WorkerRefDto | null }>;
  /** VMs that moved from a worker that stopped answering to another, oldest first. */
  takeovers?: VmTakeoverDto[];
}

/** One session (backup or restore) with its live progress: per VM from its own row (the worker running it writes it every second), the log from the session's events. */
export async function getJobSession(actor: Actor, raw: { sessionId: string }): Promise<JobSessionDto> {
  authorize(actor, "job:read");
  const { sessionId } = parseInput(sessionIdSchema, raw);
  const s = await db.jobSession.findUnique({ where: { id: sessionId }, include: { job: { select: { id: true, name: true, encryptionMode: true, repository: { select: { id: true, name: true } } } } } });
  if (!s) throw new AppError("NOT_FOUND", "This session does not exist (its job may have been removed).");
  if (!s.job && s.kind !== "restore" && s.kind !== "replication" && s.kind !== "failover" && s.kind !== "failback") throw new AppError("NOT_FOUND", "This session is not a backup, restore, replication or failover session; a repository verify's report is on its repository's page.");
  const [vmRows, events, takeoverEvents] = await Promise.all([
    db.sessionVm.findMany({ where: { sessionId }, orderBy: { position: "asc" }, select: { vmExternalId: true, name: true, progress: true, workerId: true } }),
    db.sessionEvent.findMany({ where: { sessionId, text: { not: "" } }, orderBy: { id: "desc" }, take: MAX_LOG_LINES, select: { at: true, level: true, text: true } }),
    db.sessionEvent.findMany({ where: { sessionId, type: "taken-over" }, orderBy: { id: "asc" }, take: 1000, select: { at: true, vmExternalId: true, workerId: true, data: true } }),
  ]);
  const moves = takeoverEvents.flatMap((e) => {
    const d = parseJson<{ from?: unknown; to?: unknown }>(e.data, {});
    const to = typeof d.to === "string" ? d.to : e.workerId;
    return typeof d.from === "string" && to && e.vmExternalId ? [{ at: e.at, vmExternalId: e.vmExternalId, fromId: d.from, toId: to }] : [];
  });
  const now = new Date();
  const workers = await loadWorkers(db, [...vmRows.flatMap((v) => (v.workerId ? [v.workerId] : [])), ...moves.flatMap((m) => [m.fromId, m.toId])], now);
  const vmNames = new Map(vmRows.map((v) => [v.vmExternalId, v.name]));
  const takeovers: VmTakeoverDto[] = moves.map((m) => ({
    at: m.at.toISOString(),
    vmExternalId: m.vmExternalId,
    vmName: vmNames.get(m.vmExternalId) ?? m.vmExternalId,
    fromId: m.fromId,
    from: workers.get(m.fromId) ?? null,
    toId: m.toId,
    to: workers.get(m.toId) ?? null,
  }));
  const lastMoveOf = new Map(takeovers.map((t) => [t.vmExternalId, t]));
  const progress = vmRows.length
    ? {
        vms: vmRows.map((v) => ({ ...parseJson<VmRunProgress>(v.progress, {} as VmRunProgress), worker: (v.workerId ? workers.get(v.workerId) : undefined) ?? null })),
      }
    : parseJson<SessionProgress>(s.progress, { vms: [] });
  const log = events.length ? events.reverse().map((e) => ({ at: e.at.toISOString(), level: e.level as LogLine["level"], text: e.text })) : parseJson<LogLine[]>(s.log, []);
  const restore = s.kind === "restore" ? await restoreItems(sessionId) : null;
  const repository = s.job?.repository ?? (restore?.length ? await db.backupRepository.findFirst({ where: { restorePoints: { some: { id: restore[0].pointId } } }, select: { id: true, name: true } }) : null);
  const failover = s.kind === "failover" || s.kind === "failback" ? await failoverItem(sessionId) : null;
  const requester = s.requestedById ? await db.user.findUnique({ where: { id: s.requestedById }, select: { name: true } }) : null;
  return {
    id: s.id,
    kind: s.kind,
    title: s.title || s.job?.name || "Session",
    reason: s.reason,
    job: s.job ? { id: s.job.id, name: s.job.name, encryptionMode: s.job.encryptionMode } : null,
    repository,
    restore,
    failover,
    state: s.state,
    trigger: s.trigger,
    requestedBy: requester?.name ?? null,
    queuedAt: s.queuedAt.toISOString(),
    startedAt: s.startedAt?.toISOString() ?? null,
    endedAt: s.endedAt?.toISOString() ?? null,
    stopRequested: s.stopRequested,
    error: s.error,
    progress,
    vms: progress.vms.map((v) => ({
      vmExternalId: v.vmExternalId,
      worker: (v as { worker?: WorkerRefDto | null }).worker ?? null,
      takenOverFrom: lastMoveOf.get(v.vmExternalId)?.from ?? null,
    })),
    takeovers,
    log,
  };
}

async function restoreItems(sessionId: string): Promise<RestoreItemDto[]> {
  const items = await db.restoreItem.findMany({ where: { sessionId }, orderBy: { id: "asc" } });
  const targets = items.map((i) => i.targetVmExternalId).filter((v): v is string => !!v);
  const vms = new Map((await db.vm.findMany({ where: { externalId: { in: targets } }, select: { id: true, externalId: true } })).map((v) => [v.externalId, v.id]));
  return items.map((i) => {
    const result = parseJson<{ checks?: Array<{ ok: boolean; text: string }>; poweredOn?: boolean }>(i.result ?? "{}", {});
    return {
      vmExternalId: i.vmExternalId,
      pointId: i.pointId,
      targetName: i.targetVmName,
      targetVmExternalId: i.targetVmExternalId,
      targetVmId: i.targetVmExternalId ? (vms.get(i.targetVmExternalId) ?? null) : null,
      powerOn: i.powerOn,
      consequences: parseJson<string[]>(i.consequences, []),
      checks: result.checks ?? [],
      poweredOn: result.poweredOn ?? false,
      mode: modeOf(parseJson<{ mode?: unknown }>(i.choices, {}).mode),
    };
  });
}

async function failoverItem(sessionId: string): Promise<FailoverItemDto | null> {
  const i = await db.failoverItem.findUnique({ where: { sessionId }, include: { replica: { include: { job: { select: { name: true } } } } } });
  if (!i) return null;
  const point = i.snapshotId ? await db.replicaPoint.findUnique({ where: { replicaId_snapshotId: { replicaId: i.replicaId, snapshotId: i.snapshotId } }, select: { createdAt: true } }) : null;
  const vm = i.replica.replicaVmExternalId ? await db.vm.findFirst({ where: { externalId: i.replica.replicaVmExternalId }, select: { id: true } }) : null;
  return {
    action: i.action,
    replicaVmId: vm?.id ?? null,
    replicaId: i.replicaId,
    replicaVmName: i.replica.replicaVmName,
    sourceVmName: i.replica.sourceVmName,
    jobId: i.replica.jobId,
    jobName: i.replica.job.name,
    pointSnapshotId: i.snapshotId,
    pointCreatedAt: point?.createdAt.toISOString() ?? null,
    replicaState: i.replica.state,
  };
}

function modeOf(m: unknown): RestoreItemMode {
  return m === "overwrite" || m === "quick-rollback" || m === "disks" ? m : "new-location";
}

function parseJson<T>(json: string, fallback: T): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    return fallback;
  }
}
