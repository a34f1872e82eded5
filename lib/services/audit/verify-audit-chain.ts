import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import path from "node:path";
import { chainHash, GENESIS_HASH } from "./audit-chain";
import { checkpointPath, readAnchor, REPOSITORY_ANCHOR_FILE, type AuditAnchor } from "./audit-anchor";
import { ensureAuditKey } from "./audit-key";

/**
 * What is wrong at the first break. Beyond the chain itself (edited, deleted, reordered), the
 * anchors kept outside the database show: truncated (the newest rows are gone: an anchor names a
 * row the log no longer has), rewritten (the row an anchor names holds another hash) and
 * anchor-forged (an anchor file that this console's key did not sign).
 */
export type AuditChainProblemKind = "edited" | "deleted" | "reordered" | "truncated" | "rewritten" | "anchor-forged";

export interface AuditChainProblem {
  kind: AuditChainProblemKind;
  /** The entry the evidence points at: the edited entry, or the first entry after a gap, or the misplaced entry. */
  seq: number;
  /** For people: what was found and what it means. */
  message: string;
}

export interface AuditChainReport {
  /** True when every row links to the one before it and its hash matches its fields. */
  ok: boolean;
  /** Rows read, in seq order, up to and including the first broken one. */
  checked: number;
  /** The first row whose prevHash or hash does not match, or null. */
  firstBrokenSeq: number | null;
  /** Why it does not match, or null. */
  problem: AuditChainProblem | null;
  /**
   * The newest entry. The chain cannot show entries removed from its end; comparing this with a
   * seq and hash noted earlier (or the last line of an earlier export) can.
   */
  tail: { seq: number; hash: string; at: string } | null;
  /** Anchors of the head found outside the database (checkpoint, repositories) and the newest of them. */
  anchors: { found: number; newest: { seq: number; at: string } | null };
}

const BATCH = 1000;
type AuditRow = Awaited<ReturnType<typeof db.auditEvent.findFirstOrThrow>>;

/**
 * Recomputes the audit log's hash chain (SEC-4) in seq order and says what the first break means:
 *  - edited: the row's hash no longer matches its own fields (changed after it was written);
 *  - deleted: the row links to a hash no row has any more. With a gap in seq before it, rows were
 *    deleted there (or, when it is the first row, at the start of the log); without a gap, the row
 *    before it was edited and its hash recomputed to hide the edit (reported as edited, at that row);
 *  - reordered: the row links to another row that exists but is not the one before it (seq
 *    numbers were changed), or claims to be the first row while rows come before it.
 * Gaps in seq are not evidence by themselves (PostgreSQL sequences skip numbers when a transaction
 * rolls back). Rows removed from the tail cannot be seen from the chain alone: the anchors written
 * outside the database (checkpoint-audit-chain.ts) show them, back to the newest anchor.
 */
export async function verifyAuditChain(actor: Actor): Promise<AuditChainReport> {
  authorize(actor, "audit:read");
  const tailRow = await db.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true, at: true } });
  const tail = tailRow ? { seq: tailRow.seq, hash: tailRow.hash, at: tailRow.at.toISOString() } : null;
  await ensureAuditKey();
  const { anchors, problem: anchorProblem } = await checkAnchors();
  let previous: AuditRow | null = null;
  let checked = 0;
  for (;;) {
    const rows: AuditRow[] = await db.auditEvent.findMany({
      where: previous === null ? {} : { seq: { gt: previous.seq } },
      orderBy: { seq: "asc" },
      take: BATCH,
    });
    if (rows.length === 0) {
      if (anchorProblem) return { ok: false, checked, firstBrokenSeq: anchorProblem.seq, problem: anchorProblem, tail, anchors };
      return { ok: true, checked, firstBrokenSeq: null, problem: null, tail, anchors };
    }
    for (const row of rows) {
      checked++;
      const expected = previous?.hash ?? GENESIS_HASH;
      if (row.hash !== chainHash(row.prevHash, row) || row.prevHash !== expected) {
        return { ok: false, checked, firstBrokenSeq: row.seq, problem: await diagnose(row, previous), tail, anchors };
      }
      previous = row;
    }
  }
}

