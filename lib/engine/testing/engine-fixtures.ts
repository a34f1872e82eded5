// Test fixtures for the engine: small repositories, disk images with the kinds of blocks that
// matter (zeros, duplicates, compressible, random, a short last block), a controllable clock and
// password keys with small Argon2 parameters — for tests that are NOT about the KDF only; the
// KDF's own tests use the real defaults (≥ 64 MiB).

import { createHash } from "node:crypto";
import { seededRandom } from "../bytes";
import { KeyRing } from "../keys/key-ring";
import type { ProtectionPlan } from "../keys/protection";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS, type PasswordKey } from "../keys/user-key";
import type { DiskBlock } from "../repository/backup-session";
import { MemoryStore } from "../repository/memory-store";
import { createRepository, type Repository } from "../repository/repository";
import type { RepositoryStore } from "../repository/store";

export const BLOCK = 4096;

export class TestClock {
  constructor(public t = Date.UTC(2026, 0, 1)) {}
  now = (): number => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

export const DAY = 24 * 60 * 60 * 1000;

/** Deterministic pseudo-random bytes (not a secret; stands in for incompressible disk data). */
export function noise(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0, i = 0; at < length; at += 32, i++) createHash("sha256").update(`${seed}/${i}`).digest().copy(out, at);
  return out;
}

export function compressible(seed: string, length: number): Buffer {
  return Buffer.from(`${seed} — the same sentence again and again. `.repeat(Math.ceil(length / 40))).subarray(0, length);
}

/**
 * A small disk: block 0 random, 1 zeros, 2 compressible, 3 = copy of 0 (dedupe), 4 random, and a
 * short last block (capacity is not a multiple of the block size).
 */
export function sampleDisk(seed: string): { capacity: number; blocks: DiskBlock[]; image: Buffer } {
  const capacity = 5 * BLOCK + 1000;
  const b0 = noise(`${seed}-0`, BLOCK);
  const blocks: DiskBlock[] = [
    { index: 0, data: b0 },
    { index: 1, data: Buffer.alloc(BLOCK) },
    { index: 2, data: compressible(seed, BLOCK) },
    { index: 3, data: Buffer.from(b0) },
    { index: 4, data: noise(`${seed}-4`, BLOCK) },
    { index: 5, data: noise(`${seed}-5`, 1000) },
  ];
  return { capacity, blocks, image: Buffer.concat(blocks.map((b) => Buffer.from(b.data))) };
}

/** Password key with TEST_ONLY_KDF_PARAMS (256 KiB): for tests that are not about Argon2. */
export function weakPasswordKey(password = "correct horse battery staple", hint = ""): Promise<PasswordKey> {
  return createPasswordKey(password, { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only", hint });
}

export async function testRepository(options: { store?: RepositoryStore; immutabilityMs?: number; packTargetSize?: number; clock?: TestClock; seed?: string } = {}) {
  const store = options.store ?? new MemoryStore();
  const clock = options.clock ?? new TestClock();
  const repo = await createRepository(store, {
    blockSize: BLOCK,
    packTargetSize: options.packTargetSize ?? 3 * BLOCK,
    immutabilityMs: options.immutabilityMs ?? 0,
    now: clock.now,
    random: options.seed ? seededRandom(options.seed) : undefined,
  });
  return { store, repo, clock };
}

/** One committed point with the sample disk; returns what a test needs to check it. */
export async function backupSample(repo: Repository, plan: ProtectionPlan, options: { chainId?: string; seed?: string; ring?: KeyRing } = {}) {
  const disk = sampleDisk(options.seed ?? "disk");
  const session = await repo.beginPoint({ chainId: options.chainId, protection: plan, keyRing: options.ring, attributes: { vm: "vm-42" } });
  await session.writeDisk("scsi0:0", { capacity: disk.capacity, blocks: disk.blocks, attributes: { storagePolicy: "VM Encryption Policy" } });
  const result = await session.commit();
  return { ...result, disk };
}

export async function readImage(repo: Repository, pointId: string, ring: KeyRing, diskId = "scsi0:0"): Promise<Buffer> {
  const point = await repo.readPoint(pointId, ring);
  const disk = point.disks.find((d) => d.diskId === diskId)!;
  const parts: Buffer[] = [];
  for (let i = 0; i < disk.blockCount; i++) parts.push(await point.readBlock(diskId, i));
  return Buffer.concat(parts);
}
