// Filters of the audit log (SEC-4), shared by the audit page, its routes and the services.
//
// Matching is the same on SQLite and PostgreSQL: nothing relies on the database's collation.
//  - user:   part of the actor's email, lower-cased here (emails are stored lower-case: the
//            user and sign-in schemas lower-case them and recordAuditEvent does again), or an
//            exact actor id.
//  - action: exact ("job.create"), or a prefix when it ends with "." or ".*" ("job." / "job.*").
//            Actions are lower-case names; the filter is lower-cased too.
//  - object: type exact, id exact (as stored: ids are case-sensitive).
//  - from/to: ISO 8601 with a zone, or without one (as a datetime-local field sends it), which is
//            read as UTC — the page shows every time in UTC. Both ends are included, to the
//            precision given: to=2025-03-01 covers that whole day, to=2025-03-01T10:15 that minute.
import { z } from "zod";

export const AUDIT_PAGE_SIZES = [50, 100, 200] as const;
export const AUDIT_DEFAULT_PAGE_SIZE = 50;
export const AUDIT_OUTCOMES = ["success", "failure", "denied"] as const;
/** One CSV export holds at most this many events; more is refused with a request to narrow the filters. */
export const AUDIT_EXPORT_MAX_ROWS = 100_000;

/** The filter names as they appear in the address (and in the export's address). */
export const AUDIT_FILTER_KEYS = ["user", "action", "objectType", "objectId", "outcome", "from", "to"] as const;
export type AuditFilterKey = (typeof AUDIT_FILTER_KEYS)[number];

const blankToUndefined = (v: string | undefined) => (v ? v : undefined);
const text = (max: number, what: string) =>
  z.string().trim().max(max, `${what} is too long (${max} characters at most)`).optional().transform(blankToUndefined);

// YYYY-MM-DD, optionally THH:mm, :ss, .fraction, and optionally Z or ±HH:MM.
const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:\d{2})?$/i;

export interface ParsedTime {
  /** The first instant the value names. */
  start: Date;
  /** The first instant after it, at the precision given (a day, a minute, a second, a millisecond). */
  end: Date;
}

/** Parses a from/to value; null when it is not a valid date and time. */
export function parseAuditTime(value: string): ParsedTime | null {
  const m = TIME.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const numbers = [y, mo, d, h ?? "0", mi ?? "0", s ?? "0"].map(Number);
  const [year, month, day, hour, minute, second] = numbers;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, "0")) : 0;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 31 February over into March: refuse what does not round-trip.
  const check = new Date(utc);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  let offsetMs = 0;
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const [oh, om] = zone.slice(1).split(":").map(Number);
    if (oh > 23 || om > 59) return null;
    offsetMs = sign * (oh * 60 + om) * 60_000;
  }
  const start = utc - offsetMs;
  const step = h === undefined ? 86_400_000 : s === undefined ? 60_000 : frac === undefined ? 1000 : 1;
  return { start: new Date(start), end: new Date(start + step) };
}

const time = (which: "From" | "To") =>
  z
    .string()
    .trim()
    .max(40, `${which}: use a date and time such as 2025-03-01T10:15`)
    .optional()
    .transform(blankToUndefined)
    .refine((v) => v === undefined || parseAuditTime(v) !== null, `${which} is not a date and time: use e.g. 2025-03-01 or 2025-03-01T10:15 (UTC), or ISO 8601 with a zone`);

const filterShape = {
  user: text(254, "User"),
  action: z
    .string()
    .trim()
    .toLowerCase()
    .max(100, "Action is too long (100 characters at most)")
    // No "_": it would be a LIKE wildcard in a prefix, and no action name has one.
    .regex(/^[a-z0-9.*-]*$/, "Action: letters, digits, '.' and '-' only, e.g. job.create, or job.* for every job action")
    .refine((v) => !v.slice(0, -1).includes("*") && (!v.endsWith("*") || v.endsWith(".*")), "Action: a '*' may only end a prefix, as in job.*")
    .optional()
    .transform(blankToUndefined),
  objectType: text(64, "Object type"),
  objectId: text(128, "Object id"),
  outcome: z
    .enum([...AUDIT_OUTCOMES, ""], { error: "Outcome must be success, failure or denied" })
    .optional()
    .transform((v) => (v ? v : undefined)),
  from: time("From"),
  to: time("To"),
};

function fromNotAfterTo(f: { from?: string; to?: string }, ctx: z.RefinementCtx) {
  if (!f.from || !f.to) return;
  const from = parseAuditTime(f.from);
  const to = parseAuditTime(f.to);
  if (from && to && from.start.getTime() > to.start.getTime()) {
    ctx.addIssue({ code: "custom", path: ["to"], message: "To is before From: pick a To at or after From" });
  }
}

export const auditFilterSchema = z.object(filterShape).superRefine(fromNotAfterTo);
export type AuditFilters = z.infer<typeof auditFilterSchema>;

const cursor = z.coerce.number().int("A page cursor is a whole number").min(1, "A page cursor is 1 or more").max(Number.MAX_SAFE_INTEGER).optional();

export const auditListQuerySchema = z
  .object({
    ...filterShape,
    pageSize: z.coerce
      .number()
      .int()
      .refine((n) => (AUDIT_PAGE_SIZES as readonly number[]).includes(n), "Page size must be 50, 100 or 200")
      .default(AUDIT_DEFAULT_PAGE_SIZE),
    /** Events older than this seq (the next page, going back in time). */
    before: cursor,
    /** Events newer than this seq (the previous page, coming forward). */
    after: cursor,
  })
  .superRefine(fromNotAfterTo)
  .superRefine((q, ctx) => {
    if (q.before !== undefined && q.after !== undefined) ctx.addIssue({ code: "custom", path: ["after"], message: "Give either before or after, not both" });
  });
export type AuditListQuery = z.infer<typeof auditListQuerySchema>;

/** The action filter as the query uses it: an exact name, or a prefix ("job.*" and "job." → "job."). */
export function actionMatch(action: string): { exact: string } | { prefix: string } {
  if (action.endsWith(".*")) return { prefix: action.slice(0, -1) };
  if (action.endsWith(".")) return { prefix: action };
  return { exact: action };
}
