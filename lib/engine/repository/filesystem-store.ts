// The repository store on a local (or mounted) filesystem folder. Atomic put is the classic
// sequence: write a temporary beside the target, fsync it, rename it over the target, fsync the
// folder so the rename itself survives a power cut. A folder created on the way is fsynced into
// its parent too. Any OS error becomes StoreIoError with its errno (ENOSPC, EIO…), never a path
// outside the repository.

import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { NotFoundError, RepositoryFullError, StoreIoError } from "../errors";
import { IO_ALIGNMENT } from "./aligned-memory";
import { assertValidName, chunksOf, isTemporaryName, temporaryNameFor, totalLength, type RangeReader, type RepositoryStore } from "./store";

/** Files a RangeReader keeps open at most; the least recently used idle one is closed first. */
export const RANGE_READER_OPEN_FILES = 32;

export class FilesystemStore implements RepositoryStore {
  /** False once the filesystem refused O_DIRECT (tmpfs, some network filesystems): puts go through the cache. */
  private directIo = true;

  constructor(readonly root: string) {}

  /**
   * put for a page-aligned buffer: the aligned bulk is written with O_DIRECT (no copy into the page
   * cache, no dirty pages to flush at fsync), the tail of less than 4 KiB through the cache; then
   * fsync, rename and folder fsync as in put. Falls back to put where direct I/O is refused.
   */
  async putAligned(name: string, data: Buffer): Promise<void> {
    assertValidName(name);
    const bulk = Math.floor(data.length / IO_ALIGNMENT) * IO_ALIGNMENT;
    if (!this.directIo || bulk === 0) return this.put(name, data);
    const target = this.pathOf(name);
    const dir = path.dirname(target);
    const temp = temporaryNameFor(target, randomBytes(8).toString("hex"));
    let direct;
    try {
      await this.ensureDir(dir);
      direct = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, 0o640);
    } catch (e) {
      if (errno(e) !== "EINVAL") throw new StoreIoError("put", name, errno(e), { cause: e });
      this.directIo = false;
      return this.put(name, data);
    }
    let fallback = false;
    await this.io("put", name, async () => {
      try {
        try {
          await writeFully(direct, data, 0, bulk);
        } catch (e) {
          if (errno(e) !== "EINVAL") throw e;
          fallback = true; // the buffer was not aligned after all
          return;
        }
        if (data.length > bulk) {
          const buffered = await open(temp, "r+");
          try {
            await writeFully(buffered, data, bulk, data.length - bulk);
          } finally {
            await buffered.close();
          }
        }
        await direct.sync();
      } finally {
        await direct.close();
      }
      if (fallback) return;
      await rename(temp, target);
      await fsyncDir(dir);
    }, data.length).catch(async (e) => {
      await rm(temp, { force: true }).catch(() => undefined);
      throw e;
    });
    if (fallback) {
      await rm(temp, { force: true });
      await this.put(name, data);
    }
  }

  async put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    assertValidName(name);
    const target = this.pathOf(name);
    const dir = path.dirname(target);
    const temp = temporaryNameFor(target, randomBytes(8).toString("hex"));
    await this.io("put", name, async () => {
      await this.ensureDir(dir);
      const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o640);
      try {
        await writevFully(fh, chunksOf(data));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, target);
      await fsyncDir(dir);
    }, totalLength(chunksOf(data))).catch(async (e) => {
      await rm(temp, { force: true }).catch(() => undefined);
      throw e;
    });
  }

  async get(name: string): Promise<Buffer> {
    assertValidName(name);
    return this.io("get", name, () => readFile(this.pathOf(name)));
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertValidName(name);
    return this.io("read", name, async () => {
      const fh = await open(this.pathOf(name), "r");
      try {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    });
  }

  async getRangeInto(name: string, offset: number, target: Uint8Array): Promise<number> {
    assertValidName(name);
    return this.io("read", name, async () => {
      const fh = await open(this.pathOf(name), "r");
      try {
        let done = 0;
        while (done < target.length) {
          const { bytesRead } = await fh.read(target, done, target.length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done;
      } finally {
        await fh.close();
      }
    });
  }

  /**
   * A reader that keeps each pack it reads open (up to RANGE_READER_OPEN_FILES at once, the least
   * recently used idle one closed first) until it is closed: a restore reads thousands of records
   * from a few dozen packs, and open/close per record costs more than the read from the cache.
   */
  openRangeReader(maxOpen: number = RANGE_READER_OPEN_FILES): FilesystemRangeReader {
    return new FilesystemRangeReader(this, (name) => this.pathOf(name), Math.max(1, maxOpen));
  }

  /** Runs `fn` with this store's error mapping (NotFoundError, StoreIoError with errno). */
  ioFor<T>(operation: string, name: string, fn: () => Promise<T>): Promise<T> {
    return this.io(operation, name, fn);
  }

  async size(name: string): Promise<number | undefined> {
    assertValidName(name);
    try {
      return (await stat(this.pathOf(name))).size;
    } catch (e) {
      if (errno(e) === "ENOENT") return undefined;
      throw new StoreIoError("stat", name, errno(e), { cause: e });
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.walk()).filter((n) => n.startsWith(prefix) && !isTemporaryName(n)).sort();
  }

  async listTemporary(): Promise<string[]> {
    return (await this.walk()).filter(isTemporaryName).sort();
  }

  async delete(name: string): Promise<void> {
    assertValidName(name, { allowTemporary: true });
    const target = this.pathOf(name);
    await this.io("delete", name, () => rm(target, { force: true }));
    await fsyncDir(path.dirname(target)).catch(() => undefined);
  }

  private pathOf(name: string): string {
    return path.join(this.root, ...name.split("/"));
  }

  private async ensureDir(dir: string): Promise<void> {
    const created = await mkdir(dir, { recursive: true });
    // mkdir returns the first folder it created: make every new entry durable in its parent.
    if (created) {
      for (let d = dir; d.length >= created.length; d = path.dirname(d)) await fsyncDir(path.dirname(d));
    }
  }

  private async walk(): Promise<string[]> {
    const out: string[] = [];
    const visit = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path.join(this.root, rel), { withFileTypes: true });
      } catch (e) {
        if (errno(e) === "ENOENT") return;
        throw new StoreIoError("list", rel || ".", errno(e), { cause: e });
      }
      for (const entry of entries) {
        const name = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await visit(name);
        else if (entry.isFile()) out.push(name);
      }
    };
    await visit("");
    return out;
  }

  /** `bytes`: what a write needs; a full disk (ENOSPC) then says how much that was and how much is free. */
  private async io<T>(operation: string, name: string, fn: () => Promise<T>, bytes?: number): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (errno(e) === "ENOENT" && operation !== "put") throw new NotFoundError(name);
      if (errno(e) === "ENOSPC" && bytes !== undefined) {
        const free = await statfs(this.root).then((s) => s.bavail * s.bsize, () => undefined);
        throw new RepositoryFullError(operation, name, bytes, free, { cause: e });
      }
      throw new StoreIoError(operation, name, errno(e), { cause: e });
    }
  }
}

