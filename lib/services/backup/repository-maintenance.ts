import "server-only";
import type { KeyRing, Repository, RetentionReport } from "@/lib/engine";
import { formatBytes } from "@/lib/format";
import { reconcileCatalogue, type CatalogueReconciliation } from "./reconcile-catalogue";

// What repository maintenance did, in words for the session log: stale locks cleared, orphan
// packs reclaimed, the catalogue set straight against the folder.

type Log = { say(text: string, level?: "info" | "warning" | "error"): void };

const REASONS = { "process-gone": "its process no longer runs", "lease-expired": "its lease has ended" } as const;

export function describeMaintenance(r: RetentionReport): string[] {
  const out: string[] = [];
  for (const c of r.clearedLocks) out.push(`Cleared a stale repository lock, ${c.lock}: ${REASONS[c.reason]}.`);
  if (r.orphanPacksReclaimed) {
    out.push(`Reclaimed ${formatBytes(r.reclaimedOrphanBytes)} in ${r.orphanPacksReclaimed} pack(s) that interrupted backups had left and no restore point uses.`);
  }
  if (r.youngOrphanPacks.length) {
    out.push(`${r.youngOrphanPacks.length} pack(s) no restore point uses are less than an hour old; they are reclaimed by a later run, once no backup can still be writing them.`);
  }
  return out;
}

/** Sets the catalogue straight against the folder and logs what it found; never fails the caller. */
export async function reportCatalogue(
  row: { id: string },
  repo: Repository,
  keyRing: KeyRing | undefined,
  ownSessionId: string | undefined,
  log: Log,
  options: { adopt?: boolean } = {},
): Promise<CatalogueReconciliation | undefined> {
  try {
    const r = await reconcileCatalogue(row, repo, { keyRing, ownSessionId, adopt: options.adopt });
    for (const m of r.messages) log.say(m, "warning");
    return r;
  } catch (e) {
    log.say(`The catalogue could not be compared with the repository folder: ${e instanceof Error ? e.message : String(e)}.`, "warning");
    return undefined;
  }
}
