// Retention (BKP-8) and deletion under an exclusive lock. Every point maps all of its blocks, so
// no point depends on another: retention deletes the points beyond the policy, then the packs no
// remaining point references. It works from cleartext headers, without keys, and is
// conservative: if any point header is unreadable, no pack is deleted (we cannot know what that
// point needs). Immutability: a point is never deleted before its immutableUntil, a pack never
// before its createdAt + the repository's immutability period.

import { ByteReader, idHex } from "../bytes";
import { EngineError, ImmutabilityError, InvalidArgumentError } from "../errors";
import { FORMAT_VERSION, MAGIC, SIZES } from "../format-registry";
import { chainIdFromFileName } from "./chain-file";
import { encodeIndex, indexFileName } from "./index-file";
import { describeLock, RepositoryLock } from "./locks";
import { packFileName, packIdFromFileName } from "./pack";
import { pointFileName, type DecodedPoint } from "./point-file";
import type { Repository } from "./repository";

export interface RetentionOptions {
  /** Restore points to keep per chain (≥ 1). */
  keep: number;
  now?: number;
  /** Only this chain; every chain when omitted (and `chainIds` too). */
  chainId?: string;
  /**
   * Only these chains, in one pass: one scan of the points and one garbage collection for all of
   * them (a session of many VMs ends with one retention run, not one per VM's chain).
   */
  chainIds?: readonly string[];
  /**
   * A point due for deletion but still immutable: "hold" (default) keeps it and reports it, so a
   * scheduled run succeeds and deletes it once the period ends; "throw" refuses the whole run
   * with ImmutabilityError before deleting anything.
   */
  onImmutable?: "hold" | "throw";
  /**
   * Packs no point references (left by an interrupted session) are reclaimed once they are this
   * old (default ORPHAN_GRACE_MS): a younger one may belong to a session on another host whose
   * lease ran out while it still works, and would commit it.
   */
  orphanGraceMs?: number;
}

export const ORPHAN_GRACE_MS = 60 * 60 * 1000;

export interface RetentionReport {
  keptPoints: string[];
  deletedPoints: string[];
  heldPoints: Array<{ pointId: string; immutableUntil: Date }>;
  deletedPacks: string[];
  /** Unreferenced packs kept because their own immutability period has not ended. */
  heldPacks: string[];
  deletedIndexFiles: string[];
  rewrittenIndexFiles: string[];
  deletedChainFiles: string[];
  deletedTemporaries: number;
  /** Why pack deletion was skipped, when it was. */
  garbageCollectionSkipped?: string;
  /** Packs no point ever referenced (interrupted sessions) that were deleted, and their bytes. */
  orphanPacksReclaimed: number;
  reclaimedOrphanBytes: number;
  /** Bytes of every deleted pack (orphans and packs of deleted points). */
  reclaimedBytes: number;
  /** Orphan packs younger than the grace period, kept for now. */
  youngOrphanPacks: string[];
  /** Stale locks (a killed process's, an expired lease) removed before retention ran. */
  clearedLocks: Array<{ lock: string; reason: "process-gone" | "lease-expired" }>;
}

function emptyReport(): RetentionReport {
  return { keptPoints: [], deletedPoints: [], heldPoints: [], deletedPacks: [], heldPacks: [], deletedIndexFiles: [], rewrittenIndexFiles: [], deletedChainFiles: [], deletedTemporaries: 0, orphanPacksReclaimed: 0, reclaimedOrphanBytes: 0, reclaimedBytes: 0, youngOrphanPacks: [], clearedLocks: [] };
}

