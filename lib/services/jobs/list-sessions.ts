import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { env } from "@/lib/config/env";
import { db, isPostgres } from "@/lib/db/client";
import { parseInput } from "@/lib/errors/parse-input";
import { parseAuditTime } from "@/lib/schemas/audit";
import type { Prisma } from "@/prisma/generated/sqlite/client";
import { kindLabel, loadWorkers, parseSubject, resolveSubjects, type SubjectDto, type WorkerRefDto } from "./job-dto";
import { decodeSessionCursor, encodeSessionCursor, ENDED_STATES, SESSION_PAGE_SIZE, sessionListQuerySchema, type SessionListQuery } from "./list-sessions.schema";

export interface SessionVmCountsDto {
  total: number;
  pending: number;
  running: number;
  success: number;
  warning: number;
  failed: number;
  skipped: number;
}

export interface SessionRowDto {
  id: string;
  kind: string;
  kindLabel: string;
  title: string;
  subject: SubjectDto | null;
  state: string;
  trigger: string;
  stopRequested: boolean;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** endedAt − startedAt once it ended; null while it runs (the page counts from startedAt). */
  durationMs: number | null;
  /** startedAt − queuedAt: how long it waited for a worker. */
  queueLatencyMs: number | null;
  vms: SessionVmCountsDto;
  bytesRead: number;
  bytesStored: number;
  error: string | null;
  where: {
    /** Workers holding its running VMs (or, before any VM runs, the worker preparing it). */
    workers: Array<WorkerRefDto & { runningVms: number }>;
    /** Once it ended: the workers that ran its VMs (or the session itself), by host. */
    ranOn: Array<{ id: string; host: string; pid: number; role: "console" | "worker"; vms: number }>;
    /** VMs taken up by another worker after theirs stopped answering. */
    vmsTakenOver: number;
    /** Proxy task slots it holds now (TRN-6). */
    proxies: Array<{ externalId: string; name: string; tasks: number }>;
  };
}

export interface SessionPageDto {
  rows: SessionRowDto[];
  pageSize: number;
  /** Pass as `before` for the next (older) page; null on the last page. */
  olderCursor: string | null;
  /** Sessions queued or running anywhere (not only on this page): the page polls fast while > 0. */
  activeCount: number;
  /** What the filter bar offers. */
  options: { kinds: string[]; workers: Array<{ id: string; host: string; role: string }> };
  /** The server's clock, so "since" and "no heartbeat since" agree with the server. */
  now: string;
}

// Prisma's contains is LIKE without escaping: "%" and "_" are wildcards on both databases. Text
// holding them is searched by its longest plain run and refined here (lib/services/audit/audit-filter.ts).
const LIKE_SPECIAL = /[%_\\]/g;
const HAS_LIKE_SPECIAL = /[%_\\]/;

function textWhere(q: string): Prisma.JobSessionWhereInput {
  const plain = q.split(LIKE_SPECIAL).sort((a, b) => b.length - a.length)[0] ?? "";
  if (!plain) return {};
  // SQLite's LIKE ignores ASCII case; PostgreSQL's needs the insensitive mode.
  const contains = isPostgres(env.databaseUrl) ? ({ contains: plain, mode: "insensitive" } as unknown as Prisma.StringFilter) : { contains: plain };
  return { OR: [{ title: contains }, { subject: contains }, { job: { is: { name: contains } } }] };
}

function sessionWhere(f: SessionListQuery): Prisma.JobSessionWhereInput {
  const and: Prisma.JobSessionWhereInput[] = [];
  if (f.kind) and.push({ kind: f.kind });
  if (f.state === "done") and.push({ state: { in: [...ENDED_STATES] } });
  else if (f.state) and.push({ state: f.state });
  if (f.worker) and.push({ OR: [{ workerId: f.worker }, { vms: { some: { workerId: f.worker } } }] });
  if (f.q) and.push(textWhere(f.q));
  if (f.from) and.push({ queuedAt: { gte: parseAuditTime(f.from)!.start } });
  if (f.to) and.push({ queuedAt: { lt: parseAuditTime(f.to)!.end } });
  return and.length ? { AND: and } : {};
}

const rowSelect = {
  id: true,
  kind: true,
  subject: true,
  title: true,
  jobId: true,
  state: true,
  trigger: true,
  stopRequested: true,
  queuedAt: true,
  startedAt: true,
  endedAt: true,
  workerId: true,
  error: true,
  bytesRead: true,
  bytesStored: true,
  job: { select: { name: true } },
} satisfies Prisma.JobSessionSelect;

type Row = Prisma.JobSessionGetPayload<{ select: typeof rowSelect }>;

