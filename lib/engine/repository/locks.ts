// Repository locks (FORMAT.md "locks/<lockId>"), restic-style: backups hold shared locks,
// retention an exclusive one. Write first, then look: whoever sees a conflicting lock after writing
// its own withdraws, so two conflicting holders can never both proceed.
//
// Stale locks (a process killed with SIGKILL never releases its lock) are cleared by the next
// locker of either kind: a lock whose process is gone — it records host and pid (version 2), and
// on this host a pid that no longer runs is proof — or whose lease has expired (locks of another
// host, and version 1 locks, can only be judged by their lease). A lock of a live process is never
// removed, so clearing cannot let two conflicting holders proceed.

import os from "node:os";
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
  /** Version 2: where the holding process runs, and its pid (0 = unknown). */
  host: string;
  pid: number;
}

export const DEFAULT_LOCK_TTL_MS = 6 * 60 * 60 * 1000;

function lockName(lockId: Buffer): string {
  return `locks/${idHex(lockId)}`;
}

export function encodeLock(l: LockInfo): Buffer {
  return new ByteWriter()
    .ascii(MAGIC.lock)
    .u16(FORMAT_VERSION.lock)
    .u8(l.kind === "shared" ? LockKind.shared : LockKind.exclusive)
    .id(l.lockId)
    .u64(l.createdAt)
    .u64(l.expiresAt)
    .str16(l.owner.slice(0, 200))
    .str16(l.host.slice(0, 255))
    .u32(l.pid)
    .finishWithChecksum();
}

export function decodeLock(file: string, data: Buffer): LockInfo {
  const r = new ByteReader(verifyChecksum(file, data), file);
  const version = r.header(MAGIC.lock, FORMAT_VERSION.lock);
  const kind = r.u8() === LockKind.exclusive ? "exclusive" : "shared";
  const l: LockInfo = { kind, lockId: r.id(), createdAt: r.u64(), expiresAt: r.u64(), owner: r.str16(), host: "", pid: 0 };
  if (version >= 2) {
    l.host = r.str16();
    l.pid = r.u32();
  }
  r.expectEnd();
  return l;
}

/** Whether the process that holds a lock still runs; undefined when that cannot be known from here. */
export type ProcessProbe = (host: string, pid: number) => boolean | undefined;

/** On this host, `kill(pid, 0)`: ESRCH means the process is gone. Another host: unknown. */
export const localProcessProbe: ProcessProbe = (host, pid) => {
  if (!host || !pid || host !== os.hostname()) return undefined;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // it runs, as another user
  }
};

/** Why a lock is stale, or undefined while it may still be held. */
export function staleReason(l: LockInfo, now: number, probe: ProcessProbe = localProcessProbe): "process-gone" | "lease-expired" | undefined {
  if (probe(l.host, l.pid) === false) return "process-gone";
  if (l.expiresAt <= now) return "lease-expired";
  return undefined;
}

export function describeLock(l: LockInfo): string {
  return `${l.kind} lock ${idHex(l.lockId)} (${l.owner}${l.host ? `, process ${l.pid} on ${l.host}` : ""}, since ${new Date(l.createdAt).toISOString()})`;
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

/** A stale lock that a locker removed. */
export interface ClearedLock {
  lock: LockInfo;
  reason: "process-gone" | "lease-expired";
}

export class RepositoryLock {
  private constructor(
    private readonly store: RepositoryStore,
    private info: LockInfo,
    private readonly ttlMs: number,
    /** Stale locks this locker found and removed. */
    readonly cleared: ClearedLock[],
  ) {}

  get id(): string {
    return idHex(this.info.lockId);
  }

  static async acquire(
    store: RepositoryStore,
    kind: LockInfo["kind"],
    options: { owner: string; now: number; ttlMs?: number; random: RandomSource; probe?: ProcessProbe },
  ): Promise<RepositoryLock> {
    const ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
    const info: LockInfo = { lockId: newId(options.random), kind, createdAt: options.now, expiresAt: options.now + ttlMs, owner: options.owner, host: os.hostname(), pid: process.pid };
    await store.put(lockName(info.lockId), encodeLock(info));
    const conflicts: string[] = [];
    const cleared: ClearedLock[] = [];
    for (const other of await readLocks(store)) {
      if ("damaged" in other) {
        if (kind === "exclusive") conflicts.push(other.file);
        continue;
      }
      if (other.lockId.equals(info.lockId)) continue;
      const stale = staleReason(other, options.now, options.probe);
      if (stale) {
        await store.delete(lockName(other.lockId));
        cleared.push({ lock: other, reason: stale });
        continue;
      }
      if (kind === "exclusive" || other.kind === "exclusive") conflicts.push(describeLock(other));
    }
    if (conflicts.length) {
      await store.delete(lockName(info.lockId)).catch(() => undefined);
      throw new RepositoryLockedError(conflicts);
    }
    return new RepositoryLock(store, info, ttlMs, cleared);
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
