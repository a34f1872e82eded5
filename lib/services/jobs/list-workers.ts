import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { WORKER_DEAD_AFTER_MS } from "@/lib/jobs/worker-liveness";
import { toWorkerRef, type WorkerRefDto } from "./job-dto";

export interface WorkerTaskDto {
  kind: string;
  sessionId: string;
  /** The session's title, when it still exists (null: it was removed). */
  sessionTitle: string | null;
  href: string | null;
  vmExternalId: string | null;
  vmName: string | null;
  since: string | null;
}

export interface WorkerDto extends WorkerRefDto {
  pid: number;
  startedAt: string;
  /** "alive" | "stopped" (shut down cleanly) | "no-heartbeat" (died or cut off: its work is taken up elsewhere). */
  status: "alive" | "stopped" | "no-heartbeat";
  tasks: WorkerTaskDto[];
}

export interface ProxyUseDto {
  id: string;
  externalId: string;
  name: string;
  maxTasks: number;
  /** Task slots held under a live lease (TRN-6). */
  inUse: number;
  tasks: Array<{ sessionId: string; vmExternalId: string; workerId: string; workerHost: string | null; takenAt: string; leaseUntil: string }>;
}

export interface WorkersDto {
  workers: WorkerDto[];
  proxies: ProxyUseDto[];
  /** How long without a heartbeat before a worker counts as gone. */
  deadAfterMs: number;
  now: string;
}

/** Workers stopped longer ago than this are left off the list (they ran nothing since). */
const STOPPED_SHOWN_MS = 24 * 3600_000;

/**
 * Every process that runs work (the console's own worker, `npm run worker` processes on proxy
 * hosts): host, heartbeat, whether it is alive, what it runs now; and each proxy's task slots in use
 * against its limit (issue 9, TRN-6).
 */
export async function listWorkers(actor: Actor): Promise<WorkersDto> {
  authorize(actor, "job:read");
  const now = new Date();
  const [rows, tasks, proxies] = await Promise.all([
    db.jobWorker.findMany({
      where: { OR: [{ stoppedAt: null }, { stoppedAt: { gt: new Date(now.getTime() - STOPPED_SHOWN_MS) } }] },
      orderBy: [{ startedAt: "desc" }, { id: "asc" }],
      take: 500,
    }),
    db.proxyTask.findMany({ where: { leaseUntil: { gt: now } }, orderBy: [{ proxyExternalId: "asc" }, { slot: "asc" }] }),
    db.proxy.findMany({ orderBy: { name: "asc" }, select: { id: true, externalId: true, name: true, maxTasks: true } }),
  ]);

  const parsed = rows.map((w) => ({ w, tasks: parseTasks(w.tasks) }));
  const sessionIds = [...new Set(parsed.flatMap((p) => p.tasks.map((t) => t.sessionId)))];
  const [sessions, vms] = sessionIds.length
    ? await Promise.all([
        db.jobSession.findMany({ where: { id: { in: sessionIds } }, select: { id: true, title: true, kind: true, job: { select: { name: true } } } }),
        db.sessionVm.findMany({ where: { sessionId: { in: sessionIds } }, select: { sessionId: true, vmExternalId: true, name: true } }),
      ])
    : [[], []];
  const titles = new Map(sessions.map((s) => [s.id, s.title || s.job?.name || s.kind]));
  const vmNames = new Map(vms.map((v) => [`${v.sessionId}\u0000${v.vmExternalId}`, v.name]));
  const hosts = new Map(rows.map((w) => [w.id, w.host]));

  const workers: WorkerDto[] = parsed.map(({ w, tasks: ts }) => {
    const ref = toWorkerRef(w, now);
    return {
      ...ref,
      pid: w.pid,
      startedAt: w.startedAt.toISOString(),
      status: ref.alive ? "alive" : w.stoppedAt ? "stopped" : "no-heartbeat",
      tasks: ts.map((t) => {
        const title = titles.get(t.sessionId) ?? null;
        return {
          kind: t.kind,
          sessionId: t.sessionId,
          sessionTitle: title,
          href: title === null ? null : `/sessions/${t.sessionId}`,
          vmExternalId: t.vmExternalId,
          vmName: t.vmExternalId ? (vmNames.get(`${t.sessionId}\u0000${t.vmExternalId}`) ?? null) : null,
          since: t.since,
        };
      }),
    };
  });
  // Alive first, then the dead (the ones an administrator must look at), then those stopped cleanly.
  const order = { alive: 0, "no-heartbeat": 1, stopped: 2 } as const;
  workers.sort((a, b) => order[a.status] - order[b.status] || a.host.localeCompare(b.host) || a.id.localeCompare(b.id));

  const byProxy = new Map<string, typeof tasks>();
  for (const t of tasks) byProxy.set(t.proxyExternalId, [...(byProxy.get(t.proxyExternalId) ?? []), t]);
  return {
    workers,
    proxies: proxies.map((p) => {
      const held = byProxy.get(p.externalId) ?? [];
      return {
        id: p.id,
        externalId: p.externalId,
        name: p.name,
        maxTasks: p.maxTasks,
        inUse: held.length,
        tasks: held.map((t) => ({
          sessionId: t.sessionId,
          vmExternalId: t.vmExternalId,
          workerId: t.workerId,
          workerHost: hosts.get(t.workerId) ?? null,
          takenAt: t.takenAt.toISOString(),
          leaseUntil: t.leaseUntil.toISOString(),
        })),
      };
    }),
    deadAfterMs: WORKER_DEAD_AFTER_MS,
    now: now.toISOString(),
  };
}

interface ParsedTask {
  kind: string;
  sessionId: string;
  vmExternalId: string | null;
  since: string | null;
}

/** JobWorker.tasks is JSON written by another process: anything unreadable is left out, never thrown. */
export function parseTasks(json: string): ParsedTask[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  return value.flatMap((t): ParsedTask[] => {
    if (!t || typeof t !== "object") return [];
    const o = t as Record<string, unknown>;
    if (typeof o.sessionId !== "string" || !o.sessionId || o.sessionId.length > 64) return [];
    const since = typeof o.since === "string" && Number.isFinite(Date.parse(o.since)) ? new Date(o.since).toISOString() : null;
    return [
      {
        kind: typeof o.kind === "string" ? o.kind.slice(0, 40) : "work",
        sessionId: o.sessionId,
        vmExternalId: typeof o.vmExternalId === "string" && o.vmExternalId ? o.vmExternalId.slice(0, 200) : null,
        since,
      },
    ];
  });
}
