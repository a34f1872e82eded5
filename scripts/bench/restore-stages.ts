// `npx tsx scripts/bench/restore-stages.ts [MiB]`: each stage of a restore alone, on one core, per
// MiB — so a change to the restore path can be judged against what each stage costs by itself:
// opening a record (AES-256-GCM + BLAKE3 twice), the lab's XTS encryption of an encrypted disk's
// block, reading records from a pack file, and writing a block to a file (page cache / O_DIRECT).
// Not part of `npm test`; run it under `flock /tmp/heavy.lock` on a shared machine.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { blake3 } from "@napi-rs/blake-hash";
import { CompressionId } from "../../lib/engine/format-registry";
import { allocateShared } from "../../lib/engine/repository/aligned-memory";
import { openRecordInto, recordHash, sealRecordInto, recordLengthOf, type RecordIdentity } from "../../lib/engine/repository/block-codec";
import { XtsCipher } from "../../lib/platform/lab/data-plane/xts";

const MiB = 1024 * 1024;
const n = Number(process.argv[2] ?? 256);

function time(label: string, bytes: number, fn: () => void): void {
  fn(); // warm
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  const ms = performance.now() - t;
  console.log(`  ${label.padEnd(44)} ${(ms / n).toFixed(3)} ms/MiB  ${((bytes * n) / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);
}

async function timeAsync(label: string, bytes: number, count: number, fn: (i: number) => Promise<void>): Promise<void> {
  const t = performance.now();
  for (let i = 0; i < count; i++) await fn(i);
  const ms = performance.now() - t;
  console.log(`  ${label.padEnd(44)} ${(ms / count).toFixed(3)} ms/MiB  ${((bytes * count) / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);
}

async function main(): Promise<void> {
  console.log(`restore stages, ${n} MiB each, one thread`);
  const block = randomBytes(MiB);
  const key = randomBytes(32);
  const identity: RecordIdentity = { repositoryId: randomBytes(16), packId: randomBytes(16), entryIndex: 3, sessionKeyId: randomBytes(16), compressionId: CompressionId.none, plainLength: MiB, contentHash: blake3(block) };
  const record = Buffer.alloc(recordLengthOf(MiB));
  sealRecordInto(key, randomBytes(12), block, identity, record);
  const scratch = Buffer.alloc(record.length);
  const out = Buffer.alloc(MiB);
  time("BLAKE3 (one hash of 1 MiB)", MiB, () => void blake3(block));
  time("record open (GCM + content hash)", MiB, () => {
    record.copy(scratch);
    if (!openRecordInto(key, scratch, identity, out).ok) throw new Error("open failed");
  });
  time("record open + record hash (a restore's cost)", MiB, () => {
    recordHash(record);
    record.copy(scratch);
    openRecordInto(key, scratch, identity, out);
  });
  const xts = new XtsCipher(randomBytes(64));
  const enc = Buffer.alloc(MiB);
  time("XTS encrypt (the lab host, encrypted disk)", MiB, () => xts.encryptSectors(2048, block, enc));
  time("Buffer copy 1 MiB", MiB, () => void block.copy(out));

  const dir = await mkdtemp(path.join(os.tmpdir(), "restore-stages-"));
  try {
    const aligned = allocateShared(8 * MiB).buffer;
    randomBytes(8 * MiB).copy(aligned);
    const file = path.join(dir, "pack");
    const fh = await open(file, "w+");
    for (let i = 0; i < n; i++) await fh.write(aligned, 0, MiB, i * MiB);
    await fh.sync();
    await timeAsync("pread 1 MiB (page cache, one open handle)", MiB, n, async (i) => void (await fh.read(aligned, 0, MiB, i * MiB)));
    await timeAsync("open + pread 1 MiB + close (getRangeInto)", MiB, n, async (i) => {
      const h = await open(file, "r");
      await h.read(aligned, 0, MiB, i * MiB);
      await h.close();
    });
    await timeAsync("pread 8 MiB (page cache), per 8 MiB", 8 * MiB, n / 8, async (i) => void (await fh.read(aligned, 0, 8 * MiB, i * 8 * MiB)));
    await fh.close();
    const target = path.join(dir, "out");
    const cached = await open(target, "w");
    await timeAsync("pwrite 1 MiB through the cache", MiB, n, async (i) => void (await cached.write(aligned, 0, MiB, i * MiB)));
    let t = performance.now();
    await cached.sync();
    console.log(`  ${"  … then fsync".padEnd(44)} ${(performance.now() - t).toFixed(0)} ms for ${n} MiB`);
    await cached.close();
    await rm(target);
    const direct = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT).catch(() => undefined);
    if (direct) {
      await timeAsync("pwrite 1 MiB O_DIRECT (one at a time)", MiB, n, async (i) => void (await direct.write(aligned, 0, MiB, i * MiB)));
      t = performance.now();
      const par: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        par.push(direct.write(aligned, (i % 4) * MiB, MiB, (n + i) * MiB));
        if (par.length === 4) await Promise.all(par.splice(0));
      }
      await Promise.all(par);
      const ms = performance.now() - t;
      console.log(`  ${"pwrite 1 MiB O_DIRECT (4 at a time)".padEnd(44)} ${(ms / n).toFixed(3)} ms/MiB  ${((MiB * n) / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);
      await direct.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
