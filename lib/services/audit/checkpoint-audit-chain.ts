import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { db } from "@/lib/db/client";
import { checkpointPath, REPOSITORY_ANCHOR_FILE, writeAnchor } from "./audit-anchor";
import { ensureAuditKey } from "./audit-key";

/**
 * Anchors the audit chain's head outside the database (SEC-4): the signed checkpoint in the data
 * folder and an anchor in every repository folder that exists. The runner calls it on its periodic
 * tick; a repository that cannot be written is skipped (and named in the result), never fatal.
 */
export async function checkpointAuditChain(): Promise<{ seq: number | null; written: string[]; skipped: string[] }> {
  await ensureAuditKey();
  const tail = await db.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true } });
  if (!tail) return { seq: null, written: [], skipped: [] };
  const head = { seq: tail.seq, hash: tail.hash, at: new Date().toISOString() };
  const written: string[] = [];
  const skipped: string[] = [];
  const targets = [checkpointPath()];
  for (const r of await db.backupRepository.findMany({ select: { path: true } })) targets.push(path.join(r.path, REPOSITORY_ANCHOR_FILE));
  for (const file of targets) {
    try {
      await fs.access(path.dirname(file));
      if (await writeAnchor(file, head)) written.push(file);
      else skipped.push(file);
    } catch {
      skipped.push(file);
    }
  }
  return { seq: head.seq, written, skipped };
}
