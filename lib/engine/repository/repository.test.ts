// Round trips through the repository: write points, read every block back, dedupe, incrementals,
// visibility only after commit, listing without keys (KEY-7, KEY-9). Passwords use small Argon2
// parameters here (the KDF has its own tests).
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, KeysUnavailableError, NotFoundError } from "../errors";
import { KeyRing } from "../keys/key-ring";
import { BLOCK, backupSample, noise, readImage, sampleDisk, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import { MemoryStore } from "./memory-store";
import { createRepository, openRepository } from "./repository";

describe("repository round trip", () => {
  it("writes a point and reads every block back, zeros and a short last block included", async () => {
    const { repo } = await testRepository();
    const password = await weakPasswordKey();
    const committed = await backupSample(repo, { password });
    const ring = new KeyRing().addPassword("correct horse battery staple");
    expect((await readImage(repo, committed.pointId, ring)).equals(committed.disk.image)).toBe(true);

    const point = await repo.readPoint(committed.pointId, ring);
    expect(point.attributes).toEqual({ vm: "vm-42" });
    expect(point.disks).toEqual([
      { diskId: "scsi0:0", capacity: 5 * BLOCK + 1000, attributes: { storagePolicy: "VM Encryption Policy" }, blockCount: 6, dataBlocks: 5, zeroBlocks: 1 },
    ]);
    const map = point.blockMap("scsi0:0");
    expect(map.get(1)).toEqual({ kind: "zero" });
    expect(map.get(3)).toEqual(map.get(0)); // the duplicate is one record
    expect(committed.disks[0]).toMatchObject({ blocksIn: 6, zeroBlocks: 1, dedupedBlocks: 1, storedBlocks: 4 });
  });

  it("makes a point visible only after commit; an aborted session leaves no point", async () => {
    const { repo } = await testRepository();
    const password = await weakPasswordKey();
    const session = await repo.beginPoint({ protection: { password } });
    const disk = sampleDisk("x");
    await session.writeDisk("scsi0:0", { capacity: disk.capacity, blocks: disk.blocks });
    expect((await repo.listPoints()).points).toEqual([]);
    await session.abort();
    expect((await repo.listPoints()).points).toEqual([]);
    await expect(session.commit()).rejects.toThrow(/aborted/);
  });

  it("deduplicates against the parent point and carries unchanged blocks in an incremental", async () => {
    const { repo, clock } = await testRepository();
    const password = await weakPasswordKey();
    const first = await backupSample(repo, { password });
    clock.advance(60_000);
    // CBT says only block 4 changed.
    const session = await repo.beginPoint({ chainId: first.chainId, protection: { password } });
    expect(session.parentPointId).toBe(first.pointId);
    const changed = noise("changed", BLOCK);
    const stats = await session.writeDisk("scsi0:0", { capacity: first.disk.capacity, blocks: [{ index: 4, data: changed }], inherit: true });
    const second = await session.commit();
    expect(stats).toMatchObject({ blocksIn: 1, storedBlocks: 1, inheritedBlocks: 5 });
    // The point needs the first session's key for inherited blocks (KEY-3: several session keys).
    expect(second.sessionKeyIds).toHaveLength(2);
    const ring = new KeyRing().addPasswordKey(password);
    const expected = Buffer.from(first.disk.image);
    changed.copy(expected, 4 * BLOCK);
    expect((await readImage(repo, second.pointId, ring)).equals(expected)).toBe(true);
    expect((await readImage(repo, first.pointId, ring)).equals(first.disk.image)).toBe(true);

    // A full re-read after a CBT reset (BKP-2) deduplicates against the parent: only block 4,
    // back to its first content (not in the parent any more), is stored again.
    const full = await repo.beginPoint({ chainId: first.chainId, protection: { password } });
    const again = await full.writeDisk("scsi0:0", { capacity: first.disk.capacity, blocks: sampleDisk("disk").blocks });
    await full.commit();
    expect(again).toMatchObject({ storedBlocks: 1, dedupedBlocks: 4, zeroBlocks: 1 });
  });

  it("refuses to carry over a block whose length changed when the disk grew, unless it is supplied", async () => {
    const { repo } = await testRepository();
    const password = await weakPasswordKey();
    const first = await backupSample(repo, { password });
    const grown = first.disk.capacity + BLOCK; // the old short last block (5) is now a full block
    const s = await repo.beginPoint({ chainId: first.chainId, protection: { password } });
    await expect(s.writeDisk("scsi0:0", { capacity: grown, blocks: [], inherit: true })).rejects.toThrow(/changed size: supply block 5/);
    await s.abort();
    const s2 = await repo.beginPoint({ chainId: first.chainId, protection: { password } });
    const last = Buffer.alloc(BLOCK);
    Buffer.from(first.disk.blocks[5].data).copy(last);
    await s2.writeDisk("scsi0:0", { capacity: grown, blocks: [{ index: 5, data: last }], inherit: true });
    const second = await s2.commit();
    const image = await readImage(repo, second.pointId, new KeyRing().addPasswordKey(password));
    expect(image.subarray(0, first.disk.capacity).equals(first.disk.image)).toBe(true);
    expect(image.length).toBe(grown);
  });

  it("records the key ids that protect each point and lists them without keys (KEY-7, KEY-9)", async () => {
    const { repo, store } = await testRepository();
    const password = await weakPasswordKey("pw-1", "the first one");
    const committed = await backupSample(repo, { password });
    const reopened = await openRepository(store);
    const { points, unreadable } = await reopened.listPoints();
    expect(unreadable).toEqual([]);
    expect(points).toHaveLength(1);
    expect(points[0].keyIds).toEqual([`password:${password.header.keyId.toString("hex")}`]);
    expect(points[0].passwordHints).toEqual(["the first one"]);
    expect(committed.keyIds).toEqual(points[0].keyIds);
    expect(await reopened.listKeys()).toEqual(points[0].keyIds);
    expect(await reopened.keysNeeded(committed.pointId, new KeyRing())).toEqual(points[0].keyIds);
    await expect(reopened.readPoint(committed.pointId, new KeyRing())).rejects.toBeInstanceOf(KeysUnavailableError);
  });

  it("keeps secrets and plaintext out of the repository files", async () => {
    const { repo, store } = await testRepository();
    const password = await weakPasswordKey("Sup3r-Secret-Pa55");
    const committed = await backupSample(repo, { password });
    const everything = Buffer.concat([...(store as MemoryStore).files.values()]);
    expect(everything.includes(Buffer.from("Sup3r-Secret-Pa55"))).toBe(false);
    expect(everything.includes(password.key.expose())).toBe(false);
    expect(everything.includes(Buffer.from(committed.disk.blocks[0].data).subarray(0, 64))).toBe(false);
    expect(everything.includes(Buffer.from("same sentence again"))).toBe(false);
  });

  it("validates its input", async () => {
    const { repo } = await testRepository();
    const password = await weakPasswordKey();
    await expect(createRepository(repo.store)).rejects.toThrow(/already exists/);
    await expect(openRepository(new MemoryStore())).rejects.toBeInstanceOf(NotFoundError);
    await expect(createRepository(new MemoryStore(), { blockSize: 1000 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(repo.beginPoint({ protection: {} })).rejects.toThrow(/password or a KMS key/);
    const s = await repo.beginPoint({ protection: { password } });
    await expect(s.writeDisk("d", { capacity: BLOCK, blocks: [{ index: 0, data: Buffer.alloc(10) }] })).rejects.toThrow(/must be 4096 bytes/);
    await s.abort();
    const s2 = await repo.beginPoint({ protection: { password } });
    await expect(s2.writeDisk("d", { capacity: BLOCK, blocks: [{ index: 1, data: Buffer.alloc(BLOCK) }] })).rejects.toThrow(/outside disk/);
    await s2.abort();
  });
});

describe("the backup path's reuse of decoded point and index files (one repository object per worker process)", () => {
  it("sees what another process's retention deleted and rewrote: the parent is the newest point, rewritten indexes are read again, and the new point reads back (BKP-6)", async () => {
    const { store, repo: mine, clock } = await testRepository({ packTargetSize: 2 * BLOCK });
    const other = await openRepository(store, { now: clock.now });
    const password = await weakPasswordKey();
    const ring = new KeyRing().addPasswordKey(password);
    const blocks = (seed: string, from: number, to: number) => Array.from({ length: to - from }, (_, k) => ({ index: from + k, data: noise(`${seed}${from + k}`, BLOCK) }));
    const capacity = 8 * BLOCK;

    // Point 1: eight blocks in several packs, under one index file. Point 2: blocks 4–7 changed.
    let session = await mine.beginPoint({ protection: { password } });
    await session.writeDisk("d", { capacity, blocks: blocks("one", 0, 8) });
    const p1 = await session.commit();
    clock.advance(1000);
    session = await mine.beginPoint({ chainId: p1.chainId, protection: { password } });
    expect(session.parentPointId).toBe(p1.pointId);
    await session.writeDisk("d", { capacity, blocks: blocks("two", 4, 8), inherit: true });
    const p2 = await session.commit();
    const indexesBefore = new Map(await Promise.all((await store.list("index/")).map(async (f) => [f, (await store.get(f)).length] as const)));

    // Another process keeps one point: point 1 goes, and the packs only it used; its index is rewritten smaller.
    const report = await other.applyRetention({ keep: 1, chainId: p1.chainId });
    expect(report.deletedPoints).toEqual([p1.pointId]);
    expect(report.rewrittenIndexFiles.length + report.deletedIndexFiles.length, JSON.stringify(report)).toBeGreaterThan(0);
    const indexesAfter = new Map(await Promise.all((await store.list("index/")).map(async (f) => [f, (await store.get(f)).length] as const)));
    expect(indexesAfter).not.toEqual(indexesBefore);

    // This object's reused view equals a fresh read of the folder.
    const reused = await mine.loadCatalogue({ reuse: true });
    const fresh = await mine.loadCatalogue();
    expect([...reused.packs.keys()].sort()).toEqual([...fresh.packs.keys()].sort());
    expect([...reused.indexFiles.keys()].sort()).toEqual([...fresh.indexFiles.keys()].sort());
    expect((await mine.scanPoints({ reuse: true })).points.map((p) => p.file)).toEqual((await mine.scanPoints()).points.map((p) => p.file));

    // The next incremental extends point 2, and every point left reads back.
    clock.advance(1000);
    session = await mine.beginPoint({ chainId: p1.chainId, protection: { password } });
    expect(session.parentPointId).toBe(p2.pointId);
    await session.writeDisk("d", { capacity, blocks: blocks("three", 0, 2), inherit: true });
    const p3 = await session.commit();
    const expected = Buffer.concat([...blocks("three", 0, 2), ...blocks("one", 2, 4), ...blocks("two", 4, 8)].map((b) => b.data));
    expect((await readImage(mine, p3.pointId, ring, "d")).equals(expected)).toBe(true);
    expect((await readImage(other, p2.pointId, ring, "d")).equals(Buffer.concat([...blocks("one", 0, 4), ...blocks("two", 4, 8)].map((b) => b.data)))).toBe(true);
    const verified = await other.verify({ keyRing: ring });
    expect(verified.ok, JSON.stringify(verified)).toBe(true);
  });

  it("opening a point for its keys and disks reads no index file; reading a block does", async () => {
    const { store, repo } = await testRepository();
    const password = await weakPasswordKey();
    const committed = await backupSample(repo, { password });
    const gets: string[] = [];
    const get = store.get.bind(store);
    store.get = async (name: string) => {
      gets.push(name);
      return get(name);
    };
    const point = await repo.readPoint(committed.pointId, new KeyRing().addPasswordKey(password));
    expect(point.disks).toHaveLength(1);
    expect(gets.filter((n) => n.startsWith("index/"))).toEqual([]);
    expect((await point.readBlock("scsi0:0", 0)).equals(committed.disk.blocks[0].data)).toBe(true);
    expect(gets.filter((n) => n.startsWith("index/")).length).toBeGreaterThan(0);
  });
});
