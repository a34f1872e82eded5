import "server-only";
import { workerIsAlive } from "@/lib/jobs/worker-liveness";
import type { DbTx } from "@/lib/db/client";
import { SESSION_KIND_LABELS } from "./list-sessions.schema";

/** A worker as a session or a task names it: where the work runs and whether it still answers. */
export interface WorkerRefDto {
  id: string;
  role: "console" | "worker";
  host: string;
  /** Its process id: with several workers on one host, "host · process pid" tells them apart. */
  pid: number;
  alive: boolean;
  /** Its last heartbeat (a dead worker is shown as "no heartbeat since …"). */
  heartbeatAt: string;
  stoppedAt: string | null;
}

/** What a session acts on, with a link when Strongroom has a page for it. */
export interface SubjectDto {
  type: string;
  id: string;
  label: string;
  href: string | null;
}

type WorkerRow = { id: string; role: string; host: string; pid: number; heartbeatAt: Date; stoppedAt: Date | null };

export function toWorkerRef(w: WorkerRow, now: Date): WorkerRefDto {
  return {
    id: w.id,
    role: w.role === "console" ? "console" : "worker",
    host: w.host,
    pid: w.pid,
    // A worker that stopped cleanly is not alive, whatever its last heartbeat says.
    alive: !w.stoppedAt && workerIsAlive(w.heartbeatAt, now),
    heartbeatAt: w.heartbeatAt.toISOString(),
    stoppedAt: w.stoppedAt?.toISOString() ?? null,
  };
}

export async function loadWorkers(tx: DbTx, ids: Iterable<string>, now: Date): Promise<Map<string, WorkerRefDto>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await tx.jobWorker.findMany({ where: { id: { in: unique } }, select: { id: true, role: true, host: true, pid: true, heartbeatAt: true, stoppedAt: true } });
  return new Map(rows.map((w) => [w.id, toWorkerRef(w, now)]));
}

/** "backup-job:<id>" → { type: "backup-job", id }; rows from before the engine name their job only. */
export function parseSubject(subject: string, jobId: string | null): { type: string; id: string } | null {
  const at = subject.indexOf(":");
  if (at > 0 && at < subject.length - 1) return { type: subject.slice(0, at), id: subject.slice(at + 1) };
  return jobId ? { type: "backup-job", id: jobId } : null;
}

/** Names and links of the subjects on a page: backup jobs and repositories have pages. */
export async function resolveSubjects(tx: DbTx, subjects: Array<{ type: string; id: string } | null>): Promise<(s: { type: string; id: string } | null) => SubjectDto | null> {
  const ids = (type: string) => [...new Set(subjects.flatMap((s) => (s && s.type === type ? [s.id] : [])))];
  const [jobs, repos, replicationJobs] = await Promise.all([
    ids("backup-job").length ? tx.backupJob.findMany({ where: { id: { in: ids("backup-job") } }, select: { id: true, name: true } }) : [],
    ids("repository").length ? tx.backupRepository.findMany({ where: { id: { in: ids("repository") } }, select: { id: true, name: true } }) : [],
    ids("replication-job").length ? tx.replicationJob.findMany({ where: { id: { in: ids("replication-job") } }, select: { id: true, name: true } }) : [],
  ]);
  const replicationNames = new Map(replicationJobs.map((j) => [j.id, j.name]));
  const jobNames = new Map(jobs.map((j) => [j.id, j.name]));
  const repoNames = new Map(repos.map((r) => [r.id, r.name]));
  return (s) => {
    if (!s) return null;
    if (s.type === "backup-job") {
      const name = jobNames.get(s.id);
      return { type: s.type, id: s.id, label: name ? `Backup job ${name}` : "A removed backup job", href: name ? `/jobs/${s.id}` : null };
    }
    if (s.type === "repository") {
      const name = repoNames.get(s.id);
      return { type: s.type, id: s.id, label: name ? `Repository ${name}` : "A removed repository", href: name ? `/repositories/${s.id}` : null };
    }
    if (s.type === "replication-job") {
      const name = replicationNames.get(s.id);
      return { type: s.type, id: s.id, label: name ? `Replication job ${name}` : "A removed replication job", href: name ? `/replication/${s.id}` : null };
    }
    return { type: s.type, id: s.id, label: `${s.type} ${s.id}`, href: null };
  };
}

export function kindLabel(kind: string): string {
  return SESSION_KIND_LABELS[kind] ?? kind.charAt(0).toUpperCase() + kind.slice(1).replace(/-/g, " ");
}
