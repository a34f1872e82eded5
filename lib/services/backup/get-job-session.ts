import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { MAX_LOG_LINES, type LogLine, type SessionProgress, type VmRunProgress } from "@/lib/jobs/session-progress";
import { workerIsAlive } from "@/lib/jobs/worker-liveness";
import { sessionIdSchema } from "@/lib/schemas/backup";

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
  state: string;
  trigger: string;
  requestedBy: string | null;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  stopRequested: boolean;
  error: string | null;
  progress: SessionProgress & { vms: Array<VmRunProgress & { worker?: { id: string; host: string; alive: boolean } | null }> };
  log: LogLine[];
  /** Per VM, the worker that runs or ran it (filled by the job engine from SessionVm.workerId). */
  vms?: Array<{ vmExternalId: string; worker?: { id: string; host: string; alive: boolean } | null }>;
}

/** One session (backup or restore) with its live progress: per VM from its own row (the worker running it writes it every second), the log from the session's events. */
export async function getJobSession(actor: Actor, raw: { sessionId: string }): Promise<JobSessionDto> {
  authorize(actor, "job:read");
  const { sessionId } = parseInput(sessionIdSchema, raw);
  const s = await db.jobSession.findUnique({ where: { id: sessionId }, include: { job: { select: { id: true, name: true, encryptionMode: true, repository: { select: { id: true, name: true } } } } } });
  if (!s) throw new AppError("NOT_FOUND", "This session does not exist (its job may have been removed).");
  if (!s.job && s.kind !== "restore") throw new AppError("NOT_FOUND", "This session is not a backup or restore session; a repository verify's report is on its repository's page.");
  const [vmRows, events] = await Promise.all([
    db.sessionVm.findMany({ where: { sessionId }, orderBy: { position: "asc" }, select: { progress: true, workerId: true } }),
    db.sessionEvent.findMany({ where: { sessionId, text: { not: "" } }, orderBy: { id: "desc" }, take: MAX_LOG_LINES, select: { at: true, level: true, text: true } }),
  ]);
  const workerIds = [...new Set(vmRows.map((v) => v.workerId).filter((w): w is string => !!w))];
  const workers = new Map((await db.jobWorker.findMany({ where: { id: { in: workerIds } }, select: { id: true, host: true, heartbeatAt: true, stoppedAt: true } })).map((w) => [w.id, w]));
  const now = new Date();
  const progress = vmRows.length
    ? {
        vms: vmRows.map((v) => {
          const w = v.workerId ? workers.get(v.workerId) : undefined;
          return { ...parseJson<VmRunProgress>(v.progress, {} as VmRunProgress), worker: w ? { id: w.id, host: w.host, alive: !w.stoppedAt && workerIsAlive(w.heartbeatAt, now) } : null };
        }),
      }
    : parseJson<SessionProgress>(s.progress, { vms: [] });
  const log = events.length ? events.reverse().map((e) => ({ at: e.at.toISOString(), level: e.level as LogLine["level"], text: e.text })) : parseJson<LogLine[]>(s.log, []);
  const restore = s.kind === "restore" ? await restoreItems(sessionId) : null;
  const repository = s.job?.repository ?? (restore?.length ? await db.backupRepository.findFirst({ where: { restorePoints: { some: { id: restore[0].pointId } } }, select: { id: true, name: true } }) : null);
  const requester = s.requestedById ? await db.user.findUnique({ where: { id: s.requestedById }, select: { name: true } }) : null;
  return {
    id: s.id,
    kind: s.kind,
    title: s.title || s.job?.name || "Session",
    reason: s.reason,
    job: s.job ? { id: s.job.id, name: s.job.name, encryptionMode: s.job.encryptionMode } : null,
    repository,
    restore,
    state: s.state,
    trigger: s.trigger,
    requestedBy: requester?.name ?? null,
    queuedAt: s.queuedAt.toISOString(),
    startedAt: s.startedAt?.toISOString() ?? null,
    endedAt: s.endedAt?.toISOString() ?? null,
    stopRequested: s.stopRequested,
    error: s.error,
    progress,
    vms: progress.vms.map((v) => ({ vmExternalId: v.vmExternalId, worker: (v as { worker?: { id: string; host: string; alive: boolean } | null }).worker ?? null })),
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
    };
  });
}

function parseJson<T>(json: string, fallback: T): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    return fallback;
  }
}