/** Every anchor must name a row the log still holds, with the same hash. The first that does not is the problem. */
async function checkAnchors(): Promise<{ anchors: AuditChainReport["anchors"]; problem: AuditChainProblem | null }> {
  const files = [checkpointPath()];
  for (const r of await db.backupRepository.findMany({ select: { path: true } })) files.push(path.join(r.path, REPOSITORY_ANCHOR_FILE));
  const found: { file: string; anchor: AuditAnchor }[] = [];
  let problem: AuditChainProblem | null = null;
  for (const file of files) {
    const a = await readAnchor(file);
    if (a === null) continue;
    if (a === "forged") {
      problem ??= { kind: "anchor-forged", seq: 0, message: `The anchor file ${file} is not signed by this console's audit key: it was altered, or copied from another console.` };
      continue;
    }
    found.push({ file, anchor: a });
  }
  found.sort((x, y) => y.anchor.seq - x.anchor.seq);
  for (const { file, anchor } of found) {
    const row = await db.auditEvent.findUnique({ where: { seq: anchor.seq }, select: { hash: true } });
    if (!row) {
      const newest = await db.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } });
      if (!newest || newest.seq < anchor.seq) {
        problem = {
          kind: "truncated",
          seq: anchor.seq,
          message: `Entries were removed from the end of the log (or the database was put back to an older copy): ${file}, written ${anchor.at}, names entry #${anchor.seq}, but the newest entry is ${newest ? `#${newest.seq}` : "none"}.`,
        };
      } else {
        problem = { kind: "deleted", seq: anchor.seq, message: `Entry #${anchor.seq}, named by ${file} (written ${anchor.at}), was deleted.` };
      }
      break;
    }
    if (row.hash !== anchor.hash) {
      problem = { kind: "rewritten", seq: anchor.seq, message: `Entry #${anchor.seq} is not the entry ${file} recorded on ${anchor.at}: the log was rewritten up to or past it.` };
      break;
    }
  }
  return { anchors: { found: found.length, newest: found[0] ? { seq: found[0].anchor.seq, at: found[0].anchor.at } : null }, problem };
}

async function diagnose(row: AuditRow, previous: AuditRow | null): Promise<AuditChainProblem> {
  if (row.hash !== chainHash(row.prevHash, row)) {
    return { kind: "edited", seq: row.seq, message: `Entry #${row.seq} was changed after it was written: its fields no longer match its hash.` };
  }
  const linked = row.prevHash === GENESIS_HASH ? null : await db.auditEvent.findUnique({ where: { hash: row.prevHash }, select: { seq: true } });
  if (linked) {
    return {
      kind: "reordered",
      seq: row.seq,
      message: `Entry #${row.seq} follows entry #${linked.seq}, not #${previous?.seq ?? "—"} before it: entry numbers were changed (entries reordered).`,
    };
  }
  if (row.prevHash === GENESIS_HASH) {
    return { kind: "reordered", seq: row.seq, message: `Entry #${row.seq} claims to be the first entry, but #${previous!.seq} comes before it: entries were renumbered or one was inserted.` };
  }
  if (!previous) {
    return { kind: "deleted", seq: row.seq, message: `The log starts at entry #${row.seq}, which follows an entry that is no longer there: entries at the start of the log were deleted.` };
  }
  if (row.seq > previous.seq + 1) {
    const what = row.seq - previous.seq === 2 ? `entry #${previous.seq + 1} was deleted` : `one or more of entries #${previous.seq + 1}–#${row.seq - 1} were deleted`;
    return { kind: "deleted", seq: row.seq, message: `Entry #${row.seq} follows an entry that is no longer there: ${what}.` };
  }
  return {
    kind: "edited",
    seq: previous.seq,
    message: `Entry #${previous.seq} was edited and its hash recomputed to hide it: entry #${row.seq} after it still carries the original hash.`,
  };
}
