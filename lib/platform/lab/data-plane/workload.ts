// A guest workload for the lab (INV-4): fills a disk with a realistic mix of content and later
// rewrites a fraction of its blocks, through the live disk so CBT records every write. Everything
// is deterministic from a seed, so a demo or a test gets the same disk every time.
//
// Block kinds (1 MiB each), chosen by fraction; blocks left over are never written (holes):
//   zeros     explicitly written zeros (a zeroed file system area: allocated, but all zero)
//   random    incompressible, unique per block (media, encrypted archives, guest-OS encryption)
//   repeated  a handful of identical 1 MiB patterns (VM templates, copies): deduplicates
//   text      log-like lines: compresses well, unique per block

import { blockCountOf } from "./disk-file";
import { SeededBytes } from "./seeded-bytes";
import { CBT_BLOCK_SIZE, SECTOR_SIZE, type GuestDisk } from "./types";

export type BlockKind = "zeros" | "random" | "repeated" | "text";
export type WorkloadMix = Record<BlockKind, number>;

export const DEFAULT_MIX: WorkloadMix = { zeros: 0.25, random: 0.3, repeated: 0.15, text: 0.2 }; // 10 % never written
const REPEATED_PATTERNS = 4;
const KINDS: BlockKind[] = ["zeros", "random", "repeated", "text"];

export interface WorkloadReport {
  /** Block numbers of each kind, and those left unwritten. */
  blocks: Record<BlockKind | "unwritten", number[]>;
  bytesWritten: number;
}

/** Which kind each block gets: exact counts per fraction, positions shuffled by the seed. */
export function planBlocks(blockCount: number, mix: WorkloadMix, seed: string | number): (BlockKind | null)[] {
  const total = KINDS.reduce((s, k) => s + mix[k], 0);
  if (KINDS.some((k) => !(mix[k] >= 0)) || total > 1 + 1e-9) throw new RangeError(`workload fractions must be ≥ 0 and sum to at most 1, got ${total}`);
  const order = shuffled(blockCount, new SeededBytes(`plan|${seed}`));
  const plan: (BlockKind | null)[] = new Array(blockCount).fill(null);
  let next = 0;
  for (const kind of KINDS) {
    const count = Math.round(mix[kind] * blockCount);
    for (let i = 0; i < count && next < blockCount; i++) plan[order[next++]] = kind;
  }
  return plan;
}

/** Writes the whole disk's content per `mix` (one 1 MiB buffer, reused). */
export async function fillDisk(disk: GuestDisk, mix: WorkloadMix = DEFAULT_MIX, seed: string | number = 1): Promise<WorkloadReport> {
  const plan = planBlocks(blockCountOf(disk.capacityBytes), mix, seed);
  const content = new BlockContent(seed);
  const buffer = Buffer.alloc(CBT_BLOCK_SIZE);
  const report: WorkloadReport = { blocks: { zeros: [], random: [], repeated: [], text: [], unwritten: [] }, bytesWritten: 0 };
  for (let block = 0; block < plan.length; block++) {
    const kind = plan[block];
    if (!kind) {
      report.blocks.unwritten.push(block);
      continue;
    }
    const data = buffer.subarray(0, blockLength(disk, block));
    content.fill(kind, block, data);
    await disk.write(block * CBT_BLOCK_SIZE, data);
    report.blocks[kind].push(block);
    report.bytesWritten += data.length;
  }
  return report;
}

/**
 * Rewrites `fraction` of the disk's blocks (chosen by `seed`): in each, a sector-aligned span of
 * 4 KiB to 1 MiB at a seeded offset gets new random or text content — so partial writes, and the
 * copy-on-write they cause under a snapshot, are exercised. Returns the changed blocks, sorted.
 */
