import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { parseInput } from "@/lib/errors/parse-input";
import { auditListQuerySchema } from "@/lib/schemas/audit";
import { auditWhere } from "./audit-filter";

export interface AuditEventDto {
  seq: number;
  at: string;
  actorId: string | null;
  actorEmail: string | null;
  action: string;
  objectType: string | null;
  objectId: string | null;
  outcome: string;
  sourceIp: string | null;
  details: string;
  hash: string;
}

export interface AuditPageDto {
  rows: AuditEventDto[];
  /** Events matching the filters (all pages). */
  total: number;
  pageSize: number;
  /** Pass as `after` for the newer page, or null when this page holds the newest match. */
  newerCursor: number | null;
  /** Pass as `before` for the older page, or null when this page holds the oldest match. */
  olderCursor: number | null;
}

type Row = Awaited<ReturnType<typeof db.auditEvent.findFirstOrThrow>>;

export function toAuditEventDto(r: Row): AuditEventDto {
  return {
    seq: r.seq,
    at: r.at.toISOString(),
    actorId: r.actorId,
    actorEmail: r.actorEmail,
    action: r.action,
    objectType: r.objectType,
    objectId: r.objectId,
    outcome: r.outcome,
    sourceIp: r.sourceIp,
    details: r.details,
    hash: r.hash,
  };
}

/**
 * One page of the audit log, newest first (SEC-4), filtered (lib/schemas/audit.ts) and paged by
 * seq (keyset: a page costs the same at the start and a million rows in). `before` pages back in
 * time, `after` forward.
 */
export async function listAuditEvents(actor: Actor, raw: unknown = {}): Promise<AuditPageDto> {
  authorize(actor, "audit:read");
  const q = parseInput(auditListQuerySchema, raw);
  const where = await auditWhere(q);
  const take = q.pageSize;

  let rows: Row[];
  if (q.after !== undefined) {
    rows = (await db.auditEvent.findMany({ where: { AND: [where, { seq: { gt: q.after } }] }, orderBy: { seq: "asc" }, take })).reverse();
  } else {
    rows = await db.auditEvent.findMany({ where: q.before !== undefined ? { AND: [where, { seq: { lt: q.before } }] } : where, orderBy: { seq: "desc" }, take });
  }

  const newest = rows[0]?.seq;
  const oldest = rows[rows.length - 1]?.seq;
  const [total, newer, older] = await Promise.all([
    db.auditEvent.count({ where }),
    newest === undefined ? null : db.auditEvent.findFirst({ where: { AND: [where, { seq: { gt: newest } }] }, select: { seq: true } }),
    oldest === undefined ? null : db.auditEvent.findFirst({ where: { AND: [where, { seq: { lt: oldest } }] }, select: { seq: true } }),
  ]);
  return {
    rows: rows.map(toAuditEventDto),
    total,
    pageSize: take,
    newerCursor: newer ? newest! : null,
    olderCursor: older ? oldest! : null,
  };
}

export interface AuditFilterOptionsDto {
  /** Every action in the log, sorted. */
  actions: string[];
  /** Every object type in the log, sorted. */
  objectTypes: string[];
}

/** What the filter bar offers: the actions and object types that occur in the log. */
export async function listAuditFilterOptions(actor: Actor): Promise<AuditFilterOptionsDto> {
  authorize(actor, "audit:read");
  const [actions, types] = await Promise.all([
    db.auditEvent.groupBy({ by: ["action"] }),
    db.auditEvent.groupBy({ by: ["objectType"], where: { objectType: { not: null } } }),
  ]);
  // Sorted here, not by the database: PostgreSQL's collation and SQLite's order punctuation differently.
  return { actions: actions.map((a) => a.action).sort(), objectTypes: types.flatMap((t) => (t.objectType ? [t.objectType] : [])).sort() };
}
