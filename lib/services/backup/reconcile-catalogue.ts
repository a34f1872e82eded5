import "server-only";
import { db } from "@/lib/db/client";
import { EngineError, type KeyRing, type Repository } from "@/lib/engine";
import { summarize, type PointSummary } from "@/lib/engine/repository/repository";

// The console's catalogue (RestorePoint rows) against the repository folder, where the point files
// are the truth (KEY-9):
//  - a row whose point file is gone is marked "missing" (a deleted file, or a folder put back from
//    an older copy); it becomes "ok" again if the file comes back;
//  - a point file without a row (written just before a kill, or put back by a rollback after
//    retention removed its row) is adopted: a row is made from its header (and its body, when the
//    keys at hand open it);
//  - a chain whose last point the console recorded is no longer in the folder, while older points
//    of it are, was rolled back: its next incremental starts from the newest point the folder holds.
// Idempotent and cheap (point headers only); the backup runner calls it before a session, verify
// before it checks, so what the pages show follows the folder.

export interface CatalogueReconciliation {
  /** Catalogued points whose file is not in the folder. */
  missing: Array<{ pointId: string; vmName: string; createdAt: Date }>;
  /** Point files that had no catalogue row (or a removed one) and now have one. */
  adopted: Array<{ pointId: string; vmName: string; createdAt: Date; jobId: string | null }>;
  /** Missing points whose file is back. */
  returned: string[];
  /** Chains whose newest recorded point is gone while older points remain (a rolled-back folder). */
  rolledBackChains: Array<{ chainId: string; vmName: string; lastPointId: string; newestInFolder: string }>;
  /** Chains whose .vbm does not list the newest point the console recorded (an older copy of it). */
  staleChainFiles: string[];
  /** What happened, in words, for the session log or the verify report. */
  messages: string[];
}

interface RepositoryRow {
  id: string;
}

/**
 * `ownSessionId`: the backup session calling (not counted as a session that may still commit a
 * point). While another backup session writes to this repository, nothing is adopted: its point
 * file may be about to get its row.
 */
export async function reconcileCatalogue(row: RepositoryRow, repo: Repository, options: { keyRing?: KeyRing; ownSessionId?: string; adopt?: boolean } = {}): Promise<CatalogueReconciliation> {
  // In this order: a point file seen here whose session is no longer running by the count below
  // got its row before that session ended (or never will: its process died) — so it can be adopted.
  const { points } = await repo.scanPoints();
  const writing = await db.jobSession.count({ where: { state: "running", job: { repositoryId: row.id }, ...(options.ownSessionId ? { id: { not: options.ownSessionId } } : {}) } });
  const inFolder = new Map(points.map((p) => [summarize(p).pointId, p]));
  const rows = await db.restorePoint.findMany({ where: { repositoryId: row.id }, select: { id: true, status: true, vmName: true, createdAt: true, chainId: true, jobId: true, vmExternalId: true, vmEncrypted: true } });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out: CatalogueReconciliation = { missing: [], adopted: [], returned: [], rolledBackChains: [], staleChainFiles: [], messages: [] };

  for (const r of rows) {
    if (r.status === "removed") continue;
    if (!inFolder.has(r.id)) {
      out.missing.push({ pointId: r.id, vmName: r.vmName, createdAt: r.createdAt });
      if (r.status !== "missing") await db.restorePoint.update({ where: { id: r.id }, data: { status: "missing" } });
    } else if (r.status === "missing") {
      out.returned.push(r.id);
      await db.restorePoint.update({ where: { id: r.id }, data: { status: "ok" } });
    }
  }

  let notAdopted = 0;
  for (const [pointId, decoded] of inFolder) {
    const known = byId.get(pointId);
    if (known && known.status !== "removed") continue;
    if (writing > 0 || options.adopt === false) {
      notAdopted++;
      continue;
    }
    const summary = summarize(decoded);
    const adopted = await adopt(row.id, summary, decoded.header.parentPointId !== null, rows, repo, options.keyRing, known !== undefined);
    out.adopted.push(adopted);
  }

  // Rollback: the console's last point of a chain is gone, older points of the same chain remain;
  // or the point is there but the chain metadata file is older than it (put back from a copy).
  const states = await db.jobVmState.findMany({ where: { job: { repositoryId: row.id } }, select: { chainId: true, lastPointId: true, vmExternalId: true } });
  const chainFiles = new Map((await repo.listChains()).map((c) => [c.chainId, c]));
  for (const s of states) {
    if (!s.lastPointId) continue;
    if (inFolder.has(s.lastPointId)) {
      const chain = chainFiles.get(s.chainId);
      if (chain && !chain.problem && !chain.points.some((p) => p.pointId === s.lastPointId)) {
        out.staleChainFiles.push(s.chainId);
        out.messages.push(`The chain metadata file of ${byId.get(s.lastPointId)?.vmName ?? s.vmExternalId} is older than its newest restore point (it was put back from an older copy, or its last update failed). The points still open with their own keys; the next backup writes the file anew.`);
      }
      continue;
    }
    const newest = points.filter((p) => summarize(p).chainId === s.chainId).at(-1);
    if (!newest) continue;
    const vmName = byId.get(s.lastPointId)?.vmName ?? s.vmExternalId;
    out.rolledBackChains.push({ chainId: s.chainId, vmName, lastPointId: s.lastPointId, newestInFolder: summarize(newest).pointId });
  }

  if (out.missing.length) {
    out.messages.push(
      `${out.missing.length} restore point(s) the console lists are missing from the repository folder (${out.missing.map((m) => `${m.vmName}, ${m.createdAt.toISOString().slice(0, 16).replace("T", " ")} UTC`).join("; ")}): their files were deleted or the folder was put back from an older copy. They cannot be restored; find the files or run the jobs again.`,
    );
  }
  for (const c of out.rolledBackChains) {
    out.messages.push(`The repository folder was rolled back for ${c.vmName}: the newest restore point the console recorded (${c.lastPointId}) is gone and the folder's newest is ${c.newestInFolder}. The next backup reads the changes since that point.`);
  }
  if (out.adopted.length) out.messages.push(`${out.adopted.length} restore point file(s) found in the folder without a catalogue entry (written just before an interruption, or put back) were adopted and are listed now.`);
  if (notAdopted) out.messages.push(`${notAdopted} restore point file(s) in the folder are not in the catalogue yet; the next backup or verify of this repository adopts them.`);
  if (out.returned.length) out.messages.push(`${out.returned.length} restore point(s) that were missing are back in the folder.`);
  return out;
}

