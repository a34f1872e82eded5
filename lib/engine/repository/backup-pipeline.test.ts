// The pipelined backup session (codec on worker threads, packs assembled out of order, written a
// few at a time): the same points as the one-by-one writer, nonces unique across every lane, the
// reader held back when the store stalls, failures surfacing with every thread ended, and the
// pipelined restore reader refusing damage with the same reasons as readBlock.
import { describe, expect, it } from "vitest";
import { idHex, seededRandom } from "../bytes";
import { BlockDamagedError, StoreIoError } from "../errors";
import { SIZES } from "../format-registry";
import { KeyRing } from "../keys/key-ring";
import { BLOCK, compressible, noise, readImage, TestClock, weakPasswordKey } from "../testing/engine-fixtures";
import type { BeginPointOptions, DiskBlock } from "./backup-session";
import { FaultyStore } from "./faulty-store";
import { MemoryStore } from "./memory-store";
import { decodePackTableFromFile } from "./pack";
import { createRepository, type Repository } from "./repository";

/** 40 blocks: zeros, random, compressible, duplicates (also of a block still being sealed), a short last one. */
function mixedDisk(seed: string) {
  const count = 40;
  const capacity = count * BLOCK - 1000;
  const blocks: DiskBlock[] = [];
  for (let i = 0; i < count; i++) {
    const length = Math.min(BLOCK, capacity - i * BLOCK);
    const k = i % 5;
    const data =
      k === 0 ? Buffer.alloc(length) : k === 1 ? noise(`${seed}-${i}`, length) : k === 2 ? compressible(`${seed}-${i}`, length) : k === 3 ? noise(`${seed}-${i - 2}`, length) : noise(`${seed}-x${i % 3}`, length);
    blocks.push({ index: i, data });
  }
  const image = Buffer.concat(blocks.map((b) => Buffer.from(b.data)));
  return { capacity, blocks, image };
}

const sharedPassword = weakPasswordKey();

async function twoPoints(workers: BeginPointOptions["workers"], store = new MemoryStore()) {
  const clock = new TestClock();
  const repo = await createRepository(store, { blockSize: BLOCK, packTargetSize: 5 * BLOCK, now: clock.now, random: seededRandom(`pipeline`) });
  const password = await sharedPassword;
  const disk = mixedDisk("p");
  let s = await repo.beginPoint({ protection: { password }, workers, workerThreads: 2, writerId: 3 });
  await s.writeDisk("scsi0:0", { capacity: disk.capacity, blocks: disk.blocks });
  const jobs1 = s.codecJobs;
  const first = await s.commit();
  clock.advance(60_000);
  s = await repo.beginPoint({ chainId: first.chainId, protection: { password }, workers, workerThreads: 2, writerId: 3 });
  const changed = [
    { index: 3, data: noise("new-3", BLOCK) },
    { index: 5, data: Buffer.alloc(BLOCK) },
    { index: 7, data: noise("p-1", BLOCK) }, // already stored by the first point
  ];
  await s.writeDisk("scsi0:0", { capacity: disk.capacity, blocks: changed, inherit: true });
  const second = await s.commit();
  const image2 = Buffer.from(disk.image);
  for (const c of changed) c.data.copy(image2, c.index * BLOCK);
  return { repo, store, password, first, second, disk, image2, jobs1 };
}

/** Every record nonce in the repository's packs, by session key. */
function nonces(store: MemoryStore): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  for (const [name, pack] of store.files) {
    if (!name.startsWith("packs/")) continue;
    for (const e of decodePackTableFromFile(name, pack).entries) {
      const key = idHex(e.sessionKeyId);
      out.set(key, [...(out.get(key) ?? []), pack.subarray(e.offset, e.offset + SIZES.gcmNonce)]);
    }
  }
  return out;
}

