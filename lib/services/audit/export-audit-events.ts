import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { AUDIT_EXPORT_MAX_ROWS, auditFilterSchema } from "@/lib/schemas/audit";
import { activeFilters, auditWhere } from "./audit-filter";
import { auditCsvHeader, auditCsvRecord, fileStamp } from "@/lib/audit/audit-csv";
import { recordAuditEvent } from "./record-audit-event";

export interface AuditExport {
  /** audit-<from>-<to>.csv ("start" when there is no From; the export's own time when there is no To). */
  filename: string;
  /** Events in the file (the header line not counted). */
  rowCount: number;
  /** The newest seq the export could include: events recorded while it streams are left out. */
  throughSeq: number;
  /** The file, header first, then one CRLF-terminated record per event, oldest first. */
  chunks: () => AsyncGenerator<string>;
}

const BATCH = 1000;

/**
 * The audit events matching the filters as CSV (SEC-4), oldest first, streamed in batches. At most
 * AUDIT_EXPORT_MAX_ROWS events: more is refused with a request to narrow the filters (an export
 * silently cut short would look complete). The export is itself audited ("audit.export", with the
 * filters and the number of rows) before the first byte leaves. Details were redacted when they
 * were recorded (redactDetails, SEC-6), so the file holds no secret the log does not.
 */
export async function exportAuditEvents(actor: Actor, raw: unknown): Promise<AuditExport> {
  authorize(actor, "audit:read");
  const filters = parseInput(auditFilterSchema, raw);
  const tail = await db.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } });
  const throughSeq = tail?.seq ?? 0;
  const where = { AND: [await auditWhere(filters), { seq: { lte: throughSeq } }] };
  const rowCount = await db.auditEvent.count({ where });
  if (rowCount > AUDIT_EXPORT_MAX_ROWS) {
    throw new AppError(
      "INVALID_INPUT",
      `${rowCount.toLocaleString("en")} events match these filters; one export holds at most ${AUDIT_EXPORT_MAX_ROWS.toLocaleString("en")}. Narrow the time range and export in parts.`,
    );
  }

  const now = new Date();
  const part = (v: string | undefined, fallback: string) => (v ? v.replace(/[^0-9A-Za-z+]/g, "") : fallback);
  const filename = `audit-${part(filters.from, "start")}-${part(filters.to, fileStamp(now))}.csv`;

  await recordAuditEvent({
    actor,
    action: "audit.export",
    outcome: "success",
    details: { filters: activeFilters(filters), rows: rowCount, throughSeq, format: "csv" },
  });

  async function* chunks(): AsyncGenerator<string> {
    yield auditCsvHeader();
    let after = 0;
    let sent = 0;
    while (sent < rowCount) {
      const rows = await db.auditEvent.findMany({
        where: { AND: [where, { seq: { gt: after } }] },
        orderBy: { seq: "asc" },
        take: Math.min(BATCH, rowCount - sent),
      });
      if (rows.length === 0) return;
      yield rows.map(auditCsvRecord).join("");
      sent += rows.length;
      after = rows[rows.length - 1].seq;
    }
  }

  return { filename, rowCount, throughSeq, chunks };
}
