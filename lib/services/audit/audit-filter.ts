import "server-only";
import { db } from "@/lib/db/client";
import { actionMatch, parseAuditTime, type AuditFilters } from "@/lib/schemas/audit";
import type { Prisma } from "@/prisma/generated/sqlite/client";

// Prisma's contains/startsWith become LIKE without escaping the pattern: "%" and "_" are
// wildcards on both databases, and "\" escapes on PostgreSQL but not on SQLite.
const LIKE_SPECIAL = /[%_\\]/;

/**
 * The audit filters as a Prisma where clause, matching the same rows on SQLite and PostgreSQL.
 * The user text and the action are lower-cased, and what they are compared with is stored lower
 * case, so SQLite's case-insensitive LIKE and PostgreSQL's case-sensitive one agree. User text
 * holding a LIKE wildcard ("first_last") is matched in JavaScript against the distinct emails of
 * the log instead, so "_" means an underscore, not any character.
 */
export async function auditWhere(f: AuditFilters): Promise<Prisma.AuditEventWhereInput> {
  const and: Prisma.AuditEventWhereInput[] = [];
  if (f.user) {
    const text = f.user.toLowerCase();
    let email: Prisma.AuditEventWhereInput;
    if (LIKE_SPECIAL.test(text)) {
      const emails = await db.auditEvent.groupBy({ by: ["actorEmail"], where: { actorEmail: { not: null } } });
      email = { actorEmail: { in: emails.flatMap((e) => (e.actorEmail?.toLowerCase().includes(text) ? [e.actorEmail] : [])) } };
    } else {
      email = { actorEmail: { contains: text } };
    }
    and.push({ OR: [email, { actorId: f.user }] });
  }
  if (f.action) {
    const m = actionMatch(f.action);
    and.push("exact" in m ? { action: m.exact } : { action: { startsWith: m.prefix } });
  }
  if (f.objectType) and.push({ objectType: f.objectType });
  if (f.objectId) and.push({ objectId: f.objectId });
  if (f.outcome) and.push({ outcome: f.outcome });
  if (f.from) and.push({ at: { gte: parseAuditTime(f.from)!.start } });
  if (f.to) and.push({ at: { lt: parseAuditTime(f.to)!.end } });
  return and.length ? { AND: and } : {};
}

/** Only the filters that are set, as strings (for the export's audit event). */
export function activeFilters(f: AuditFilters): Partial<Record<keyof AuditFilters, string>> {
  const out: Partial<Record<keyof AuditFilters, string>> = {};
  for (const [k, v] of Object.entries(f) as [keyof AuditFilters, string | undefined][]) if (v !== undefined) out[k] = v;
  return out;
}
