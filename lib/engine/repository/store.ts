// The repository store: the only I/O the repository code does. A filesystem folder in production
// (FilesystemStore), a Map in tests (MemoryStore), and FaultyStore around either to inject
// interruptions. All three pass the one contract suite in testing/store-contract.ts.

import { InvalidArgumentError } from "../errors";

export interface RepositoryStore {
  /**
   * Creates or replaces `name` atomically: temp file, fsync, rename, folder fsync. A reader sees
   * the old content or the new, never a part; after a crash at most a temporary is left behind.
   * The store keeps no reference to `data` once put resolves (callers reuse their buffers).
   */
  put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /**
   * Optional fast path of put for one contiguous buffer that starts page-aligned in memory
   * (aligned-memory.ts): same atomicity and durability, but the store may write it with direct
   * I/O, bypassing the page cache (packs are written once and not read back soon). Callers use
   * put when a store does not have it.
   */
  putAligned?(name: string, data: Buffer): Promise<void>;
  /** The whole file. NotFoundError when it does not exist. */
  get(name: string): Promise<Buffer>;
  /** Up to `length` bytes from `offset` (fewer at end of file). NotFoundError when missing. */
  getRange(name: string, offset: number, length: number): Promise<Buffer>;
  /**
   * Optional fast path of getRange for restore: reads up to `target.length` bytes from `offset`
   * into `target` (allocating nothing) and returns how many were read. Callers fall back to
   * getRange when a store does not have it (fault twins, object stores).
   */
  getRangeInto?(name: string, offset: number, target: Uint8Array): Promise<number>;
  /**
   * Optional fast path of getRangeInto for a run of many range reads (a restore): a reader keeps
   * the files it reads open until it is closed, instead of open/read/close per record. Its reads
   * behave as getRangeInto's (NotFoundError for a missing file). The caller must close it.
   */
  openRangeReader?(): RangeReader;
  /** Size in bytes, or undefined when the file does not exist. */
  size(name: string): Promise<number | undefined>;
  /** Complete files whose name starts with `prefix`, sorted; never temporaries. */
  list(prefix: string): Promise<string[]>;
  /** Temporaries left by interrupted puts (to be removed by maintenance). */
  listTemporary(): Promise<string[]>;
  /** Removes a file or a temporary; removing a missing file is not an error. */
  delete(name: string): Promise<void>;
}

/** Range reads that keep their files open (RepositoryStore.openRangeReader). */
export interface RangeReader {
  /** As RepositoryStore.getRangeInto. */
  readInto(name: string, offset: number, target: Uint8Array): Promise<number>;
  /** Closes every file the reader opened; reads after close fail. Idempotent. */
  close(): Promise<void>;
}

const SEGMENT = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const TEMP_SUFFIX = /\.tmp-[0-9a-f]{8,32}$/;

/** Repository file names are short lowercase relative paths: no "..", no absolute paths. */
export function assertValidName(name: string, { allowTemporary = false } = {}): void {
  const segments = name.split("/");
  const ok =
    segments.length <= 4 &&
    segments.every((s) => SEGMENT.test(s) && s !== "." && s !== ".." && !s.includes("..")) &&
    (allowTemporary || !TEMP_SUFFIX.test(name));
  if (!ok) throw new InvalidArgumentError(`invalid repository file name: ${JSON.stringify(name).slice(0, 80)}`);
}

export function isTemporaryName(name: string): boolean {
  return TEMP_SUFFIX.test(name);
}

export function temporaryNameFor(name: string, random: string): string {
  return `${name}.tmp-${random}`;
}

export function chunksOf(data: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
  return data instanceof Uint8Array ? [data] : [...data];
}

export function totalLength(chunks: readonly Uint8Array[]): number {
  return chunks.reduce((n, c) => n + c.byteLength, 0);
}
