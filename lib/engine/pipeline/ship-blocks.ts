// Moving blocks from a platform disk to another one: the loop replication (replicate-vm.ts) and
// failback (failback-vm.ts) share. A block is read from `reader` into one of a few pooled buffers
// and written to `writer` at the same offset, with up to `inFlight` writes outstanding; all-zero
// blocks are skipped unless `writeZeros` (an incremental copy must write them: they override what
// the target holds; a fresh disk reads zeros already). The first write error stops the loop, as
// does the signal. The caller opens and closes the reader and the writer.

import type { DiskReader, DiskWriter } from "../../platform/disk-io";
import { isAllZero } from "../bytes";

export interface ShipStats {
  bytesRead: number;
  bytesWritten: number;
  blocksWritten: number;
  zeroBlocksSkipped: number;
}

export interface ShipBlocksInput {
  reader: DiskReader;
  writer: DiskWriter;
  /** Block indexes to copy (blocks of `blockSize` from offset 0; the last one may be short). */
  indexes: readonly number[];
  blockSize: number;
  capacityBytes: number;
  writeZeros: boolean;
  /** Writes in flight; at least 1. */
  inFlight: number;
  signal: AbortSignal;
  /** After each block is read (the stats so far): throttle progress reports here. */
  onBlock?: (stats: Readonly<ShipStats>) => void;
}

/** Bytes the blocks of `indexes` cover. */
export function bytesOfBlocks(indexes: readonly number[], blockSize: number, capacityBytes: number): number {
  return indexes.reduce((s, i) => s + Math.min(blockSize, capacityBytes - i * blockSize), 0);
}

export async function shipBlocks(o: ShipBlocksInput): Promise<ShipStats> {
  const { reader, writer, blockSize, capacityBytes, signal } = o;
  const lengthOf = (i: number) => Math.min(blockSize, capacityBytes - i * blockSize);
  const stats: ShipStats = { bytesRead: 0, bytesWritten: 0, blocksWritten: 0, zeroBlocksSkipped: 0 };
  const inFlight = Math.max(1, o.inFlight);
  const free: Buffer[] = Array.from({ length: inFlight + 1 }, () => Buffer.allocUnsafe(blockSize));
  const writes = new Set<Promise<void>>();
  let writeError: unknown = null;
  try {
    for (const i of o.indexes) {
      signal.throwIfAborted();
      if (writeError) throw writeError;
      while (free.length === 0) await Promise.race(writes);
      if (writeError) throw writeError;
      const buffer = free.pop()!;
      const block = lengthOf(i) === blockSize ? buffer : buffer.subarray(0, lengthOf(i));
      await reader.readInto(i * blockSize, block);
      stats.bytesRead += block.length;
      if (!o.writeZeros && isAllZero(block)) {
        stats.zeroBlocksSkipped++;
        free.push(buffer);
      } else {
        const p: Promise<void> = writer
          .write(i * blockSize, block)
          .then(
            () => {
              stats.bytesWritten += block.length;
              stats.blocksWritten++;
            },
            (e: unknown) => {
              writeError ??= e;
            },
          )
          .finally(() => {
            writes.delete(p);
            free.push(buffer);
          });
        writes.add(p);
      }
      o.onBlock?.(stats);
    }
  } finally {
    // Never leave a write running against a writer the caller is about to abort.
    await Promise.allSettled([...writes]);
  }
  if (writeError) throw writeError;
  return stats;
}
