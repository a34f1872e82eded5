// How bytes cross the platform boundary: a disk opened for reading (a snapshot, for backup) or for
// writing (a restored or replicated disk), through a transport mode. Owned by the interface; the
// lab's data plane and transports implement them, the engine uses them.

import type { TransportMode } from "./connector";

/** Bytes per sector: offsets and lengths of disk I/O are multiples of it. */
export const SECTOR_SIZE = 512;

/** One changed area, as VADP's QueryChangedDiskAreas returns them. */
export interface DiskArea {
  start: number; // bytes
  length: number; // bytes
}

/** A read-only view of a disk at a point in time (a snapshot), in cleartext or raw. */
export interface DiskReader {
  readonly capacityBytes: number;
  /** Reads `length` bytes at `offset` (both multiples of SECTOR_SIZE) into a new Buffer. */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * Fills `target` (its length a multiple of SECTOR_SIZE) from `offset`, allocating nothing:
   * the engine's hot path, with buffers from its own pool. Same errors as read().
   */
  readInto(offset: number, target: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** A DiskReader that says how it reads, for the session log (BKP-5). */
export interface TransportReader extends DiskReader {
  readonly mode: TransportMode;
}

/**
 * A disk opened for writing cleartext (VDDK's VixDiskLib_Write): the host encrypts it if the disk
 * is encrypted. Writes may be issued concurrently at different offsets. `close()` flushes; until it
 * resolves nothing written is guaranteed durable. `abort()` closes without the promise.
 */
export interface DiskWriter {
  readonly capacityBytes: number;
  readonly mode: TransportMode;
  /** Writes `data` at `offset` (both multiples of SECTOR_SIZE). */
  write(offset: number, data: Buffer): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}
