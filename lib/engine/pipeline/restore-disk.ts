// A restore point's disk → a raw disk image file (RST-7's disk export, and the data a full VM
// restore writes). The file is sparse: it is sized to the disk's capacity with ftruncate and only
// data blocks are written, so zero blocks and never-written blocks stay holes. Every block is
// authenticated and hash-checked by OpenPoint.readBlock (a damaged block fails the restore and is
// named: BlockDamagedError). The file is written to `<file>.partial` and renamed when complete, so
// an interrupted restore never leaves a plausible-looking image.
//
// Blocks come from OpenPoint.readBlocks: records are read ahead and opened (authenticated,
// decompressed, hash-checked) on worker threads for large disks while this thread writes. A
// record that dedupe stored once for several blocks is opened once and written to each of them. Whole,
// page-aligned blocks are written with direct I/O where the filesystem allows it (no copy into the
// page cache, nothing left to flush at the final fsync); anything else goes through the cache.
// Up to `inFlight` blocks are written at once (each copied into its own aligned buffer), so the
// reader never waits for a write; a failed write fails the restore with the block named.

import { constants } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { NotFoundError } from "../errors";
import { allocateShared, IO_ALIGNMENT } from "../repository/aligned-memory";
import type { OpenPoint } from "../repository/open-point";
import { blockLength } from "../repository/open-point";
import type { BlockEntry } from "../repository/point-file";
import type { DiskWriter } from "../../platform/disk-io";

export interface RestoreProgress {
  diskId: string;
  bytesTotal: number;
  /** Bytes of the disk done (data written + holes skipped). */
  bytesDone: number;
  bytesWritten: number;
  rate: number;
  done: boolean;
}

export interface RestoreDiskOptions {
  point: OpenPoint;
  diskId: string;
  file: string;
  onProgress?: (p: RestoreProgress) => void;
  progressIntervalMs?: number;
  now?: () => number;
  signal?: AbortSignal;
  /** Worker threads for opening blocks (OpenPoint.readBlocks): "auto" (default), "off", "on". */
  workers?: "auto" | "off" | "on";
  /** Blocks being written at once (default 4), each from its own page-aligned buffer. */
  inFlight?: number;
}

export interface RestoreDiskResult {
  diskId: string;
  file: string;
  capacity: number;
  dataBlocks: number;
  bytesWritten: number;
  durationMs: number;
}

export async function restoreDiskToFile(o: RestoreDiskOptions): Promise<RestoreDiskResult> {
  const info = o.point.disks.find((d) => d.diskId === o.diskId);
  if (!info) throw new NotFoundError(`disk ${o.diskId} in restore point ${o.point.pointId}`);
  const { blockSize } = o.point;
  const now = o.now ?? Date.now;
  const started = now();
  const interval = o.progressIntervalMs ?? 500;
  const { first, copies, dataBlocks } = dedupePlan(o.point.blockMap(o.diskId));
  const partial = `${o.file}.partial`;
  const handle = await open(partial, "w", 0o600);
  // A second descriptor with O_DIRECT for aligned blocks; none where the filesystem refuses it.
  let direct: FileHandle | undefined = await open(partial, constants.O_WRONLY | constants.O_DIRECT).catch(() => undefined);
  const refused: FileHandle[] = []; // closed at the end: other writes may still be running on it
  let bytesWritten = 0;
  let lastReport = -Infinity;
  const report = (bytesDone: number, done: boolean) => {
    if (!o.onProgress) return;
    const t = now();
    if (!done && t - lastReport < interval) return;
    lastReport = t;
    const ms = t - started;
    o.onProgress({ diskId: o.diskId, bytesTotal: info.capacity, bytesDone, bytesWritten, rate: ms > 0 ? (bytesDone * 1000) / ms : 0, done });
  };
  const writeAt = async (block: Buffer, aligned: boolean, position: number) => {
    const d = direct;
    if (d && aligned && block.length % IO_ALIGNMENT === 0 && position % IO_ALIGNMENT === 0) {
      try {
        await writeFully(d, block, position);
        return;
      } catch (e) {
        if ((e as { code?: string }).code !== "EINVAL") throw e;
        if (direct === d) {
          direct = undefined; // refused after all: the cache for the rest
          refused.push(d);
        }
      }
    }
    await writeFully(handle, block, position);
  };
  // Writes overlap: each block read is copied into one of `limit` page-aligned buffers and written
  // (to every place dedupe put it) while the next blocks are read and written. The copy costs far
  // less than waiting for each write before asking for the next block.
  const limit = Math.max(1, o.inFlight ?? 4);
  const memory = allocateShared(limit * blockSize);
  const free: Buffer[] = [];
  for (let i = 0; i < limit; i++) free.push(memory.buffer.subarray(i * blockSize, (i + 1) * blockSize));
  const running = new Set<Promise<void>>();
  let failure: RestoreWriteError | null = null;
  const submit = (index: number, block: Buffer, positions: number[]) => {
    const buffer = free.pop()!;
    const view = buffer.subarray(0, block.length);
    block.copy(view);
    const w: Promise<void> = Promise.allSettled(positions.map((i) => writeAt(view, memory.aligned, i * blockSize)))
      .then((writes) => {
        const failed = writes.findIndex((x) => x.status === "rejected");
        if (failed >= 0) failure ??= new RestoreWriteError(o.diskId, positions[failed], (writes[failed] as PromiseRejectedResult).reason);
        else {
          bytesWritten += view.length * positions.length;
          report(Math.min(info.capacity, (index + 1) * blockSize), false);
        }
      })
      .finally(() => {
        running.delete(w);
        free.push(buffer);
      });
    running.add(w);
  };
  try {
    await handle.truncate(info.capacity);
    // Each stored record is opened once; a block that dedupe stored once for several places of the
    // disk is written to all of them (side by side) while the codec opens the next records.
    for await (const { index, data: block } of o.point.readBlocks(o.diskId, first, { workers: o.workers })) {
      o.signal?.throwIfAborted();
      while (free.length === 0) await Promise.race(running);
      if (failure) throw failure;
      const places = copies.get(index);
      submit(index, block, places ? [index, ...places] : [index]);
    }
    await Promise.all(running);
    if (failure) throw failure;
    await handle.sync(); // the file's data (both descriptors) and size
    await direct?.close();
    for (const r of refused) await r.close();
    await handle.close();
    await rename(partial, o.file);
  } catch (e) {
    await Promise.allSettled(running);
    await direct?.close().catch(() => undefined);
    for (const r of refused) await r.close().catch(() => undefined);
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw failure ?? e;
  }
  report(info.capacity, true);
  return { diskId: o.diskId, file: o.file, capacity: info.capacity, dataBlocks, bytesWritten, durationMs: now() - started };
}

