// CSV of audit events (SEC-4 export). RFC 4180: fields separated by commas, records by CRLF; a
// field holding a comma, a double quote, CR or LF is wrapped in double quotes, and its quotes are
// doubled. Formula injection: a cell that a spreadsheet would read as a formula (it starts with
// = + - @, or a tab or CR, which some spreadsheets skip before looking) gets a leading ' — the
// OWASP advice. That cell no longer equals the stored value byte for byte; the hash column is
// computed over the stored value, so re-checking the chain from a CSV must strip that quote.
// Pure: no database, no server-only import (unit-tested in audit-csv.test.ts).

export const AUDIT_CSV_COLUMNS = ["seq", "at", "actor", "action", "objectType", "objectId", "outcome", "sourceIp", "details", "hash", "prevHash"] as const;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell: guarded against formula injection, then quoted when RFC 4180 asks for it. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  let s = String(value);
  if (typeof value !== "number" && FORMULA_START.test(s)) s = `'${s}`;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One record, CRLF-terminated. */
export function csvRecord(cells: (string | number | null | undefined)[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

export interface AuditCsvRow {
  seq: number;
  at: Date;
  actorEmail: string | null;
  actorId: string | null;
  action: string;
  objectType: string | null;
  objectId: string | null;
  outcome: string;
  sourceIp: string | null;
  details: string;
  hash: string;
  prevHash: string;
}

export function auditCsvHeader(): string {
  return csvRecord([...AUDIT_CSV_COLUMNS]);
}

export function auditCsvRecord(r: AuditCsvRow): string {
  return csvRecord([r.seq, r.at.toISOString(), r.actorEmail ?? r.actorId ?? "", r.action, r.objectType, r.objectId, r.outcome, r.sourceIp, r.details, r.hash, r.prevHash]);
}

/** "2025-03-01T10:15:00.000Z" → "20250301T101500Z": a time safe in a file name. */
export function fileStamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}
