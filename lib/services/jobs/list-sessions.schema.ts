// Filters of the Sessions view (issue 9), shared by the filter bar, the polling route and the
// service. Every value comes from the address, so everything is a string and blank means "any".
//  - kind:   a session kind (backup, verify, and restore, replication, failover, failback to come).
//  - state:  queued | running | done (success, warning, failed or stopped) | one ended state.
//  - worker: a JobWorker id: the session's own worker or one that runs or ran one of its VMs.
//  - q:      part of the title, the subject or (older rows) the backup job's name; any case.
//  - from/to: queued between, UTC when no zone is given (as a datetime-local field sends it), both
//            ends included to the precision given (lib/schemas/audit.ts parseAuditTime).
//  - before: keyset cursor "<queuedAt ms>.<id>": the page of sessions queued before that row.
import { z } from "zod";
import { parseAuditTime } from "@/lib/schemas/audit";

/** The kinds the view knows by name; other kinds a later engine writes are listed as they come. */
export const SESSION_KINDS = ["backup", "verify", "restore", "replication", "failover", "failback"] as const;
export const SESSION_KIND_LABELS: Record<string, string> = {
  backup: "Backup",
  verify: "Repository verify",
  restore: "Restore",
  replication: "Replication",
  failover: "Failover",
  failback: "Failback",
};

export const SESSION_STATE_FILTERS = ["queued", "running", "done", "success", "warning", "failed", "stopped"] as const;
export type SessionStateFilter = (typeof SESSION_STATE_FILTERS)[number];
export const ENDED_STATES = ["success", "warning", "failed", "stopped"] as const;
export const SESSION_STATE_FILTER_LABELS: Record<SessionStateFilter, string> = {
  queued: "Queued",
  running: "Running",
  done: "Ended (any result)",
  success: "Ended: success",
  warning: "Ended: warning",
  failed: "Ended: failed",
  stopped: "Ended: stopped",
};

export const SESSION_PAGE_SIZE = 50;
export const SESSION_FILTER_KEYS = ["kind", "state", "worker", "q", "from", "to"] as const;
export type SessionFilterKey = (typeof SESSION_FILTER_KEYS)[number];

const blank = (v: string | undefined) => (v ? v : undefined);
const time = (which: "From" | "To") =>
  z
    .string()
    .trim()
    .max(40, `${which}: use a date and time such as 2026-03-01T10:15`)
    .optional()
    .transform(blank)
    .refine((v) => v === undefined || parseAuditTime(v) !== null, `${which} is not a date and time: use e.g. 2026-03-01 or 2026-03-01T10:15 (UTC)`);

export const CURSOR = /^(\d{1,15})\.([A-Za-z0-9_-]{1,64})$/;

export const sessionListQuerySchema = z
  .object({
    kind: z
      .string()
      .trim()
      .toLowerCase()
      .max(40, "Kind is too long")
      .regex(/^[a-z-]*$/, "Kind: letters and '-' only, e.g. backup")
      .optional()
      .transform(blank),
    state: z
      .enum([...SESSION_STATE_FILTERS, ""], { error: "State must be queued, running, done, success, warning, failed or stopped" })
      .optional()
      .transform((v) => (v ? v : undefined)),
    worker: z
      .string()
      .trim()
      .max(200, "Worker id is too long")
      .regex(/^[A-Za-z0-9_.:@-]*$/, "Worker: pick one from the list")
      .optional()
      .transform(blank),
    q: z.string().trim().max(100, "Search text is too long (100 characters at most)").optional().transform(blank),
    from: time("From"),
    to: time("To"),
    before: z
      .string()
      .trim()
      .regex(CURSOR, "Malformed page cursor: go back to the newest sessions")
      .or(z.literal(""))
      .optional()
      .transform(blank),
  })
  .superRefine((f, ctx) => {
    const from = f.from ? parseAuditTime(f.from) : null;
    const to = f.to ? parseAuditTime(f.to) : null;
    if (from && to && from.start.getTime() > to.start.getTime()) ctx.addIssue({ code: "custom", path: ["to"], message: "To is before From: pick a To at or after From" });
  });
export type SessionListQuery = z.infer<typeof sessionListQuerySchema>;

export function encodeSessionCursor(queuedAt: Date | string, id: string): string {
  return `${new Date(queuedAt).getTime()}.${id}`;
}

export function decodeSessionCursor(cursor: string): { queuedAt: Date; id: string } | null {
  const m = CURSOR.exec(cursor);
  return m ? { queuedAt: new Date(Number(m[1])), id: m[2] } : null;
}