async function withExclusiveLock(repo: Repository, now: number, fn: () => Promise<RetentionReport>): Promise<RetentionReport> {
  const lock = await RepositoryLock.acquire(repo.store, "exclusive", { owner: repo.owner, now, random: repo.random });
  try {
    const report = await fn();
    report.clearedLocks = lock.cleared.map((c) => ({ lock: describeLock(c.lock), reason: c.reason }));
    return report;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

export async function applyRetention(repo: Repository, options: RetentionOptions): Promise<RetentionReport> {
  if (!Number.isInteger(options.keep) || options.keep < 1) throw new InvalidArgumentError("retention must keep at least one restore point");
  const now = options.now ?? repo.now();
  return withExclusiveLock(repo, now, async () => {
    const report = emptyReport();
    const { points, unreadable } = await repo.scanPoints();
    const only = options.chainId !== undefined || options.chainIds !== undefined ? new Set([...(options.chainId !== undefined ? [options.chainId] : []), ...(options.chainIds ?? [])]) : null;
    const chains = new Map<string, DecodedPoint[]>();
    for (const p of points) {
      const id = idHex(p.header.chainId);
      if (!only || only.has(id)) (chains.get(id) ?? chains.set(id, []).get(id)!).push(p);
    }
    const doomed: DecodedPoint[] = [];
    for (const chain of chains.values()) {
      const newestFirst = [...chain].reverse(); // scanPoints orders oldest first, parents before children
      for (const [i, p] of newestFirst.entries()) {
        const id = idHex(p.header.pointId);
        if (i < options.keep) report.keptPoints.push(id);
        else if (p.header.immutableUntil > now) report.heldPoints.push({ pointId: id, immutableUntil: new Date(p.header.immutableUntil) });
        else doomed.push(p);
      }
    }
    if (report.heldPoints.length && options.onImmutable === "throw") {
      const until = Math.max(...report.heldPoints.map((h) => h.immutableUntil.getTime()));
      throw new ImmutabilityError(report.heldPoints.map((h) => h.pointId), new Date(until));
    }
    for (const p of doomed) {
      await repo.store.delete(pointFileName(p.header.pointId));
      report.deletedPoints.push(idHex(p.header.pointId));
    }
    const remaining = points.filter((p) => !doomed.includes(p));
    await collectGarbage(repo, now, remaining, points, unreadable.length, report, options.orphanGraceMs);
    return report;
  });
}

export async function deletePoint(repo: Repository, pointId: string, options: { now?: number }): Promise<RetentionReport> {
  const now = options.now ?? repo.now();
  return withExclusiveLock(repo, now, async () => {
    const target = await repo.readPointFile(pointId);
    if (target.header.immutableUntil > now) throw new ImmutabilityError([pointId], new Date(target.header.immutableUntil));
    await repo.store.delete(pointFileName(pointId));
    const report = emptyReport();
    report.deletedPoints.push(pointId);
    const { points, unreadable } = await repo.scanPoints();
    await collectGarbage(repo, now, points, [...points, target], unreadable.length, report);
    return report;
  });
}

/**
 * Removes packs, index entries, chain files and temporaries that no remaining point needs.
 * `before`: every point before this run deleted any; a pack none of them referenced was left by an
 * interrupted session (an orphan), and waits for the grace period.
 */
async function collectGarbage(
  repo: Repository,
  now: number,
  remaining: DecodedPoint[],
  before: DecodedPoint[],
  unreadablePoints: number,
  report: RetentionReport,
  graceMs = ORPHAN_GRACE_MS,
): Promise<void> {
  const { store } = repo;
  // Safe under the exclusive lock: no session is writing, so every temporary is debris.
  for (const t of await store.listTemporary()) {
    await store.delete(t);
    report.deletedTemporaries++;
  }
  if (unreadablePoints > 0) {
    report.garbageCollectionSkipped = `${unreadablePoints} restore point file(s) are unreadable; no pack was deleted`;
    return;
  }
  const live = new Set(remaining.flatMap((p) => p.header.packIds.map((x) => idHex(x))));
  const referencedBefore = new Set(before.flatMap((p) => p.header.packIds.map((x) => idHex(x))));
  const deleted = new Set<string>();
  for (const file of await store.list("packs/")) {
    const packId = idHex(packIdFromFileName(file));
    if (live.has(packId)) continue;
    const orphan = !referencedBefore.has(packId);
    const createdAt = repo.config.immutabilityMs > 0 || orphan ? await packCreatedAt(repo, packId) : undefined;
    if (repo.config.immutabilityMs > 0 && (createdAt === undefined || createdAt + repo.config.immutabilityMs > now)) {
      report.heldPacks.push(packId);
      continue;
    }
    // An orphan whose header is unreadable is debris as well (writes are atomic, so this is
    // damage, not a pack being written): it is reclaimed at once.
    if (orphan && createdAt !== undefined && createdAt + graceMs > now) {
      report.youngOrphanPacks.push(packId);
      continue;
    }
    const size = (await store.size(file)) ?? 0;
    await store.delete(file);
    deleted.add(packId);
    report.deletedPacks.push(packId);
    report.reclaimedBytes += size;
    if (orphan) {
      report.orphanPacksReclaimed++;
      report.reclaimedOrphanBytes += size;
    }
  }
  const catalogue = await repo.loadCatalogue();
  for (const [file, index] of catalogue.indexFiles) {
    const kept = index.packs.filter((p) => !deleted.has(idHex(p.packId)));
    if (kept.length === index.packs.length) continue;
    if (kept.length === 0) {
      await store.delete(file);
      report.deletedIndexFiles.push(file);
    } else {
      await store.put(indexFileName(index.sessionId), encodeIndex({ ...index, packs: kept }));
      report.rewrittenIndexFiles.push(file);
    }
  }
  // A chain without points: its .vbm holds only storage keys of deleted points — shred it.
  const liveChains = new Set(remaining.map((p) => idHex(p.header.chainId)));
  for (const file of await store.list("chains/")) {
    try {
      if (!liveChains.has(idHex(chainIdFromFileName(file)))) {
        await store.delete(file);
        report.deletedChainFiles.push(file);
      }
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
    }
  }
}

/** A pack's createdAt from its 48-byte header, or undefined when unreadable (then it is kept). */
async function packCreatedAt(repo: Repository, packId: string): Promise<number | undefined> {
  try {
    const header = await repo.store.getRange(packFileName(packId), 0, SIZES.packHeader);
    const r = new ByteReader(header, packFileName(packId));
    r.header(MAGIC.pack, FORMAT_VERSION.pack);
    r.take(2 + 2 * SIZES.id);
    return r.u64();
  } catch (e) {
    if (e instanceof EngineError) return undefined;
    throw e;
  }
}
