// `npm run bench:backup [-- --size-mib 2048 --seed strongroom-bench]`
//
// Strongroom's backup engine next to restic, in one run, on the same raw disk image: a full
// backup, an incremental after 1% of the 1 MiB blocks changed, and a full restore to a file. The
// image (default 2 GiB) is 40% random blocks, 40% zero blocks and 20% duplicates of earlier random
// blocks, at positions shuffled from the seed, so every run with the same seed reads the same bytes.
//
// Strongroom goes through the real engine: a filesystem repository, a password protection with a
// real Argon2id user key (64 MiB, t = 3, p = 4; derived once, before the timed phases), backupDisk
// over a file-backed DiskReader (full: every block; incremental: the changed blocks as CBT would
// list them, the rest inherited), restoreDiskToFile. restic (Debian's /usr/bin/restic) backs up the
// image file (the incremental re-reads it: restic has no changed-block list) and restores it with
// `restic restore latest --target`. Both restores are hash-compared with the source image.
// Strongroom writes packs (and the restored image) with O_DIRECT where the filesystem allows it, so
// its restore reads packs from disk while restic's are still in the page cache.
//
// The page cache cannot be dropped here, so every phase runs warm: the image is read once before
// each timed phase. Peak memory of the Strongroom side: RSS sampled every 50 ms and the kernel's
// high-water mark (VmHWM, reset before each Strongroom phase); worker threads share the process.
// Not part of `npm test`.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { changeBlocks, ensureRestic, hashFile, hwmResettable, layout, MemoryWatch, restic, RESTIC, writeImage } from "./bench/disk-image";
import { KeyRing } from "../lib/engine/keys/key-ring";
import { createPasswordKey, DEFAULT_KDF_PARAMS } from "../lib/engine/keys/user-key";
import { backupDisk } from "../lib/engine/pipeline/backup-disk";
import { FileDiskReader } from "../lib/engine/pipeline/file-disk-reader";
import { restoreDiskToFile } from "../lib/engine/pipeline/restore-disk";
import { FilesystemStore } from "../lib/engine/repository/filesystem-store";
import { createRepository, type Repository } from "../lib/engine/repository/repository";

const MiB = 1024 * 1024;
const RSS_TARGET = 512 * MiB;
const TARGETS = { full: 3, incremental: 10, restore: 1.2 } as const;

const options = {
  "size-mib": { type: "string", default: "2048" },
  seed: { type: "string", default: "strongroom-bench" },
} as const;
function usage(message: string): never {
  console.error(`bench:backup: ${message}`);
  process.exit(2);
}
const { values: args } = (() => {
  try {
    return parseArgs({ options });
  } catch (e) {
    return usage((e as Error).message);
  }
})();
const sizeMiB = Number(args["size-mib"]);
if (!Number.isInteger(sizeMiB) || sizeMiB < 10) usage(`--size-mib must be a whole number ≥ 10, got "${args["size-mib"]}"`);
const seed = args.seed;
const blockCount = sizeMiB;
const imageBytes = sizeMiB * MiB;

// ---------------------------------------------------------------- main

interface Phase {
  name: keyof typeof TARGETS;
  strongroomMs: number;
  resticMs: number;
}

const mbps = (ms: number) => imageBytes / 1e6 / (ms / 1000);
const fmtMiB = (b: number) => `${(b / MiB).toFixed(0)} MiB`;

async function main(): Promise<void> {
  ensureRestic("bench:backup");
  const work = await mkdtemp(path.join(os.tmpdir(), "strongroom-bench-"));
  const cleanup = () => rm(work, { recursive: true, force: true });
  process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));
  try {
    await run(work);
  } finally {
    await cleanup();
  }
}

