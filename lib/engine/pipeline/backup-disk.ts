// One disk of one VM into one backup session (BKP-2, BKP-3): reads the snapshot through a
// DiskReader in repository-sized blocks (1 MiB by default), only the blocks that CBT names, skips
// all-zero blocks by comparison, and hands the rest to BackupSession.writeDisk, which hashes,
// deduplicates, compresses, encrypts and packs them.
//
//   full         areas = the disk's written areas (QueryChangedDiskAreas with change id "*") or
//                "all"; unlisted blocks read as zeros. Zero blocks are not even handed over.
//   incremental  areas = changed since the previous point's change id; every other block is
//                inherited from the parent point (writeDisk's `inherit`). A changed block that is
//                now all zeros is handed over (as the shared zero block) so it overrides the parent.
//   fallback     unknown / reset change id (FileFault): a full plan in a session whose parent is
//                the chain's latest point, so unchanged blocks deduplicate against it (BKP-2).
//
// Hot path: READ_AHEAD + 1 reusable block buffers (reads of the next blocks in flight while the
// session takes the current one), no allocation per block. writeDisk copies a block into a slot of its codec pool
// before it asks for the next, which is what makes the reuse safe; hashing, compression and
// encryption run on worker threads for disks with at least 64 MiB to read (`bytesHint`), so this
// thread only reads and compares for zeros.

import type { DiskArea, DiskReader } from "../../platform/disk-io";
import { isAllZero } from "../bytes";
import { InvalidArgumentError } from "../errors";
import type { BackupSession, DiskBlock, DiskWriteStats } from "../repository/backup-session";

export type DiskReadPlan = { kind: "full"; areas: readonly DiskArea[] | "all" } | { kind: "incremental"; areas: readonly DiskArea[] };

export interface DiskProgress {
  diskId: string;
  /** Bytes that will be read in all (the planned blocks). */
  bytesToRead: number;
  bytesRead: number;
  /**
   * Bytes handed to the repository so far (non-zero blocks, before dedupe and compression); the
   * final report carries what the repository actually stored.
   */
  bytesTransferred: number;
  zeroBlocks: number;
  /** Read rate since the disk started, bytes per second. */
  rate: number;
  elapsedMs: number;
  done: boolean;
}

export interface BackupDiskOptions {
  session: BackupSession;
  diskId: string;
  reader: DiskReader;
  /** The repository's block size (repository.config.blockSize). */
  blockSize: number;
  plan: DiskReadPlan;
  /** Kept with the disk in the point (storage policy, disk key id — BKP-4). */
  attributes?: Record<string, unknown>;
  onProgress?: (p: DiskProgress) => void;
  /** Minimum time between progress reports (the last one always comes); default 500 ms. */
  progressIntervalMs?: number;
  now?: () => number;
  signal?: AbortSignal;
  /** Reads in flight ahead of the block being stored (default READ_AHEAD). */
  readAhead?: number;
}

/** Blocks read ahead of the one being stored: what bench:transports keeps in flight. */
export const READ_AHEAD = 4;

export interface DiskBackupResult {
  diskId: string;
  incremental: boolean;
  blocksRead: number;
  bytesRead: number;
  zeroBlocks: number;
  /** Bytes the repository stored for this disk (after dedupe, compression, encryption). */
  bytesTransferred: number;
  durationMs: number;
  stats: DiskWriteStats;
}

/** Sorted, distinct block indexes that cover `areas` (clamped to the capacity). */
export function blocksOfAreas(areas: readonly DiskArea[] | "all", capacity: number, blockSize: number): number[] {
  const count = Math.ceil(capacity / blockSize);
  if (areas === "all") return Array.from({ length: count }, (_, i) => i);
  const set = new Set<number>();
  for (const a of areas) {
    if (a.length <= 0) continue;
    const first = Math.floor(a.start / blockSize);
    const last = Math.min(count - 1, Math.floor((a.start + a.length - 1) / blockSize));
    for (let i = first; i <= last; i++) set.add(i);
  }
  return [...set].sort((x, y) => x - y);
}

export async function backupDisk(o: BackupDiskOptions): Promise<DiskBackupResult> {
  const { reader, blockSize, diskId } = o;
  if (!Number.isInteger(blockSize) || blockSize <= 0 || blockSize % 512 !== 0) throw new InvalidArgumentError("block size must be a positive multiple of 512");
  const capacity = reader.capacityBytes;
  const incremental = o.plan.kind === "incremental";
  const indexes = blocksOfAreas(o.plan.areas, capacity, blockSize);
  const lengthOf = (i: number) => Math.min(blockSize, capacity - i * blockSize);
  const now = o.now ?? Date.now;
  const started = now();
  const interval = o.progressIntervalMs ?? 500;
  const bytesToRead = indexes.reduce((s, i) => s + lengthOf(i), 0);
  let bytesRead = 0;
  let bytesTransferred = 0;
  let zeroBlocks = 0;
  let lastReport = -Infinity;
  const report = (done: boolean) => {
    if (!o.onProgress) return;
    const t = now();
    if (!done && t - lastReport < interval) return;
    lastReport = t;
    const elapsedMs = t - started;
    o.onProgress({ diskId, bytesToRead, bytesRead, bytesTransferred, zeroBlocks, rate: elapsedMs > 0 ? (bytesRead * 1000) / elapsedMs : 0, elapsedMs, done });
  };

  // depth + 1 buffers: `depth` reads in flight ahead of the block the session is taking (a
  // transport answers several requests at once, as bench:transports reads them), and that one.
  const depth = Math.max(1, Math.min(16, o.readAhead ?? READ_AHEAD));
  const buffers = Array.from({ length: depth + 1 }, () => Buffer.allocUnsafe(blockSize));
  const zero = Buffer.alloc(blockSize);
  const view = (buf: Buffer, length: number) => (length === blockSize ? buf : buf.subarray(0, length));
  const readBlock = (k: number): Promise<Buffer> => {
    const i = indexes[k];
    const target = view(buffers[k % buffers.length], lengthOf(i));
    // A short last block: read whole sectors into the buffer (capacities are sector multiples).
    const read = reader.readInto(i * blockSize, target).then(() => target);
    read.catch(() => undefined); // surfaced when awaited; not an unhandled rejection meanwhile
    return read;
  };

  async function* blocks(): AsyncGenerator<DiskBlock> {
    // Block k's buffer is free again once the session asks for block k + 1 (it copies a block
    // before it asks for the next), so block k + depth + 1 may be read into it from then on.
    const pending: Array<Promise<Buffer>> = [];
    let next = 0;
    const fill = () => {
      while (next < indexes.length && pending.length < depth) pending.push(readBlock(next++));
    };
    fill();
    for (let k = 0; k < indexes.length; k++) {
      o.signal?.throwIfAborted();
      const data = await pending.shift()!;
      fill();
      bytesRead += data.length;
      if (isAllZero(data)) {
        zeroBlocks++;
        if (incremental) yield { index: indexes[k], data: view(zero, data.length) };
      } else {
        bytesTransferred += data.length;
        yield { index: indexes[k], data };
      }
      report(false);
    }
  }

  const stats = await o.session.writeDisk(diskId, { capacity, blocks: blocks(), inherit: incremental, attributes: o.attributes, bytesHint: bytesToRead });
  bytesTransferred = stats.bytesStored;
  report(true);
  return { diskId, incremental, blocksRead: indexes.length, bytesRead, zeroBlocks, bytesTransferred, durationMs: now() - started, stats };
}
