// Damage and tampering (BKP-7): a flipped bit, a truncated pack, records swapped between
// positions, a record from another point, a renamed pack, edited metadata. Each is caught both by
// verify (per point, disk and block) and by reading the block, which names it.
import { beforeEach, describe, expect, it } from "vitest";
import { checksum } from "../bytes";
import { BlockDamagedError, FileDamagedError } from "../errors";
import { KeyRing } from "../keys/key-ring";
import type { PasswordKey } from "../keys/user-key";
import { backupSample, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import { decodeIndex, encodeIndex } from "./index-file";
import type { MemoryStore } from "./memory-store";
import { packFileName } from "./pack";
import type { Repository } from "./repository";

let repo: Repository;
let store: MemoryStore;
let ring: KeyRing;
let password: PasswordKey;
let a: Awaited<ReturnType<typeof backupSample>>;
let b: Awaited<ReturnType<typeof backupSample>>;

beforeEach(async () => {
  // One pack per session, so positions are easy to reason about.
  const t = await testRepository({ packTargetSize: 1 << 20 });
  repo = t.repo;
  store = t.store as MemoryStore;
  password = await weakPasswordKey();
  ring = new KeyRing().addPasswordKey(password);
  a = await backupSample(repo, { password }, { seed: "a" });
  b = await backupSample(repo, { password }, { seed: "b" });
});

async function locate(pointId: string, block: number) {
  const point = await repo.readPoint(pointId, ring);
  const e = point.blockMap("scsi0:0").get(block);
  if (e?.kind !== "data") throw new Error("not a data block");
  const catalogue = await repo.loadCatalogue();
  const pe = await catalogue.entry(e.packId, e.entryIndex);
  return { file: packFileName(e.packId), packId: e.packId, entryIndex: e.entryIndex, pe, indexFile: catalogue.packs.get(e.packId)!.source };
}

/** What an attacker who knows the format does after editing a record: fix the cleartext hash. */
function setIndexedHash(indexFile: string, packId: string, entryIndex: number, record: Buffer) {
  const idx = decodeIndex(indexFile, store.files.get(indexFile)!);
  idx.packs.find((p) => p.packId.toString("hex") === packId)!.entries[entryIndex].recordHash = checksum(record);
  store.files.set(indexFile, encodeIndex(idx));
}

async function damagedBlocks(pointId: string) {
  const report = await repo.verify({ pointId, keyRing: ring });
  return { report, damaged: report.points[0].disks[0].damaged.map((d) => [d.blockIndex, d.reason]) };
}

async function readError(pointId: string, block: number) {
  const point = await repo.readPoint(pointId, ring);
  return point.readBlock("scsi0:0", block).then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe("damage and tampering", () => {
  it("passes verify when nothing is wrong", async () => {
    const report = await repo.verify({ keyRing: ring });
    expect(report.ok).toBe(true);
    expect(report.points.map((p) => p.status)).toEqual(["ok", "ok"]);
    expect(report.unreferencedPacks).toEqual([]);
  });

  it("names a block whose record has a flipped bit (record hash)", async () => {
    const loc = await locate(a.pointId, 4);
    store.files.get(loc.file)![loc.pe.offset + 100] ^= 0x01;
    const { report, damaged } = await damagedBlocks(a.pointId);
    expect(report.points[0].status).toBe("damaged");
    expect(damaged).toEqual([[4, "record-hash"]]);
    const err = await readError(a.pointId, 4);
    expect(err).toBeInstanceOf(BlockDamagedError);
    expect(err).toMatchObject({ pointId: a.pointId, diskId: "scsi0:0", blockIndex: 4, reason: "record-hash" });
    expect((err as Error).message).toContain("block 4 of disk scsi0:0");
    expect(await readError(a.pointId, 0)).toBeUndefined();
    expect((await repo.verify({ pointId: b.pointId, keyRing: ring })).ok).toBe(true);
  });

  it("still refuses a flipped bit when the attacker also fixes the cleartext hashes (authentication)", async () => {
    const loc = await locate(a.pointId, 4);
    const pack = store.files.get(loc.file)!;
    pack[loc.pe.offset + 100] ^= 0x01;
    setIndexedHash(loc.indexFile, loc.packId, loc.entryIndex, pack.subarray(loc.pe.offset, loc.pe.offset + loc.pe.length));
    expect((await damagedBlocks(a.pointId)).damaged).toEqual([[4, "authentication"]]);
    expect(await readError(a.pointId, 4)).toMatchObject({ blockIndex: 4, reason: "authentication" });
  });

  it("names the blocks lost to a truncated pack", async () => {
    const loc = await locate(a.pointId, 4);
    store.files.set(loc.file, store.files.get(loc.file)!.subarray(0, loc.pe.offset + 10));
    const { damaged } = await damagedBlocks(a.pointId);
    expect(damaged).toContainEqual([4, "truncated"]);
    expect(damaged.map(([i]) => i)).not.toContain(0);
    expect(await readError(a.pointId, 4)).toMatchObject({ blockIndex: 4, reason: "truncated" });
  });

  it("refuses two records swapped between positions of a pack", async () => {
    const l0 = await locate(a.pointId, 0);
    const l4 = await locate(a.pointId, 4);
    expect(l0.pe.length).toBe(l4.pe.length); // both random, stored uncompressed
    const pack = store.files.get(l0.file)!;
    const r0 = Buffer.from(pack.subarray(l0.pe.offset, l0.pe.offset + l0.pe.length));
    const r4 = Buffer.from(pack.subarray(l4.pe.offset, l4.pe.offset + l4.pe.length));
    r4.copy(pack, l0.pe.offset);
    r0.copy(pack, l4.pe.offset);
    setIndexedHash(l0.indexFile, l0.packId, l0.entryIndex, r4);
    setIndexedHash(l4.indexFile, l4.packId, l4.entryIndex, r0);
    // Block 3 is a duplicate of block 0: same record, same verdict.
    expect((await damagedBlocks(a.pointId)).damaged).toEqual([
      [0, "authentication"],
      [3, "authentication"],
      [4, "authentication"],
    ]);
  });

  it("refuses a record copied in from another restore point", async () => {
    const la = await locate(a.pointId, 4);
    const lb = await locate(b.pointId, 4);
    const foreign = store.files.get(lb.file)!.subarray(lb.pe.offset, lb.pe.offset + lb.pe.length);
    Buffer.from(foreign).copy(store.files.get(la.file)!, la.pe.offset);
    setIndexedHash(la.indexFile, la.packId, la.entryIndex, foreign);
    expect((await damagedBlocks(a.pointId)).damaged).toEqual([[4, "authentication"]]);
    expect(await readError(a.pointId, 4)).toMatchObject({ reason: "authentication" });
    expect((await repo.verify({ pointId: b.pointId, keyRing: ring })).ok).toBe(true);
  });

  it("refuses another point's pack put in place of this point's pack, even with a matching index", async () => {
    const la = await locate(a.pointId, 0);
    const lb = await locate(b.pointId, 0);
    store.files.set(la.file, Buffer.from(store.files.get(lb.file)!));
    const all = [
      [0, "record-hash"],
      [2, "record-hash"],
      [3, "record-hash"],
      [4, "record-hash"],
      [5, "record-hash"],
    ];
    expect((await damagedBlocks(a.pointId)).damaged).toEqual(all);
    // Now also give A's pack B's table in the index: every hash matches, the pack id in the
    // associated data does not.
    const idx = decodeIndex(la.indexFile, store.files.get(la.indexFile)!);
    const bIdx = decodeIndex(lb.indexFile, store.files.get(lb.indexFile)!);
    const aPack = idx.packs.find((p) => p.packId.toString("hex") === la.packId)!;
    const aSessionKey = aPack.entries[0].sessionKeyId;
    aPack.entries = bIdx.packs.find((p) => p.packId.toString("hex") === lb.packId)!.entries.map((e) => ({ ...e, sessionKeyId: aSessionKey }));
    store.files.set(la.indexFile, encodeIndex(idx));
    expect((await damagedBlocks(a.pointId)).damaged).toEqual(all.map(([i]) => [i, "authentication"]));
  });

  it("names every block of a missing pack", async () => {
    const la = await locate(a.pointId, 0);
    store.files.delete(la.file);
    expect((await damagedBlocks(a.pointId)).damaged).toEqual([
      [0, "missing-file"],
      [2, "missing-file"],
      [3, "missing-file"],
      [4, "missing-file"],
      [5, "missing-file"],
    ]);
  });

  it("detects edited restore point metadata, with and without a recomputed checksum", async () => {
    const file = `points/${a.pointId}`;
    const original = Buffer.from(store.files.get(file)!);
    const edited = Buffer.from(original);
    edited[edited.length - 60] ^= 0x80; // inside the sealed body
    store.files.set(file, edited);
    let report = await repo.verify({ keyRing: ring });
    expect(report.points.find((p) => p.pointId === a.pointId)).toMatchObject({ status: "unreadable" });
    await expect(repo.readPoint(a.pointId, ring)).rejects.toMatchObject({ reason: "checksum" });

    const body = edited.subarray(0, edited.length - 32);
    store.files.set(file, Buffer.concat([body, checksum(body)]));
    report = await repo.verify({ keyRing: ring });
    expect(report.points.find((p) => p.pointId === a.pointId)).toMatchObject({ status: "damaged" });
    await expect(repo.readPoint(a.pointId, ring)).rejects.toBeInstanceOf(FileDamagedError);
  });

  it("checks record hashes without keys and says which keys would open the point", async () => {
    const loc = await locate(a.pointId, 4);
    store.files.get(loc.file)![loc.pe.offset + 5] ^= 0x10;
    const report = await repo.verify({});
    const pa = report.points.find((p) => p.pointId === a.pointId)!;
    expect(pa.status).toBe("keys-unavailable");
    expect(pa.keysNeeded).toEqual([`password:${password.header.keyId.toString("hex")}`]);
    expect(pa.damagedRecords).toEqual([{ packId: loc.packId, entryIndex: loc.entryIndex, reason: "record-hash" }]);
    expect(report.ok).toBe(false);
  });
});

describe("damage verify used to miss", () => {
  const chainFile = () => `chains/${a.chainId}.vbm`;

  it("a zero-length chain (.vbm) file", async () => {
    store.files.set(chainFile(), Buffer.alloc(0));
    const report = await repo.verify({ keyRing: ring });
    expect(report.ok).toBe(false);
    expect(report.damagedChainFiles).toEqual([{ file: chainFile(), problem: expect.stringMatching(/damaged \(truncated/) }]);
  });

  it("a chain file with a flipped bit, and one whose sealed body was edited with a recomputed checksum", async () => {
    const original = Buffer.from(store.files.get(chainFile())!);
    const flipped = Buffer.from(original);
    flipped[40] ^= 4;
    store.files.set(chainFile(), flipped);
    const r1 = await repo.verify({ keyRing: ring });
    expect(r1.ok).toBe(false);
    expect(r1.damagedChainFiles[0].problem).toMatch(/checksum/);
    // Without keys the checksum is all there is; with them the body must authenticate.
    const body = Buffer.from(original.subarray(0, original.length - 32));
    body[body.length - 20] ^= 1;
    store.files.set(chainFile(), Buffer.concat([body, checksum(body)]));
    expect((await repo.verify({})).damagedChainFiles).toEqual([]);
    const r2 = await repo.verify({ keyRing: ring });
    expect(r2.ok).toBe(false);
    expect(r2.damagedChainFiles[0].problem).toMatch(/authenticat/);
    expect(r2.points.every((p) => p.status === "ok")).toBe(true); // the points themselves are whole
  });

  it("a pack whose footer is cut or whose entry table has a flipped bit, its records intact", async () => {
    const { file, packId } = await locate(a.pointId, 0);
    const original = Buffer.from(store.files.get(file)!);
    store.files.set(file, original.subarray(0, original.length - 10));
    const cut = await repo.verify({ keyRing: ring });
    expect(cut.ok).toBe(false);
    expect(cut.damagedPacks).toEqual([{ packId, problem: expect.stringContaining(packId) }]);
    expect(cut.points.every((p) => p.status === "ok")).toBe(true); // every record still reads through the index

    const table = Buffer.from(original);
    table[original.length - 40 - 30] ^= 1; // inside the last table entry
    store.files.set(file, table);
    const flipped = await repo.verify({ keyRing: ring });
    expect(flipped.ok).toBe(false);
    expect(flipped.damagedPacks.map((d) => d.packId)).toEqual([packId]);
  });
});
