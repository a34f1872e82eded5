import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { chainHash, GENESIS_HASH } from "./audit-chain";

export interface AuditChainReport {
  /** True when every row links to the one before it and its hash matches its fields. */
  ok: boolean;
  /** Rows read, in seq order, up to and including the first broken one. */
  checked: number;
  /** The first row whose prevHash or hash does not match, or null. */
  firstBrokenSeq: number | null;
}

const BATCH = 1000;
type AuditRow = Awaited<ReturnType<typeof db.auditEvent.findFirstOrThrow>>;

/**
 * Recomputes the audit log's hash chain (SEC-4) in seq order. An edited row breaks at that row
 * (its hash no longer matches its fields); a deleted row breaks at the row after it (its prevHash
 * no longer matches the row before). Gaps in seq are not evidence by themselves (PostgreSQL
 * sequences skip numbers when a transaction rolls back); removing rows from the tail cannot be
 * seen from the chain alone.
 */
export async function verifyAuditChain(actor: Actor): Promise<AuditChainReport> {
  authorize(actor, "audit:read");
  let prevHash = GENESIS_HASH;
  let checked = 0;
  let after: number | null = null;
  for (;;) {
    const rows: AuditRow[] = await db.auditEvent.findMany({
      where: after === null ? {} : { seq: { gt: after } },
      orderBy: { seq: "asc" },
      take: BATCH,
    });
    if (rows.length === 0) return { ok: true, checked, firstBrokenSeq: null };
    for (const row of rows) {
      checked++;
      if (row.prevHash !== prevHash || row.hash !== chainHash(row.prevHash, row)) {
        return { ok: false, checked, firstBrokenSeq: row.seq };
      }
      prevHash = row.hash;
    }
    after = rows[rows.length - 1].seq;
  }
}
