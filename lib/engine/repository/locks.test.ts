// Repository locks: stale locks (a process killed with SIGKILL, an expired lease) are found and
// cleared by the next locker of either kind; a live process's lock is never taken away (BKP-6/8).
import { spawnSync } from "node:child_process";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { ByteWriter, newId, systemRandom } from "../bytes";
import { RepositoryLockedError } from "../errors";
import { LockKind, MAGIC } from "../format-registry";
import { DAY, sampleDisk, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import { decodeLock, encodeLock, RepositoryLock, type LockInfo } from "./locks";
import { MemoryStore } from "./memory-store";

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "0"]);
  return r.pid!;
}

function lockOf(over: Partial<LockInfo>, now: number): LockInfo {
  return { lockId: newId(systemRandom), kind: "exclusive", createdAt: now, expiresAt: now + 6 * 3_600_000, owner: "strongroom/1/retention", host: os.hostname(), pid: deadPid(), ...over };
}

async function plant(store: MemoryStore, l: LockInfo): Promise<string> {
  const name = `locks/${l.lockId.toString("hex")}`;
  await store.put(name, encodeLock(l));
  return name;
}

describe("repository locks", () => {
  it("a killed process's exclusive lock (retention) no longer fails every backup: the next session clears it", async () => {
    const { repo, clock } = await testRepository();
    const store = repo.store as MemoryStore;
    const dead = await plant(store, lockOf({}, clock.now()));
    const password = await weakPasswordKey();
    const s = await repo.beginPoint({ protection: { password } });
    const disk = sampleDisk("locks");
    await s.writeDisk("scsi0:0", { capacity: disk.capacity, blocks: disk.blocks });
    await s.commit();
    expect(await store.list("locks/")).not.toContain(dead);
  });

  it("a killed session's shared lock no longer stops retention; retention reports it cleared", async () => {
    const { repo, clock } = await testRepository();
    const store = repo.store as MemoryStore;
    const pid = deadPid();
    await plant(store, lockOf({ kind: "shared", pid }, clock.now()));
    const report = await repo.applyRetention({ keep: 1 });
    expect(report.clearedLocks).toEqual([{ lock: expect.stringContaining(`process ${pid} on ${os.hostname()}`), reason: "process-gone" }]);
    expect(await store.list("locks/")).toEqual([]);
  });

  it("a live process's lock, and another host's lock within its lease, are kept and still conflict", async () => {
    const { repo, clock } = await testRepository();
    const store = repo.store as MemoryStore;
    const live = await plant(store, lockOf({ kind: "shared", pid: process.ppid }, clock.now()));
    await expect(repo.applyRetention({ keep: 1 })).rejects.toBeInstanceOf(RepositoryLockedError);
    await store.delete(live);
    const remote = await plant(store, lockOf({ kind: "shared", host: "another-host.example", pid: 4242 }, clock.now()));
    await expect(repo.applyRetention({ keep: 1 })).rejects.toThrow(/process 4242 on another-host.example/);
    expect(await store.list("locks/")).toEqual([remote]);
    // Its lease ends: then it is stale.
    clock.advance(DAY);
    const report = await repo.applyRetention({ keep: 1 });
    expect(report.clearedLocks.map((c) => c.reason)).toEqual(["lease-expired"]);
  });

  it("reads version 1 locks (no host, no pid): judged by their lease alone", async () => {
    const store = new MemoryStore();
    const now = Date.now();
    const v1 = new ByteWriter().ascii(MAGIC.lock).u16(1).u8(LockKind.shared).id(newId(systemRandom)).u64(now).u64(now + 1000).str16("old/1").finishWithChecksum();
    await store.put("locks/00112233445566778899aabbccddeeff", v1);
    expect(decodeLock("v1", v1)).toMatchObject({ kind: "shared", owner: "old/1", host: "", pid: 0 });
    const lock = await RepositoryLock.acquire(store, "exclusive", { owner: "t", now: now + 5000, random: systemRandom });
    expect(lock.cleared.map((c) => c.reason)).toEqual(["lease-expired"]);
    await lock.release();
  });
});
