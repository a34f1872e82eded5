// Repository locks (FORMAT.md "locks/<lockId>"), restic-style: backups hold shared locks,
// retention an exclusive one. Write first, then look: whoever sees a conflicting lock after writing
// its own withdraws, so two conflicting holders can never both proceed. Expired locks (a crashed
// process) are ignored and removed by the next exclusive locker.

import { ByteReader, ByteWriter, idFromHex, idHex, newId, verifyChecksum, type RandomSource } from "../bytes";
import { EngineError, RepositoryLockedError } from "../errors";
import { FORMAT_VERSION, LockKind, MAGIC } from "../format-registry";
import type { RepositoryStore } from "./store";

export interface LockInfo {
  lockId: Buffer;
  kind: "shared" | "exclusive";
  createdAt: number;
  expiresAt: number;
  owner: string;
}

export const DEFAULT_LOCK_TTL_MS = 6 * 60 * 60 * 1000;

function lockName(lockId: Buffer): string {
  return `locks/${idHex(lockId)}`;
}

function encodeLock(l: LockInfo): Buffer {
  return new ByteWriter()
    .ascii(MAGIC.lock)
    .u16(FORMAT_VERSION.lock)
    .u8(l.kind === "shared" ? LockKind.shared : LockKind.exclusive)
    .id(l.lockId)
    .u64(l.createdAt)
    .u64(l.expiresAt)
    .str16(l.owner.slice(0, 200))
    .finishWithChecksum();
}

function decodeLock(file: string, data: Buffer): LockInfo {
  const r = new ByteReader(verifyChecksum(file, data), file);
  r.header(MAGIC.lock, FORMAT_VERSION.lock);
  const kind = r.u8() === LockKind.exclusive ? "exclusive" : "shared";
  const l: LockInfo = { kind, lockId: r.id(), createdAt: r.u64(), expiresAt: r.u64(), owner: r.str16() };
  r.expectEnd();
  return l;
}

export async function readLocks(store: RepositoryStore): Promise<Array<LockInfo | { file: string; damaged: true }>> {
  const out: Array<LockInfo | { file: string; damaged: true }> = [];
  for (const file of await store.list("locks/")) {
    try {
      out.push(decodeLock(file, await store.get(file)));
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      // Unreadable lock (damaged; puts are atomic so never half-written): treated as held by
      // exclusive lockers until an administrator removes it — safer than guessing it is stale.
      out.push({ file, damaged: true });
    }
  }
  return out;
}

export class RepositoryLock {
  private constructor(
    private readonly store: RepositoryStore,
    private info: LockInfo,
    private readonly ttlMs: number,
  ) {}

  get id(): string {
    return idHex(this.info.lockId);
  }

  static async acquire(
    store: RepositoryStore,
    kind: LockInfo["kind"],
    options: { owner: string; now: number; ttlMs?: number; random: RandomSource },
  ): Promise<RepositoryLock> {
    const ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
    const info: LockInfo = { lockId: newId(options.random), kind, createdAt: options.now, expiresAt: options.now + ttlMs, owner: options.owner };
    await store.put(lockName(info.lockId), encodeLock(info));
    const conflicts: string[] = [];
    for (const other of await readLocks(store)) {
      if ("damaged" in other) {
        if (kind === "exclusive") conflicts.push(other.file);
        continue;
      }
      if (other.lockId.equals(info.lockId)) continue;
      if (other.expiresAt <= options.now) {
        if (kind === "exclusive") await store.delete(lockName(other.lockId));
        continue;
      }
      if (kind === "exclusive" || other.kind === "exclusive") conflicts.push(`${other.kind} lock ${idHex(other.lockId)} (${other.owner})`);
    }
    if (conflicts.length) {
      await store.delete(lockName(info.lockId)).catch(() => undefined);
      throw new RepositoryLockedError(conflicts);
    }
    return new RepositoryLock(store, info, ttlMs);
  }

  /** Pushes the expiry forward; long sessions call this as they write packs. */
  async refresh(now: number): Promise<void> {
    if (now - (this.info.expiresAt - this.ttlMs) < this.ttlMs / 4) return;
    this.info = { ...this.info, expiresAt: now + this.ttlMs };
    await this.store.put(lockName(this.info.lockId), encodeLock(this.info));
  }

  async release(): Promise<void> {
    await this.store.delete(lockName(this.info.lockId));
  }
}

export function lockIdFromName(name: string): Buffer {
  return idFromHex(name.slice("locks/".length), name);
}
