// Quick throughput check of the lab's disk encryption, one core, 1 MiB buffers reused (not a test):
//   npx tsx lib/platform/lab/data-plane/bench-xts.ts
// Prints medians of several rounds: XtsCipher encrypt/decrypt, Node's per-sector "aes-256-xts" for
// comparison, and a cleartext read of an encrypted lab disk (page cache warm).

import { createCipheriv, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { generateDek } from "./bundle";
import { VirtualDisk } from "./virtual-disk";
import { fillDisk } from "./workload";
import { XtsCipher, writeSectorTweak } from "./xts";

const MiB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** MB/s (10^6 bytes) of `run`, which processes `bytes` per call. */
async function measure(label: string, bytes: number, run: (i: number) => unknown, rounds = 7, callsPerRound = 64): Promise<void> {
  for (let i = 0; i < 8; i++) await run(i); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < callsPerRound; i++) await run(r * callsPerRound + i);
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    rates.push((bytes * callsPerRound) / seconds / 1e6);
  }
  console.log(`${label.padEnd(48)} ${median(rates).toFixed(0).padStart(6)} MB/s  (min ${Math.min(...rates).toFixed(0)}, max ${Math.max(...rates).toFixed(0)})`);
}

async function main(): Promise<void> {
  const key = generateDek();
  const xts = new XtsCipher(key);
  const input = randomBytes(MiB);
  const output = Buffer.alloc(MiB);
  console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"}; one core, 1 MiB buffers`);
  await measure("XtsCipher.encryptSectors (1 MiB → other buffer)", MiB, (i) => xts.encryptSectors(i * 2048, input, output));
  await measure("XtsCipher.decryptSectors (1 MiB, in place)", MiB, (i) => xts.decryptSectors(i * 2048, output, output));

  const iv = Buffer.alloc(16);
  await measure("Node aes-256-xts, one cipher per sector", MiB, (i) => {
    for (let s = 0; s < 2048; s++) {
      writeSectorTweak(iv, 0, i * 2048 + s);
      const c = createCipheriv("aes-256-xts", key, iv);
      c.update(input.subarray(s * 512, s * 512 + 512)).copy(output, s * 512);
      c.final();
    }
  }, 5, 8);

  const dir = await mkdtemp(path.join(os.tmpdir(), "strongroom-bench-"));
  try {
    const disk = await VirtualDisk.create(dir, "bench", { capacityBytes: 64 * MiB, encrypted: true, dek: key });
    disk.unlock(key);
    await fillDisk(disk, { zeros: 0, random: 1, repeated: 0, text: 0 }, "bench");
    const target = Buffer.alloc(MiB);
    await measure("encrypted disk readInto, cleartext (page cache)", MiB, (i) => disk.readInto((i % 64) * MiB, target));
    await measure("encrypted disk write, cleartext (page cache)", MiB, (i) => disk.write((i % 64) * MiB, input), 5, 32);
    await disk.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