/** A write of a restored block failed: names the disk and the block (the restore fails with it). */
export class RestoreWriteError extends Error {
  constructor(
    readonly diskId: string,
    readonly blockIndex: number,
    cause: unknown,
  ) {
    super(`writing block ${blockIndex} of disk ${diskId} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "RestoreWriteError";
  }
}

/**
 * The data blocks of a disk map grouped by the record that holds them (pack + entry): `first` the
 * block that reads each record (ascending), `copies` the other blocks with the same record. Dedupe
 * stored a repeated block once; a restore opens it once and writes it to every place.
 */
export function dedupePlan(map: ReadonlyMap<number, BlockEntry>, wanted: (index: number) => boolean = () => true): { first: number[]; copies: Map<number, number[]>; dataBlocks: number } {
  const data = [...map].filter(([i, e]) => e.kind === "data" && wanted(i)).sort((a, b) => a[0] - b[0]);
  const firstOf = new Map<string, number>();
  const first: number[] = [];
  const copies = new Map<number, number[]>();
  for (const [index, e] of data) {
    if (e.kind !== "data") continue;
    const key = `${e.packId}/${e.entryIndex}`;
    const f = firstOf.get(key);
    if (f === undefined) {
      firstOf.set(key, index);
      first.push(index);
    } else {
      const list = copies.get(f);
      if (list) list.push(index);
      else copies.set(f, [index]);
    }
  }
  return { first, copies, dataBlocks: data.length };
}

async function writeFully(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

// ───────────────────────── a restore point's disk → a platform disk ─────────────────────────
// The disk of a restored VM, written through the transport the platform opened (DiskWriter). Blocks
// are opened on worker threads (OpenPoint.readBlocks) while up to `inFlight` writes run at once.
// A new disk already reads as zeros, so zero blocks are skipped; writing over an existing disk
// writes them too. `only` limits the restore to some blocks (a quick rollback).

export interface RestoreToWriterOptions {
  point: OpenPoint;
  diskId: string;
  writer: DiskWriter;
  /** True for a disk just created (all zeros): zero blocks are not written. */
  targetIsEmpty: boolean;
  /** Only these block indexes (quick rollback); every block otherwise. */
  only?: ReadonlySet<number>;
  /** Writes in flight at once (default 8). */
  inFlight?: number;
  onProgress?: (p: RestoreProgress) => void;
  progressIntervalMs?: number;
  now?: () => number;
  signal?: AbortSignal;
  workers?: "auto" | "off" | "on";
}

export interface RestoreToWriterResult {
  diskId: string;
  capacity: number;
  dataBlocks: number;
  zeroBlocksWritten: number;
  bytesWritten: number;
  durationMs: number;
}

export async function restoreDiskToWriter(o: RestoreToWriterOptions): Promise<RestoreToWriterResult> {
  const info = o.point.disks.find((d) => d.diskId === o.diskId);
  if (!info) throw new NotFoundError(`disk ${o.diskId} in restore point ${o.point.pointId}`);
  if (o.writer.capacityBytes < info.capacity) throw new RangeError(`the target disk holds ${o.writer.capacityBytes} bytes, the restore point's disk ${info.capacity}`);
  const { blockSize } = o.point;
  const now = o.now ?? Date.now;
  const started = now();
  const interval = o.progressIntervalMs ?? 500;
  const map = o.point.blockMap(o.diskId);
  const wanted = (i: number) => !o.only || o.only.has(i);
  const { first, copies, dataBlocks } = dedupePlan(map, wanted);
  const zeros: number[] = [];
  if (!o.targetIsEmpty) for (let i = 0; i < info.blockCount; i++) if (map.get(i)?.kind !== "data" && wanted(i)) zeros.push(i);

  const limit = Math.max(1, o.inFlight ?? 8);
  const free: Buffer[] = [];
  const running = new Set<Promise<void>>();
  let failure: unknown = null;
  let bytesWritten = 0;
  let highest = 0;
  let lastReport = -Infinity;
  const report = (done: boolean) => {
    if (!o.onProgress) return;
    const t = now();
    if (!done && t - lastReport < interval) return;
    lastReport = t;
    const ms = t - started;
    const bytesDone = done ? info.capacity : Math.min(info.capacity, highest);
    o.onProgress({ diskId: o.diskId, bytesTotal: info.capacity, bytesDone, bytesWritten, rate: ms > 0 ? (bytesDone * 1000) / ms : 0, done });
  };
  /** A pooled buffer (full block size) and the view of it one block fills. */
  const take = (n: number) => {
    const whole = free.pop() ?? Buffer.allocUnsafe(blockSize);
    return { whole, view: whole.subarray(0, n) };
  };
  const submit = async (index: number, b: { whole: Buffer; view: Buffer }) => {
    while (running.size >= limit) await Promise.race(running);
    if (failure) throw failure;
    const w: Promise<void> = o.writer
      .write(index * blockSize, b.view)
      .then(
        () => {
          bytesWritten += b.view.length;
          highest = Math.max(highest, (index + 1) * blockSize);
          report(false);
        },
        (e: unknown) => {
          failure ??= new RestoreWriteError(o.diskId, index, e);
        },
      )
      .finally(() => {
        running.delete(w);
        free.push(b.whole);
      });
    running.add(w);
  };

  try {
    for await (const { index, data: block } of o.point.readBlocks(o.diskId, first, { workers: o.workers })) {
      o.signal?.throwIfAborted();
      // The reader reuses its buffer for the next block: a write in flight needs its own copy (one
      // per place the record is restored to: a deduplicated block is opened once).
      for (const at of [index, ...(copies.get(index) ?? [])]) {
        const b = take(block.length);
        block.copy(b.view);
        await submit(at, b);
      }
    }
    for (const index of zeros) {
      o.signal?.throwIfAborted();
      const b = take(blockLength(info.capacity, blockSize, index));
      b.view.fill(0);
      await submit(index, b);
    }
    await Promise.all(running);
    if (failure) throw failure;
  } catch (e) {
    await Promise.allSettled(running);
    throw failure ?? e;
  }
  report(true);
  return { diskId: o.diskId, capacity: info.capacity, dataBlocks, zeroBlocksWritten: zeros.length, bytesWritten, durationMs: now() - started };
}

// ───────────────────────── a restore point's disk → a raw image stream ─────────────────────────
// Disk export (RST-7): the disk's bytes in order, every block (zero blocks and never-written ones as
// zeros), for a download. Each chunk is the caller's until it asks for the next one.

export async function* diskImageChunks(point: OpenPoint, diskId: string, o: { signal?: AbortSignal; workers?: "auto" | "off" | "on" } = {}): AsyncGenerator<Buffer> {
  const info = point.disks.find((d) => d.diskId === diskId);
  if (!info) throw new NotFoundError(`disk ${diskId} in restore point ${point.pointId}`);
  const { blockSize } = point;
  const map = point.blockMap(diskId);
  const data = [...map].filter(([, e]) => e.kind === "data").map(([i]) => i).sort((a, b) => a - b);
  const zeros = Buffer.alloc(blockSize);
  let next = 0; // the next block index to emit
  const zerosUpTo = function* (end: number) {
    for (; next < end; next++) yield zeros.subarray(0, blockLength(info.capacity, blockSize, next));
  };
  for await (const { index, data: block } of point.readBlocks(diskId, data, { workers: o.workers })) {
    o.signal?.throwIfAborted();
    yield* zerosUpTo(index);
    yield block;
    next = index + 1;
  }
  yield* zerosUpTo(info.blockCount);
}