async function run(work: string): Promise<void> {
  const image = path.join(work, "disk.img");
  const srRepoDir = path.join(work, "strongroom-repo");
  const resticRepo = path.join(work, "restic-repo");
  const resticEnv = { ...process.env, RESTIC_PASSWORD: "bench password", RESTIC_CACHE_DIR: path.join(work, "restic-cache"), RESTIC_REPOSITORY: resticRepo };
  await mkdir(srRepoDir);

  const l = layout(blockCount, seed);
  console.log(`bench:backup — ${fmtMiB(imageBytes)} image (${blockCount} × 1 MiB: 40% random, 40% zeros, 20% duplicates; seed "${seed}"), ${os.cpus().length} cores, node ${process.version}`);
  console.log(`  ${(spawnSync(RESTIC, ["version"]).stdout?.toString() ?? "").trim()}`);
  let t = performance.now();
  await writeImage(image, l, seed);
  console.log(`  image written in ${((performance.now() - t) / 1000).toFixed(1)} s; ${l.changed.length} blocks change before the incremental`);

  // Strongroom: repository and a real Argon2id user key, outside the timed phases.
  const repo: Repository = await createRepository(new FilesystemStore(srRepoDir));
  t = performance.now();
  const password = await createPasswordKey("bench: correct horse battery staple", { params: DEFAULT_KDF_PARAMS });
  const kdfMs = performance.now() - t;
  const ring = new KeyRing().addPasswordKey(password);
  await restic(resticEnv, ["init", "--quiet"]);

  const memory = new MemoryWatch();
  const phases: Phase[] = [];
  const strongroom = async <T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> => {
    memory.start();
    const started = performance.now();
    try {
      const value = await fn();
      return { ms: performance.now() - started, value };
    } finally {
      memory.stop();
    }
  };
  const backup = async (plan: Parameters<typeof backupDisk>[0]["plan"], chainId?: string) => {
    const reader = await FileDiskReader.open(image);
    try {
      const session = await repo.beginPoint({ chainId, protection: { password } });
      try {
        const disk = await backupDisk({ session, diskId: "scsi0:0", reader, blockSize: repo.config.blockSize, plan });
        const jobs = session.codecJobs;
        return { disk, jobs, commit: await session.commit() };
      } catch (e) {
        await session.abort();
        throw e;
      }
    } finally {
      await reader.close();
    }
  };

  // (a) full
  await hashFile(image);
  const full = await strongroom(() => backup({ kind: "full", areas: "all" }));
  await hashFile(image);
  const resticFull = await restic(resticEnv, ["backup", "--quiet", image]);
  phases.push({ name: "full", strongroomMs: full.ms, resticMs: resticFull });
  const s1 = full.value.disk.stats;
  const threads = (j: { threadCount: number; threads: number; inline: number }) => `${j.threadCount} worker threads, codec jobs ${j.threads} on threads / ${j.inline} inline`;
  console.log(`  full: ${full.value.disk.zeroBlocks} zero, ${s1.dedupedBlocks} deduplicated, ${s1.storedBlocks} stored blocks (${fmtMiB(s1.bytesStored)}); ${threads(full.value.jobs)}`);

  // (b) incremental: 1% of the blocks changed
  await changeBlocks(image, l, seed);
  const sourceHash = await hashFile(image);
  const areas = l.changed.map((i) => ({ start: i * MiB, length: MiB }));
  const incr = await strongroom(() => backup({ kind: "incremental", areas }, full.value.commit.chainId));
  await hashFile(image);
  const resticIncr = await restic(resticEnv, ["backup", "--quiet", image]);
  phases.push({ name: "incremental", strongroomMs: incr.ms, resticMs: resticIncr });
  const s2 = incr.value.disk.stats;
  console.log(`  incremental: ${s2.blocksIn} blocks read, ${s2.storedBlocks} stored, ${s2.inheritedBlocks} inherited; ${threads(incr.value.jobs)}`);

  // (c) full restore to a file
  const srOut = path.join(work, "strongroom-restore.img");
  const restore = await strongroom(async () => {
    const point = await repo.readPoint(incr.value.commit.pointId, ring);
    try {
      return await restoreDiskToFile({ point, diskId: "scsi0:0", file: srOut });
    } finally {
      point.close();
    }
  });
  const resticOutDir = path.join(work, "restic-restore");
  const resticRestore = await restic(resticEnv, ["restore", "latest", "--quiet", "--target", resticOutDir]);
  phases.push({ name: "restore", strongroomMs: restore.ms, resticMs: resticRestore });
  const srHash = await hashFile(srOut);
  const resticHash = await hashFile(path.join(resticOutDir, image));
  await rm(srOut, { force: true });

  // ---- report
  console.log("");
  console.log(`  MB/s = image size (${(imageBytes / 1e6).toFixed(0)} MB) / wall time of the phase; ratio = Strongroom / restic`);
  const rows = [["phase", "Strongroom s", "Strongroom MB/s", "restic s", "restic MB/s", "ratio", "target", "result"]];
  let allPass = true;
  for (const p of phases) {
    const ratio = p.resticMs / p.strongroomMs;
    const pass = ratio >= TARGETS[p.name];
    allPass &&= pass;
    rows.push([p.name, (p.strongroomMs / 1000).toFixed(2), mbps(p.strongroomMs).toFixed(0), (p.resticMs / 1000).toFixed(2), mbps(p.resticMs).toFixed(0), `${ratio.toFixed(2)}×`, `≥ ${TARGETS[p.name]}×`, pass ? "pass" : "FAIL"]);
  }
  const peak = Math.max(memory.peakRss, memory.peakHwm);
  const memPass = peak <= RSS_TARGET;
  allPass &&= memPass;
  rows.push(["peak RSS", `sampled ${fmtMiB(memory.peakRss)}`, `VmHWM ${fmtMiB(memory.peakHwm)}${hwmResettable ? "" : " (not reset)"}`, "", "", "", `≤ ${fmtMiB(RSS_TARGET)}`, memPass ? "pass" : "FAIL"]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const [i, r] of rows.entries()) {
    console.log("  " + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
    if (i === 0) console.log("  " + widths.map((w) => "-".repeat(w)).join("  "));
  }
  console.log("");
  const srOk = srHash === sourceHash;
  const resticOk = resticHash === sourceHash;
  console.log(`  restored image = source (BLAKE3): Strongroom ${srOk ? "yes" : "NO"}, restic ${resticOk ? "yes" : "NO"}`);
  console.log(`  warm runs: the page cache cannot be dropped here, so the image was read once before each timed phase`);
  console.log(`  Argon2id user key (${DEFAULT_KDF_PARAMS.memoryKiB / 1024} MiB, t = ${DEFAULT_KDF_PARAMS.iterations}, p = ${DEFAULT_KDF_PARAMS.parallelism}) derived once outside the timed phases: ${(kdfMs / 1000).toFixed(2)} s`);
  console.log(`  restic restores every byte through the page cache (no sparse restore in 0.14); Strongroom writes a sparse`);
  console.log(`  file (data blocks only, O_DIRECT where the filesystem allows) and fsyncs it, reading packs it wrote with O_DIRECT (not cached)`);
  if (!srOk || !resticOk) throw new Error("a restored image differs from the source");
  process.exitCode = allPass ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
