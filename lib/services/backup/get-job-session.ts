import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { MAX_LOG_LINES, type LogLine, type SessionProgress, type VmRunProgress } from "@/lib/jobs/session-progress";
import { workerIsAlive } from "@/lib/jobs/worker-liveness";
import { sessionIdSchema } from "@/lib/schemas/backup";

export interface JobSessionDto {
  id: string;
  job: { id: string; name: string; encryptionMode: string };
  repository: { id: string; name: string };
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

/** One backup session with its live progress: per VM from its own row (the worker running it writes it every second), the log from the session's events. */
export async function getJobSession(actor: Actor, raw: { sessionId: string }): Promise<JobSessionDto> {
  authorize(actor, "job:read");
  const { sessionId } = parseInput(sessionIdSchema, raw);
  const s = await db.jobSession.findUnique({ where: { id: sessionId }, include: { job: { select: { id: true, name: true, encryptionMode: true, repository: { select: { id: true, name: true } } } } } });
  if (!s) throw new AppError("NOT_FOUND", "This session does not exist (its job may have been removed).");
  if (!s.job) throw new AppError("NOT_FOUND", "This session is not a backup job's session; a repository verify's report is on its repository's page.");
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
  const requester = s.requestedById ? await db.user.findUnique({ where: { id: s.requestedById }, select: { name: true } }) : null;
  return {
    id: s.id,
    job: { id: s.job.id, name: s.job.name, encryptionMode: s.job.encryptionMode },
    repository: s.job.repository,
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

function parseJson<T>(json: string, fallback: T): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    return fallback;
  }
}