/**
 * Sessions of every kind, newest first, filtered (list-sessions.schema.ts) and paged by
 * (queuedAt, id) — a keyset, so the thousandth page costs what the first does. Each row says what
 * it is about, how it ended or how far it is, and where it runs: the workers holding its VMs and
 * the proxies it uses (issue 9).
 */
export async function listSessions(actor: Actor, raw: unknown = {}): Promise<SessionPageDto> {
  authorize(actor, "job:read");
  const f = parseInput(sessionListQuerySchema, raw);
  const where = sessionWhere(f);
  const cursor = f.before ? decodeSessionCursor(f.before) : null;
  const paged: Prisma.JobSessionWhereInput = cursor
    ? { AND: [where, { OR: [{ queuedAt: { lt: cursor.queuedAt } }, { queuedAt: cursor.queuedAt, id: { lt: cursor.id } }] }] }
    : where;
  const now = new Date();

  const [fetched, activeCount, kinds, workers] = await Promise.all([
    db.jobSession.findMany({ where: paged, orderBy: [{ queuedAt: "desc" }, { id: "desc" }], take: SESSION_PAGE_SIZE + 1, select: rowSelect }),
    db.jobSession.count({ where: { state: { in: ["queued", "running"] } } }),
    db.jobSession.groupBy({ by: ["kind"], orderBy: { kind: "asc" } }),
    db.jobWorker.findMany({ orderBy: [{ startedAt: "desc" }], take: 200, select: { id: true, host: true, role: true } }),
  ]);
  const more = fetched.length > SESSION_PAGE_SIZE;
  const page = more ? fetched.slice(0, SESSION_PAGE_SIZE) : fetched;
  const needle = f.q?.toLowerCase();
  const rows = needle && HAS_LIKE_SPECIAL.test(needle) ? page.filter((r) => [r.title, r.subject, r.job?.name ?? ""].some((t) => t.toLowerCase().includes(needle))) : page;

  const last = page[page.length - 1];
  return {
    rows: await toRows(rows, now),
    pageSize: SESSION_PAGE_SIZE,
    olderCursor: more && last ? encodeSessionCursor(last.queuedAt, last.id) : null,
    activeCount,
    options: { kinds: kinds.map((k) => k.kind), workers },
    now: now.toISOString(),
  };
}