interface OpenFile {
  handle: Promise<FileHandle>;
  /** Reads in progress on it (it is not closed to make room while > 0). */
  users: number;
}

export class FilesystemRangeReader implements RangeReader {
  /** Open files, least recently used first (a use re-inserts). */
  private readonly files = new Map<string, OpenFile>();
  private closed = false;
  /** For tests: how many files it opened and closed. */
  opened = 0;
  closedFiles = 0;

  constructor(
    private readonly store: FilesystemStore,
    private readonly pathOf: (name: string) => string,
    private readonly maxOpen: number,
  ) {}

  async readInto(name: string, offset: number, target: Uint8Array): Promise<number> {
    assertValidName(name);
    if (this.closed) throw new Error("the range reader is closed");
    return this.store.ioFor("read", name, async () => {
      const file = this.acquire(name);
      try {
        const fh = await file.handle;
        let done = 0;
        while (done < target.length) {
          const { bytesRead } = await fh.read(target, done, target.length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done;
      } finally {
        file.users--;
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.files.values()];
    this.files.clear();
    await Promise.all(all.map((f) => this.closeFile(f)));
  }

  private acquire(name: string): OpenFile {
    let file = this.files.get(name);
    if (file) this.files.delete(name); // re-inserted below: now the most recently used
    else {
      this.evictIdle();
      const handle = open(this.pathOf(name), "r");
      file = { handle, users: 0 };
      this.opened++;
      const entry = file;
      // A file that cannot be opened is not kept: the next read tries again (and fails as it should).
      handle.catch(() => {
        if (this.files.get(name) === entry) this.files.delete(name);
      });
    }
    file.users++;
    this.files.set(name, file);
    return file;
  }

  private evictIdle(): void {
    for (const [name, f] of this.files) {
      if (this.files.size < this.maxOpen) return;
      if (f.users > 0) continue;
      this.files.delete(name);
      void this.closeFile(f);
    }
  }

  private async closeFile(f: OpenFile): Promise<void> {
    const fh = await f.handle.catch(() => undefined);
    if (!fh) return;
    await fh.close().catch(() => undefined);
    this.closedFiles++;
  }
}

function errno(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

async function writeFully(fh: FileHandle, data: Buffer, from: number, length: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await fh.write(data, from + done, length - done, from + done);
    done += bytesWritten;
  }
}

/** writev until every byte is written: a short write (a disk filling up) goes on, so ENOSPC surfaces. */
async function writevFully(fh: FileHandle, chunks: Uint8Array[]): Promise<void> {
  const total = totalLength(chunks);
  let { bytesWritten: done } = await fh.writev(chunks);
  if (done === total) return;
  const all = Buffer.concat(chunks);
  while (done < total) {
    const { bytesWritten } = await fh.write(all, done, total - done, done);
    done += bytesWritten;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
