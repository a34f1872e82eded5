// Retention (BKP-8): keep N points per chain, never delete a block a kept point needs, refuse or
// hold deletion during the immutability period, and stay conservative when metadata is damaged.
import { describe, expect, it } from "vitest";
import { ImmutabilityError, RepositoryLockedError } from "../errors";
import { KeyRing } from "../keys/key-ring";
import { BLOCK, DAY, noise, readImage, sampleDisk, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import type { MemoryStore } from "./memory-store";
import type { Repository } from "./repository";

async function chainOf(repo: Repository, count: number, advance: () => void) {
  const password = await weakPasswordKey();
  const disk = sampleDisk("ret");
  const images: Buffer[] = [];
  const ids: string[] = [];
  let chainId: string | undefined;
  let image = Buffer.from(disk.image);
  for (let i = 0; i < count; i++) {
    const s = await repo.beginPoint({ chainId, protection: { password } });
    if (i === 0) await s.writeDisk("scsi0:0", { capacity: disk.capacity, blocks: disk.blocks });
    else {
      const changed = noise(`ret-${i}`, BLOCK);
      image = Buffer.from(image);
      changed.copy(image, 2 * BLOCK); // the same block changes every day: older versions become garbage
      await s.writeDisk("scsi0:0", { capacity: disk.capacity, blocks: [{ index: 2, data: changed }], inherit: true });
    }
    const c = await s.commit();
    chainId = c.chainId;
    ids.push(c.pointId);
    images.push(image);
    advance();
  }
  return { password, ids, images, chainId: chainId! };
}

describe("retention", () => {
  it("keeps the newest N points and every block they need, and deletes the rest", async () => {
    const { repo, clock } = await testRepository();
    const { password, ids, images } = await chainOf(repo, 5, () => clock.advance(DAY));
    const ring = new KeyRing().addPasswordKey(password);
    const report = await repo.applyRetention({ keep: 2 });
    expect(report.keptPoints).toEqual([ids[4], ids[3]]);
    expect(report.deletedPoints.sort()).toEqual([ids[0], ids[1], ids[2]].sort());
    expect(report.deletedPacks.length).toBeGreaterThan(0);
    // Point 4 still needs blocks first written by point 0 (inherited): they are all there.
    expect(report.deletedPacks.length).toBe(2); // the packs of points 1 and 2 (one changed block each)
    expect((await readImage(repo, ids[4], ring)).equals(images[4])).toBe(true);
    expect((await readImage(repo, ids[3], ring)).equals(images[3])).toBe(true);
    const verify = await repo.verify({ keyRing: ring });
    expect(verify.ok).toBe(true);
    expect(verify.unreferencedPacks).toEqual([]);
    // The chain file now opens only what exists; the next session rewrites it.
    expect((await repo.listChains())[0].points.length).toBe(5);
  });

  it("trims only the chains it is given, all of them in one pass", async () => {
    const { repo, clock } = await testRepository();
    const a = await chainOf(repo, 3, () => clock.advance(DAY));
    const b = await chainOf(repo, 3, () => clock.advance(DAY));
    const c = await chainOf(repo, 3, () => clock.advance(DAY));
    const report = await repo.applyRetention({ keep: 1, chainIds: [a.chainId, b.chainId] });
    expect(report.keptPoints.sort()).toEqual([a.ids[2], b.ids[2]].sort());
    expect(report.deletedPoints.sort()).toEqual([...a.ids.slice(0, 2), ...b.ids.slice(0, 2)].sort());
    const left = (await repo.listPoints()).points.map((p) => p.pointId).sort();
    expect(left).toEqual([a.ids[2], b.ids[2], ...c.ids].sort());
    const verify = await repo.verify({ keyRing: new KeyRing().addPasswordKey(a.password).addPasswordKey(b.password).addPasswordKey(c.password) });
    expect(verify.ok).toBe(true);
  });

  it("holds immutable points (default) or refuses the run with ImmutabilityError", async () => {
    const { repo, clock } = await testRepository({ immutabilityMs: 30 * DAY });
    const { ids } = await chainOf(repo, 3, () => clock.advance(DAY));
    const err = await repo.applyRetention({ keep: 1, onImmutable: "throw" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImmutabilityError);
    expect((err as ImmutabilityError).pointIds.sort()).toEqual([ids[0], ids[1]].sort());
    expect((await repo.listPoints()).points).toHaveLength(3);

    const held = await repo.applyRetention({ keep: 1 });
    expect(held.deletedPoints).toEqual([]);
    expect(held.heldPoints.map((h) => h.pointId).sort()).toEqual([ids[0], ids[1]].sort());

    await expect(repo.deletePoint(ids[0])).rejects.toBeInstanceOf(ImmutabilityError);
    clock.advance(31 * DAY);
    const later = await repo.applyRetention({ keep: 1 });
    expect(later.deletedPoints.sort()).toEqual([ids[0], ids[1]].sort());
  });

  it("keeps unreferenced packs until their own immutability period ends", async () => {
    const { repo, clock, store } = await testRepository({ immutabilityMs: 10 * DAY });
    const password = await weakPasswordKey();
    const s = await repo.beginPoint({ protection: { password } });
    const blocks = [0, 1, 2, 3, 4, 5].map((index) => ({ index, data: noise(`orphan-${index}`, BLOCK) }));
    await s.writeDisk("scsi0:0", { capacity: 6 * BLOCK, blocks });
    await s.abort(); // packs written, no point: debris of an interrupted backup
    expect((await store.list("packs/")).length).toBeGreaterThan(0);
    const early = await repo.applyRetention({ keep: 1 });
    expect(early.deletedPacks).toEqual([]);
    expect(early.heldPacks.length).toBeGreaterThan(0);
    clock.advance(11 * DAY);
    const late = await repo.applyRetention({ keep: 1 });
    expect(late.deletedPacks.length).toBe(early.heldPacks.length);
    expect(await store.list("packs/")).toEqual([]);
  });

  it("deletes a single point on request and removes the chain file of an empty chain", async () => {
    const { repo, clock } = await testRepository();
    const { ids } = await chainOf(repo, 1, () => clock.advance(DAY));
    const report = await repo.deletePoint(ids[0]);
    expect(report.deletedPoints).toEqual([ids[0]]);
    expect(report.deletedChainFiles).toHaveLength(1);
    expect(await repo.store.list("packs/")).toEqual([]);
    expect(await repo.store.list("index/")).toEqual([]);
  });

  it("deletes no pack while a point file is unreadable", async () => {
    const { repo, clock, store } = await testRepository();
    const { ids } = await chainOf(repo, 3, () => clock.advance(DAY));
    const f = (store as MemoryStore).files.get(`points/${ids[2]}`)!;
    f[20] ^= 1;
    const packsBefore = await store.list("packs/");
    const report = await repo.applyRetention({ keep: 1 });
    expect(report.garbageCollectionSkipped).toMatch(/unreadable/);
    expect(await store.list("packs/")).toEqual(packsBefore);
  });

  it("reclaims the packs an interrupted session left once the grace period is over, and reports the bytes", async () => {
    const { repo, clock, store } = await testRepository({ packTargetSize: BLOCK });
    await chainOf(repo, 1, () => clock.advance(1000));
    const password = await weakPasswordKey();
    const s = await repo.beginPoint({ protection: { password } });
    const blocks = Array.from({ length: 6 }, (_, i) => ({ index: i, data: noise(`orphan-${i}`, BLOCK) }));
    // Interrupted mid-disk: some packs are in the store, no point references them.
    await expect(
      s.writeDisk("scsi0:0", {
        capacity: 8 * BLOCK,
        blocks: (async function* () {
          yield* blocks;
          throw new Error("proxy lost");
        })(),
      }),
    ).rejects.toThrow(/proxy lost/);
    await s.abort();
    const orphans = (await repo.verify({})).unreferencedPacks;
    expect(orphans.length).toBeGreaterThan(0);
    const young = await repo.applyRetention({ keep: 7 });
    expect(young.youngOrphanPacks.sort()).toEqual([...orphans].sort());
    expect(young.orphanPacksReclaimed).toBe(0);
    clock.advance(2 * 60 * 60 * 1000);
    const bytes = (await Promise.all(orphans.map((id) => store.size(`packs/${id.slice(0, 2)}/${id}`)))).reduce((a: number, b) => a + (b ?? 0), 0);
    const report = await repo.applyRetention({ keep: 7 });
    expect(report.orphanPacksReclaimed).toBe(orphans.length);
    expect(report.reclaimedOrphanBytes).toBe(bytes);
    expect(bytes).toBeGreaterThan(orphans.length * BLOCK);
    const after = await repo.verify({ keyRing: new KeyRing().addPasswordKey(password) });
    expect(after.unreferencedPacks).toEqual([]);
    expect(after.points.map((p) => p.status)).toEqual(["keys-unavailable"]); // chainOf's own password
  });

  it("does not run while a backup session holds the repository", async () => {
    const { repo } = await testRepository();
    const password = await weakPasswordKey();
    const s = await repo.beginPoint({ protection: { password } });
    await expect(repo.applyRetention({ keep: 1 })).rejects.toBeInstanceOf(RepositoryLockedError);
    await s.abort();
    await expect(repo.applyRetention({ keep: 1 })).resolves.toBeTruthy();
  });
});
