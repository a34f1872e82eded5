// Shared by the benchmarks that compare Strongroom with restic (bench:backup, bench:restore): the
// deterministic disk image (40% random, 40% zero, 20% duplicate 1 MiB blocks at positions
// shuffled from a seed), hashing a file, peak memory, and running Debian's restic.
import { spawn, spawnSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { Blake3Hasher } from "@napi-rs/blake-hash";

const MiB = 1024 * 1024;

/** The key of the image's block contents (AES-256-CTR keystreams): one per seed. */
export function contentKeyOf(seed: string): Buffer {
  return createHash("sha256").update(`content/${seed}`).digest();
}

/** A small seeded PRNG (mulberry32) for layout decisions; block contents come from AES-CTR. */
export function prng(s: string): () => number {
  let a = createHash("sha256").update(`layout/${s}`).digest().readUInt32BE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const zeroBuffer = Buffer.alloc(MiB);
/** Incompressible bytes of "random block" `id`: the AES-256-CTR keystream under a seed key. */
export function randomBlock(contentKey: Buffer, id: number, into: Buffer): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(id, 0);
  const c = createCipheriv("aes-256-ctr", contentKey, iv);
  c.update(zeroBuffer).copy(into);
  return into;
}

export type Kind = "random" | "zero" | "dup";
export interface Layout {
  kinds: Kind[];
  /** For a dup block: the position of the earlier random block it copies. */
  source: number[];
  changed: number[];
}

export function layout(blockCount: number, seed: string): Layout {
  const rand = prng(seed);
  const nRandom = Math.round(blockCount * 0.4);
  const nZero = Math.round(blockCount * 0.4);
  const kinds: Kind[] = [...Array<Kind>(nRandom).fill("random"), ...Array<Kind>(nZero).fill("zero"), ...Array<Kind>(blockCount - nRandom - nZero).fill("dup")];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  // A duplicate copies an *earlier* random block: a dup before the first random block swaps with it.
  const firstRandom = kinds.indexOf("random");
  for (let i = 0; i < firstRandom; i++) if (kinds[i] === "dup") [kinds[i], kinds[firstRandom]] = [kinds[firstRandom], kinds[i]];
  const source: number[] = new Array(blockCount).fill(-1);
  const randomSoFar: number[] = [];
  for (let i = 0; i < blockCount; i++) {
    if (kinds[i] === "random") randomSoFar.push(i);
    else if (kinds[i] === "dup") source[i] = randomSoFar[Math.floor(rand() * randomSoFar.length)];
  }
  const changedCount = Math.max(1, Math.round(blockCount * 0.01));
  const picks = new Set<number>();
  while (picks.size < changedCount) picks.add(Math.floor(rand() * blockCount));
  return { kinds, source, changed: [...picks].sort((a, b) => a - b) };
}

export async function writeImage(file: string, l: Layout, seed: string): Promise<void> {
  const contentKey = contentKeyOf(seed);
  const blockCount = l.kinds.length;
  const fh = await open(file, "w", 0o600);
  const buf = Buffer.allocUnsafe(MiB);
  try {
    for (let i = 0; i < blockCount; i++) {
      const k = l.kinds[i];
      const data = k === "zero" ? zeroBuffer : randomBlock(contentKey, k === "random" ? i : l.source[i], buf);
      await fh.write(data, 0, MiB, i * MiB);
    }
  } finally {
    await fh.close();
  }
}

/** 1% of the blocks get new random content (ids past the image's, so never a duplicate). */
export async function changeBlocks(file: string, l: Layout, seed: string): Promise<void> {
  const contentKey = contentKeyOf(seed);
  const blockCount = l.kinds.length;
  const fh = await open(file, "r+");
  const buf = Buffer.allocUnsafe(MiB);
  try {
    for (const i of l.changed) await fh.write(randomBlock(contentKey, blockCount + i, buf), 0, MiB, i * MiB);
  } finally {
    await fh.close();
  }
}

/** Reads the whole file (the "warm" read before a timed phase) and returns its BLAKE3 hash. */
export async function hashFile(file: string): Promise<string> {
  const fh = await open(file, "r");
  const buf = Buffer.allocUnsafe(8 * MiB);
  const h = new Blake3Hasher();
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest("hex");
}


export class MemoryWatch {
  peakRss = 0;
  peakHwm = 0;
  private timer: NodeJS.Timeout | undefined;
  start(): void {
    resetHwm();
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
  }
  stop(): void {
    clearInterval(this.timer);
    this.sample();
    this.peakHwm = Math.max(this.peakHwm, vmHwm());
  }
  private sample(): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss);
  }
}

export function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

export let hwmResettable = true;
/** Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0). */
function resetHwm(): void {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    hwmResettable = false;
  }
}


export const RESTIC = "/usr/bin/restic";

export function ensureRestic(bench: string): void {
  if (existsSync(RESTIC)) return;
  if (process.getuid?.() === 0) {
    console.log("restic is missing: apt-get install -y restic");
    let r = spawnSync("apt-get", ["install", "-y", "restic"], { stdio: "inherit" });
    if (r.status !== 0) {
      spawnSync("apt-get", ["update"], { stdio: "inherit" });
      r = spawnSync("apt-get", ["install", "-y", "restic"], { stdio: "inherit" });
    }
    if (r.status === 0 && existsSync(RESTIC)) return;
  }
  console.error(`${bench} needs Debian's restic (${RESTIC}). Install it with:\n  sudo apt-get install -y restic`);
  process.exit(1);
}

export async function restic(env: NodeJS.ProcessEnv, argv: string[]): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(RESTIC, argv, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`restic ${argv[0]} exited with ${code}: ${stderr.trim()}`))));
  });
  return performance.now() - started;
}