async function adopt(
  repositoryId: string,
  p: PointSummary,
  incremental: boolean,
  rows: Array<{ chainId: string; jobId: string | null; vmExternalId: string; vmName: string; vmEncrypted: boolean }>,
  repo: Repository,
  keyRing: KeyRing | undefined,
  hadRow: boolean,
): Promise<CatalogueReconciliation["adopted"][number]> {
  // The VM and job from the chain's other points (no keys needed); else from the point's sealed body.
  const sibling = rows.find((r) => r.chainId === p.chainId);
  const state = sibling ? null : await db.jobVmState.findFirst({ where: { chainId: p.chainId }, select: { jobId: true, vmExternalId: true } });
  let vm: { externalId: string; name: string; encrypted: boolean } | null = sibling ? { externalId: sibling.vmExternalId, name: sibling.vmName, encrypted: sibling.vmEncrypted } : null;
  let diskCount = 0;
  if (keyRing) {
    try {
      const opened = await repo.readPoint(p.pointId, keyRing);
      diskCount = opened.disks.length;
      const attrs = opened.attributes as { vm?: { externalId?: unknown; name?: unknown }; encrypted?: unknown };
      if (!vm && typeof attrs.vm?.externalId === "string") vm = { externalId: attrs.vm.externalId, name: String(attrs.vm.name ?? attrs.vm.externalId), encrypted: attrs.encrypted === true };
      opened.close();
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
    }
  }
  const vmExternalId = vm?.externalId ?? state?.vmExternalId ?? "unknown";
  const vmName = vm?.name ?? (state ? vmExternalId : "(unknown VM: supply its keys to read it)");
  const jobId = sibling?.jobId ?? state?.jobId ?? null;
  const data = {
    repositoryId,
    jobId,
    chainId: p.chainId,
    vmExternalId,
    vmName,
    createdAt: p.createdAt,
    incremental,
    vmEncrypted: vm?.encrypted ?? false,
    keyIds: JSON.stringify(p.keyIds),
    diskCount,
    status: "ok",
  };
  if (hadRow) await db.restorePoint.update({ where: { id: p.pointId }, data });
  else await db.restorePoint.create({ data: { id: p.pointId, ...data } });
  return { pointId: p.pointId, vmName, createdAt: p.createdAt, jobId };
}
