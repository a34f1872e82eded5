import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import type { LogLine, SessionProgress } from "@/lib/runner/session-progress";
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
  progress: SessionProgress;
  log: LogLine[];
  /** Per VM, the worker that runs or ran it (filled by the job engine from SessionVm.workerId). */
  vms?: Array<{ vmExternalId: string; worker?: { id: string; host: string; alive: boolean } | null }>;
}

/** One session with its live progress (the runner writes it about once a second). */
export async function getJobSession(actor: Actor, raw: { sessionId: string }): Promise<JobSessionDto> {
  authorize(actor, "job:read");
  const { sessionId } = parseInput(sessionIdSchema, raw);
  const s = await db.jobSession.findUnique({ where: { id: sessionId }, include: { job: { select: { id: true, name: true, encryptionMode: true, repository: { select: { id: true, name: true } } } } } });
  if (!s) throw new AppError("NOT_FOUND", "This session does not exist (its job may have been removed).");
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
    progress: parseJson<SessionProgress>(s.progress, { vms: [] }),
    log: parseJson<LogLine[]>(s.log, []),
  };
}

function parseJson<T>(json: string, fallback: T): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    return fallback;
  }
}