export async function changeBlocks(disk: GuestDisk, fraction: number, seed: string | number): Promise<number[]> {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must be in [0, 1], got ${fraction}`);
  const blockCount = blockCountOf(disk.capacityBytes);
  const dice = new SeededBytes(`change|${seed}`);
  const chosen = shuffled(blockCount, dice).slice(0, Math.round(fraction * blockCount)).sort((a, b) => a - b);
  const content = new BlockContent(`change|${seed}`);
  const buffer = Buffer.alloc(CBT_BLOCK_SIZE);
  for (const block of chosen) {
    const sectors = blockLength(disk, block) / SECTOR_SIZE;
    const length = Math.min(sectors, 8 + dice.pick(sectors, block * 3)) * SECTOR_SIZE; // ≥ 4 KiB when the block allows
    const offset = dice.pick(sectors - length / SECTOR_SIZE + 1, block * 3 + 1) * SECTOR_SIZE;
    const data = buffer.subarray(0, length);
    content.fill(dice.pick(2, block * 3 + 2) === 0 ? "random" : "text", block, data);
    await disk.write(block * CBT_BLOCK_SIZE + offset, data);
  }
  return chosen;
}

/** Generates each kind's bytes; the text template is built once per seed. */
class BlockContent {
  private readonly bytes: SeededBytes;
  private readonly seed: string;
  private textTemplate: Buffer | null = null;

  constructor(seed: string | number) {
    this.seed = String(seed);
    this.bytes = new SeededBytes(`content|${seed}`);
  }

  fill(kind: BlockKind, block: number, target: Buffer): void {
    if (kind === "zeros") target.fill(0);
    else if (kind === "random") this.bytes.fill(target, block);
    else if (kind === "repeated") this.bytes.fill(target, 2 ** 40 + (block % REPEATED_PATTERNS));
    else {
      this.textTemplate ??= logText(this.seed);
      this.textTemplate.copy(target, 0, 0, target.length);
      // A per-block header keeps text blocks distinct (no accidental dedupe) but compressible.
      target.write(`# block ${block} of a lab guest log, seed ${this.seed}\n`.padEnd(96, " "), 0, "ascii");
    }
  }
}

function logText(seed: string): Buffer {
  const r = new SeededBytes(`text|${seed}`).fill(Buffer.alloc(64 * 1024));
  const levels = ["INFO ", "INFO ", "INFO ", "DEBUG", "WARN ", "ERROR"];
  const paths = ["/api/orders", "/api/customers", "/api/invoices", "/healthz", "/login", "/static/app.js"];
  const users = ["alice", "bob", "carol", "dave", "erin", "-"];
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < CBT_BLOCK_SIZE; i++) {
    const b = (k: number) => r[(i * 8 + k) % r.length];
    const line =
      `2026-11-${String(1 + (b(0) % 28)).padStart(2, "0")}T${String(b(1) % 24).padStart(2, "0")}:${String(b(2) % 60).padStart(2, "0")}:` +
      `${String(b(3) % 60).padStart(2, "0")}.${String(b(4) * 3).padStart(3, "0")}Z ${levels[b(5) % levels.length]} [worker-${String(b(6) % 16).padStart(2, "0")}] ` +
      `GET ${paths[b(7) % paths.length]}/${b(0) * 256 + b(1)} ${b(2) % 10 === 0 ? 500 : 200} ${b(3) % 200}ms user=${users[b(4) % users.length]}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(""), "ascii").subarray(0, CBT_BLOCK_SIZE);
}

function blockLength(disk: GuestDisk, block: number): number {
  return Math.min(CBT_BLOCK_SIZE, disk.capacityBytes - block * CBT_BLOCK_SIZE);
}

/** A seeded permutation of 0…n-1 (Fisher–Yates over seeded 32-bit draws). */
function shuffled(n: number, dice: SeededBytes): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const draws = dice.fill(Buffer.alloc(Math.max(4, n * 4)), 2 ** 41);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((draws.readUInt32LE(i * 4) / 2 ** 32) * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