// Threads start in ~0.3 s on an idle machine, much slower on a busy one: generous timeouts.
describe("pipelined backup session", { timeout: 30_000 }, () => {
  it("writes through worker threads the same points as the inline writer, and they restore bit for bit", async () => {
    const inline = await twoPoints("off");
    const threaded = await twoPoints("on");
    expect(inline.jobs1.threads).toBe(0);
    expect(threaded.jobs1.inline).toBe(0);
    expect(threaded.jobs1.threads).toBeGreaterThan(0);
    // Same decisions in the same order: same pack/entry layout, same stats, same point files (the
    // point maps and keys do not depend on the nonces, which differ by lane).
    expect(threaded.first.disks).toEqual(inline.first.disks);
    expect(threaded.second.disks).toEqual(inline.second.disks);
    const names = (s: MemoryStore) => [...s.files.keys()].sort();
    expect(names(threaded.store)).toEqual(names(inline.store));
    for (const name of names(inline.store).filter((n) => n.startsWith("points/"))) expect(threaded.store.files.get(name)).toEqual(inline.store.files.get(name));
    for (const { repo, password, first, second, disk, image2 } of [inline, threaded]) {
      const ring = new KeyRing().addPasswordKey(password);
      expect((await readImage(repo, first.pointId, ring)).equals(disk.image)).toBe(true);
      expect((await readImage(repo, second.pointId, ring)).equals(image2)).toBe(true);
      expect((await repo.verify({ keyRing: ring })).ok).toBe(true);
    }
  });

  it("never reuses a nonce: each lane has its own fixed field (writerId × 256 + lane)", async () => {
    const { store } = await twoPoints("on");
    const bySession = nonces(store);
    expect(bySession.size).toBe(2); // two sessions, two session keys
    for (const all of bySession.values()) {
      expect(new Set(all.map((n) => n.toString("hex"))).size).toBe(all.length);
      for (const n of all) expect([3 * 256 + 1, 3 * 256 + 2]).toContain(n.readUInt32BE(0));
    }
    // The inline writer keeps the single fixed field it always had (lane 0).
    const inline = await twoPoints("off");
    expect(new Set([...nonces(inline.store).values()].flat().map((n) => n.readUInt32BE(0)))).toEqual(new Set([3 * 256]));
  });

  it("holds the reader back while the store cannot keep up (bounded memory)", async () => {
    const store = new MemoryStore();
    let gate: () => void = () => undefined;
    const opened = new Promise<void>((r) => (gate = r));
    let packPuts = 0;
    const slow = Object.assign(Object.create(store) as MemoryStore, {
      put: async (name: string, data: Uint8Array | readonly Uint8Array[]) => {
        if (name.startsWith("packs/")) {
          packPuts++;
          await opened;
        }
        return store.put(name, data);
      },
    });
    const repo: Repository = await createRepository(slow, { blockSize: BLOCK, packTargetSize: 2 * BLOCK });
    const password = await weakPasswordKey();
    const session = await repo.beginPoint({ protection: { password }, workers: "on", workerThreads: 1 });
    let pulled = 0;
    const total = 400;
    function* blocks(): Generator<DiskBlock> {
      for (let i = 0; i < total; i++) {
        pulled++;
        yield { index: i, data: noise(`bp-${i}`, BLOCK) };
      }
    }
    const writing = session.writeDisk("d", { capacity: total * BLOCK, blocks: blocks() });
    while (packPuts === 0) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300)); // time to run ahead, if it could
    // Pack buffers (at most 4 packs of 2 blocks) and codec slots (2 × 1 + 2) bound what is read ahead.
    expect(pulled).toBeLessThanOrEqual(4 * 2 + 4 + 2);
    gate();
    await writing;
    const c = await session.commit();
    expect(pulled).toBe(total);
    expect(c.disks[0].storedBlocks).toBe(total);
  });

  it("fails on a pack write error with every thread ended, leaves no point, and the next run succeeds", async () => {
    const memory = new MemoryStore();
    const store = new FaultyStore(memory).addFault({ op: "put", match: /^packs\//, nth: 3, fault: { kind: "io-error-after-bytes", bytes: 10 } });
    const repo = await createRepository(store, { blockSize: BLOCK, packTargetSize: 2 * BLOCK });
    const password = await weakPasswordKey();
    const disk = mixedDisk("f");
    const session = await repo.beginPoint({ protection: { password }, workers: "on", workerThreads: 2 });
    const outcome = await session
      .writeDisk("d", { capacity: disk.capacity, blocks: disk.blocks })
      .then(() => session.commit())
      .then(
        () => "committed",
        (e: unknown) => e,
      );
    expect(outcome).toBeInstanceOf(StoreIoError);
    await session.abort();
    expect(session.codecJobs.threadCount).toBe(2);
    expect((session as unknown as { codec: { liveThreads: number } }).codec.liveThreads).toBe(0);
    expect((await repo.listPoints()).points).toEqual([]);
    store.clearFaults();
    const again = await repo.beginPoint({ protection: { password }, workers: "on", workerThreads: 2 });
    await again.writeDisk("d", { capacity: disk.capacity, blocks: disk.blocks });
    const ok = await again.commit();
    expect((await readImage(repo, ok.pointId, new KeyRing().addPasswordKey(password), "d")).equals(disk.image)).toBe(true);
  });
});

describe("pipelined restore reader", { timeout: 30_000 }, () => {
  it("reads every block through the threads like readBlock, and names damage with the same reason", async () => {
    const { repo, store, password, first, disk } = await twoPoints("off");
    const ring = new KeyRing().addPasswordKey(password);
    const point = await repo.readPoint(first.pointId, ring);
    const indexes = Array.from({ length: disk.blocks.length }, (_, i) => i);
    const parts: Buffer[] = [];
    for await (const b of point.readBlocks("scsi0:0", indexes, { workers: "on", workerThreads: 2 })) parts.push(Buffer.from(b.data));
    expect(Buffer.concat(parts).equals(disk.image)).toBe(true);

    // Flip one bit inside block 2's record: both readers refuse it, naming block 2.
    const e = point.blockMap("scsi0:0").get(2);
    if (e?.kind !== "data") throw new Error("block 2 is data");
    const file = `packs/${e.packId.slice(0, 2)}/${e.packId}`;
    const pe = decodePackTableFromFile(file, store.files.get(file)!).entries[e.entryIndex];
    store.files.get(file)![pe.offset + 20] ^= 1;
    const viaReadBlock = await point.readBlock("scsi0:0", 2).catch((x: unknown) => x);
    const viaPipeline = await (async () => {
      for await (const b of point.readBlocks("scsi0:0", indexes, { workers: "on", workerThreads: 2 })) void b;
    })().catch((x: unknown) => x);
    for (const err of [viaReadBlock, viaPipeline]) {
      expect(err).toBeInstanceOf(BlockDamagedError);
      expect(err).toMatchObject({ blockIndex: 2, reason: "record-hash" });
    }
  });
});