async function toRows(rows: Row[], now: Date): Promise<SessionRowDto[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [counts, running, ran, takenOver, tasks] = await Promise.all([
    db.sessionVm.groupBy({ by: ["sessionId", "state"], where: { sessionId: { in: ids } }, _count: { _all: true } }),
    db.sessionVm.groupBy({ by: ["sessionId", "workerId"], where: { sessionId: { in: ids }, state: "running", workerId: { not: null } }, _count: { _all: true } }),
    db.sessionVm.groupBy({ by: ["sessionId", "workerId"], where: { sessionId: { in: ids }, workerId: { not: null } }, _count: { _all: true } }),
    // attempt counts claims: a VM claimed more than once was taken over from a worker that died.
    db.sessionVm.groupBy({ by: ["sessionId"], where: { sessionId: { in: ids }, attempt: { gt: 1 } }, _count: { _all: true } }),
    db.proxyTask.groupBy({ by: ["sessionId", "proxyExternalId"], where: { sessionId: { in: ids }, leaseUntil: { gt: now } }, _count: { _all: true } }),
  ]);

  const vmCounts = new Map<string, SessionVmCountsDto>();
  const legacyBytes = new Map<string, { read: number; stored: number }>();
  for (const c of counts) {
    const v = vmCounts.get(c.sessionId) ?? { total: 0, pending: 0, running: 0, success: 0, warning: 0, failed: 0, skipped: 0 };
    v.total += c._count._all;
    if (c.state in v && c.state !== "total") v[c.state as Exclude<keyof SessionVmCountsDto, "total">] += c._count._all;
    vmCounts.set(c.sessionId, v);
  }
  // Sessions from before the engine have no SessionVm rows: their VMs are in the progress JSON.
  const legacy = rows.filter((r) => !vmCounts.has(r.id)).map((r) => r.id);
  if (legacy.length) {
    for (const r of await db.jobSession.findMany({ where: { id: { in: legacy } }, select: { id: true, progress: true } })) {
      const p = fromProgress(r.progress);
      vmCounts.set(r.id, p.counts);
      legacyBytes.set(r.id, p.bytes);
    }
  }

  // The session's own worker stands for "where" while it has no running VM (preparing, or a kind without VMs).
  const active = (r: Row) => r.state === "queued" || r.state === "running";
  const workerIds = [...ran.flatMap((g) => (g.workerId ? [g.workerId] : [])), ...rows.flatMap((r) => (r.workerId ? [r.workerId] : []))];
  const proxyIds = [...new Set(tasks.map((t) => t.proxyExternalId))];
  const [workers, proxies, subjectOf] = await Promise.all([
    loadWorkers(db, workerIds, now),
    proxyIds.length ? db.proxy.findMany({ where: { externalId: { in: proxyIds } }, select: { externalId: true, name: true } }) : [],
    resolveSubjects(db, rows.map((r) => parseSubject(r.subject, r.jobId))),
  ]);
  const proxyNames = new Map(proxies.map((p) => [p.externalId, p.name]));

  return rows.map((r) => {
    const held = running.filter((g) => g.sessionId === r.id && g.workerId);
    let where = held.flatMap((g) => {
      const w = workers.get(g.workerId!);
      return w ? [{ ...w, runningVms: g._count._all }] : [];
    });
    if (where.length === 0 && active(r) && r.workerId && workers.has(r.workerId)) where = [{ ...workers.get(r.workerId)!, runningVms: 0 }];
    const subject = subjectOf(parseSubject(r.subject, r.jobId));
    let ranOn = active(r)
      ? []
      : ran.filter((g) => g.sessionId === r.id).flatMap((g) => {
          const w = g.workerId ? workers.get(g.workerId) : undefined;
          return w ? [{ id: w.id, host: w.host, pid: w.pid, role: w.role, vms: g._count._all }] : [];
        });
    if (!active(r) && ranOn.length === 0 && r.workerId && workers.has(r.workerId)) {
      const w = workers.get(r.workerId)!;
      ranOn = [{ id: w.id, host: w.host, pid: w.pid, role: w.role, vms: 0 }];
    }
    return {
      id: r.id,
      kind: r.kind,
      kindLabel: kindLabel(r.kind),
      title: r.title || r.job?.name || subject?.label || kindLabel(r.kind),
      subject,
      state: r.state,
      trigger: r.trigger,
      stopRequested: r.stopRequested,
      queuedAt: r.queuedAt.toISOString(),
      startedAt: r.startedAt?.toISOString() ?? null,
      endedAt: r.endedAt?.toISOString() ?? null,
      durationMs: r.startedAt && r.endedAt ? r.endedAt.getTime() - r.startedAt.getTime() : null,
      queueLatencyMs: r.startedAt ? Math.max(0, r.startedAt.getTime() - r.queuedAt.getTime()) : null,
      vms: vmCounts.get(r.id) ?? emptyCounts(),
      // Sessions from before the engine kept their byte counts in the progress JSON only.
      bytesRead: Number(r.bytesRead) || (legacyBytes.get(r.id)?.read ?? 0),
      bytesStored: Number(r.bytesStored) || (legacyBytes.get(r.id)?.stored ?? 0),
      error: r.error,
      where: {
        workers: where.sort((a, b) => a.host.localeCompare(b.host)),
        ranOn: ranOn.sort((a, b) => a.host.localeCompare(b.host)),
        vmsTakenOver: takenOver.find((t) => t.sessionId === r.id)?._count._all ?? 0,
        proxies: tasks
          .filter((t) => t.sessionId === r.id)
          .map((t) => ({ externalId: t.proxyExternalId, name: proxyNames.get(t.proxyExternalId) ?? t.proxyExternalId, tasks: t._count._all }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      },
    };
  });
}

function emptyCounts(): SessionVmCountsDto {
  return { total: 0, pending: 0, running: 0, success: 0, warning: 0, failed: 0, skipped: 0 };
}

function fromProgress(json: string): { counts: SessionVmCountsDto; bytes: { read: number; stored: number } } {
  const c = emptyCounts();
  const bytes = { read: 0, stored: 0 };
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
  try {
    const vms = (JSON.parse(json) as { vms?: Array<{ status?: unknown; disks?: Array<{ bytesRead?: unknown; bytesTransferred?: unknown }> }> }).vms;
    for (const v of Array.isArray(vms) ? vms : []) {
      c.total += 1;
      const s = typeof v?.status === "string" ? v.status : "";
      if (s in c && s !== "total") c[s as Exclude<keyof SessionVmCountsDto, "total">] += 1;
      for (const d of Array.isArray(v?.disks) ? v.disks : []) {
        bytes.read += num(d?.bytesRead);
        bytes.stored += num(d?.bytesTransferred);
      }
    }
  } catch {
    // An unreadable progress column counts as no VMs.
  }
  return { counts: c, bytes };
}
