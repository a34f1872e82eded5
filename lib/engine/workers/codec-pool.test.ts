// The block codec pool: the allocation-free codec functions give the bytes of the reference ones
// (so records sealed on threads are the format's records), jobs really run on the threads, each
// lane seals under its own nonce fixed field, and close() ends every thread.
import { describe, expect, it } from "vitest";
import { CompressionId, SIZES } from "../format-registry";
import { nonceFor } from "../keys/aead";
import {
  compressedBound,
  hashAndCompressInto,
  openRecord,
  openRecordInto,
  prepareBlock,
  recordHash,
  recordLengthOf,
  sealRecord,
  sealRecordInto,
  type RecordIdentity,
} from "../repository/block-codec";
import { compressible, noise } from "../testing/engine-fixtures";
import { BlockCodecPool } from "./codec-pool";

const key = Buffer.alloc(32, 0x11);
const BLOCK = 64 * 1024;
const identity = (data: Buffer, compressionId: number, contentHash: Buffer, entryIndex = 7): RecordIdentity => ({
  repositoryId: Buffer.alloc(16, 1),
  packId: Buffer.alloc(16, 2),
  entryIndex,
  sessionKeyId: Buffer.alloc(16, 3),
  compressionId,
  plainLength: data.length,
  contentHash,
});

describe("allocation-free codec functions", () => {
  it("hash, compress and seal to the same bytes as prepareBlock + sealRecord, also in place", () => {
    for (const data of [compressible("into", BLOCK), noise("into", BLOCK), noise("short", 1000)]) {
      const ref = prepareBlock(data);
      if (ref.kind !== "data") throw new Error("zero");
      const out = Buffer.alloc(recordLengthOf(compressedBound(data.length)));
      const h = hashAndCompressInto(data, CompressionId.zstd, out.subarray(SIZES.gcmNonce));
      expect(h.contentHash).toEqual(ref.contentHash);
      expect(h.compressionId).toBe(ref.compressionId);
      expect(h.payloadLength).toBe(ref.payload.length);
      const id = identity(data, h.compressionId, h.contentHash);
      const payload = h.compressionId === CompressionId.zstd ? out.subarray(SIZES.gcmNonce, SIZES.gcmNonce + h.payloadLength) : data;
      const length = sealRecordInto(key, nonceFor(5, 9), payload, id, out); // in place when compressed
      expect(out.subarray(0, length)).toEqual(sealRecord(key, nonceFor(5, 9), ref.payload, id));
    }
  });

  it("opens what openRecord opens, and refuses what it refuses with the same reason", () => {
    const data = compressible("open", BLOCK);
    const ref = prepareBlock(data);
    if (ref.kind !== "data") throw new Error("zero");
    const id = identity(data, ref.compressionId, ref.contentHash);
    const record = sealRecord(key, nonceFor(0, 1), ref.payload, id);
    const out = Buffer.alloc(BLOCK);
    expect(openRecordInto(key, Buffer.from(record), id, out)).toEqual({ ok: true, length: BLOCK });
    expect(out).toEqual(data);
    for (const wrong of [{ ...id, entryIndex: 8 }, { ...id, contentHash: Buffer.alloc(32) }]) {
      expect(openRecordInto(key, Buffer.from(record), wrong, out)).toEqual(openRecord(key, record, wrong));
    }
    const flipped = Buffer.from(record);
    flipped[40] ^= 1;
    expect(openRecordInto(key, flipped, id, out)).toEqual({ ok: false, reason: "authentication" });
    expect(openRecordInto(Buffer.alloc(32, 9), Buffer.from(record), id, out)).toEqual({ ok: false, reason: "authentication" });
  });
});

// Threads start in ~0.3 s on an idle machine, much slower on a busy one: generous timeouts.
describe("BlockCodecPool", { timeout: 30_000 }, () => {
  it("runs every job on its threads, each thread sealing under its own nonce fixed field", async () => {
    const pool = new BlockCodecPool({ blockSize: BLOCK, sessionKey: key, threads: 2, requireThreads: true, fixedField: (lane) => 0x100 + lane });
    try {
      await pool.whenThreadsReady();
      const blocks = Array.from({ length: 24 }, (_, i) => (i % 2 ? noise(`pool-${i}`, BLOCK) : compressible(`pool-${i}`, BLOCK)));
      const records = await Promise.all(
        blocks.map(async (data, i) => {
          const slot = await pool.acquire();
          try {
            slot.input.set(data);
            const p = await pool.prepare(slot, data.length, CompressionId.zstd);
            const id = identity(data, p.compressionId, p.contentHash, i);
            const sealed = await pool.seal(slot, p.payloadLength, id);
            const record = Buffer.from(slot.output.subarray(0, sealed.recordLength));
            expect(sealed.recordHash).toEqual(recordHash(record));
            return { record, id, data };
          } finally {
            pool.release(slot);
          }
        }),
      );
      expect(pool.jobs).toEqual({ inline: 0, threads: 48 });
      const nonces = records.map((r) => r.record.subarray(0, SIZES.gcmNonce).toString("hex"));
      expect(new Set(nonces).size).toBe(nonces.length);
      const fields = new Set(records.map((r) => r.record.readUInt32BE(0)));
      expect([...fields].every((f) => f === 0x101 || f === 0x102)).toBe(true);
      for (const r of records) expect(openRecord(key, r.record, r.id)).toEqual({ ok: true, data: r.data });

      // And back: opened on the threads, with the record hash checked first.
      const { record, id, data } = records[3];
      const slot = await pool.acquire();
      slot.input.set(record);
      expect(await pool.open(slot, record.length, id, key, recordHash(record))).toEqual({ ok: true, length: BLOCK });
      expect(slot.output.subarray(0, BLOCK)).toEqual(data);
      slot.input.set(record);
      expect(await pool.open(slot, record.length, id, key, Buffer.alloc(32))).toEqual({ ok: false, reason: "record-hash" });
      pool.release(slot);
    } finally {
      await pool.close();
    }
    expect(pool.liveThreads).toBe(0);
  });

  it("bounds the work in flight by its slots and fails waiting acquirers when interrupted", async () => {
    const pool = new BlockCodecPool({ blockSize: 4096, slots: 3 });
    const held = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    let fourth = false;
    const waiting = pool.acquire().then((s) => {
      fourth = true;
      return s;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(fourth).toBe(false);
    pool.release(held[0]);
    expect(await waiting).toBe(held[0]);
    const more = pool.acquire();
    pool.interrupt(new Error("session failed"));
    await expect(more).rejects.toThrow("session failed");
    await expect(pool.acquire()).rejects.toThrow("session failed");
    await pool.close();
  });

  it("runs jobs inline while its threads start, unless threads are required", async () => {
    const pool = new BlockCodecPool({ blockSize: 4096, sessionKey: key, threads: 1 });
    const slot = await pool.acquire();
    slot.input.set(noise("early", 4096));
    await pool.prepare(slot, 4096, CompressionId.zstd); // the thread cannot be up yet
    expect(pool.jobs.inline).toBe(1);
    await pool.whenThreadsReady();
    await pool.prepare(slot, 4096, CompressionId.zstd);
    expect(pool.jobs.threads).toBe(1);
    await pool.close();
    expect(pool.liveThreads).toBe(0);
    await expect(pool.prepare(slot, 4096, CompressionId.zstd)).rejects.toThrow("closed");
  });
});
