// Crash safety with a real crash (BKP-6): a child process backs up a multi-MiB disk image into a
// filesystem repository — real files, fsyncs, worker threads — and is killed with SIGKILL at
// seeded random moments: after some bytes were read, or just after its n-th durable write (the
// first is its lock, so some kills land before the session has begun). After
// each kill the earlier point is intact and verifies clean, and the killed session left no visible
// point. Then a run that is not killed commits and restores bit for bit, and retention clears
// every file the killed runs left behind. The seed can be set with KILL9_SEED to replay a run.
import { spawn } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { encodeKeyHeader } from "../keys/key-header";
import { KeyRing } from "../keys/key-ring";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "../keys/user-key";
import { backupDisk } from "../pipeline/backup-disk";
import { FileDiskReader } from "../pipeline/file-disk-reader";
import { restoreDiskToFile } from "../pipeline/restore-disk";
import { FilesystemStore } from "./filesystem-store";
import { createRepository, openRepository } from "./repository";

const ROOT = path.resolve(__dirname, "../../..");
const CHILD = path.join(__dirname, "kill9-child.ts");
const BLOCK = 64 * 1024;
const BLOCKS = 512; // 32 MiB
const KILLS = 5;
const SEED = Number(process.env.KILL9_SEED ?? 20260601);

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Block `i` of image generation `gen`: zeros, or incompressible bytes, some blocks repeating others. */
function blockOf(i: number, gen: number): Buffer {
  if (i % 7 === 3) return Buffer.alloc(BLOCK);
  const id = i % 11 === 5 ? i - 1 : i; // a duplicate of its neighbour
  const changed = gen > 0 && id % 5 !== 0; // generation 1 rewrites 80% of the data blocks
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(id, 0);
  iv.writeUInt32BE(changed ? gen : 0, 4);
  return createCipheriv("aes-256-ctr", createHash("sha256").update("kill9").digest(), iv).update(Buffer.alloc(BLOCK));
}

async function writeImage(file: string, gen: number): Promise<string> {
  const fh = await open(file, "w");
  const hash = createHash("sha256");
  for (let i = 0; i < BLOCKS; i++) {
    const b = blockOf(i, gen);
    hash.update(b);
    await fh.write(b, 0, BLOCK, i * BLOCK);
  }
  await fh.close();
  return hash.digest("hex");
}

const sha256File = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

type Trigger = { kind: "bytes"; atLeast: number } | { kind: "write"; nth: number; delayMs: number };

interface ChildRun {
  lines: string[];
  killed: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function runChild(args: string[], trigger?: Trigger): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const run: ChildRun = { lines: [], killed: false, code: null, signal: null, stderr: "" };
    let writes = 0;
    const kill = () => {
      if (run.killed) return;
      run.killed = true;
      child.kill("SIGKILL");
    };
    createInterface({ input: child.stdout }).on("line", (line) => {
      run.lines.push(line);
      if (!trigger || run.killed) return;
      if (trigger.kind === "bytes" && line.startsWith("read ") && Number(line.slice(5)) >= trigger.atLeast) kill();
      if (trigger.kind === "write" && line.startsWith("put ") && ++writes === trigger.nth) setTimeout(kill, trigger.delayMs);
    });
    child.stderr.on("data", (d: Buffer) => (run.stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

describe("a backup process killed with SIGKILL", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "strongroom-kill9-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("leaves the earlier point intact and no new point, and the next run succeeds and restores bit for bit", { timeout: 120_000 }, async () => {
    const random = rng(SEED);
    const repoDir = path.join(dir, "repo");
    const image = path.join(dir, "disk.img");
    const firstHash = await writeImage(image, 0);

    // The earlier point, written in this process.
    const repo = await createRepository(new FilesystemStore(repoDir), { blockSize: BLOCK, packTargetSize: 16 * BLOCK });
    const password = "kill nine, then restore";
    const key = await createPasswordKey(password, { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
    const ring = new KeyRing().addPasswordKey(key);
    const reader = await FileDiskReader.open(image);
    const session = await repo.beginPoint({ protection: { password: key } });
    await backupDisk({ session, diskId: "scsi0:0", reader, blockSize: BLOCK, plan: { kind: "full", areas: "all" } });
    const first = await session.commit();
    await reader.close();

    // The disk changes; the child backs it up into the same chain (deduplicating against the first point).
    const secondHash = await writeImage(image, 1);
    const args = [repoDir, image, first.chainId, encodeKeyHeader(key.header).toString("hex"), password, "1"];
    const dataBytes = BLOCKS * BLOCK;
    const firstImage = path.join(dir, "first.img");
    let killedMidWrite = 0;
    for (let k = 0; k < KILLS; k++) {
      const trigger: Trigger =
        k % 2 === 0 ? { kind: "bytes", atLeast: Math.floor((0.05 + 0.85 * random()) * dataBytes) } : { kind: "write", nth: 1 + Math.floor(random() * 12), delayMs: Math.floor(random() * 5) };
      const run = await runChild(args, trigger);
      const what = `kill ${k + 1} (seed ${SEED}, ${JSON.stringify(trigger)})`;
      expect(run.stderr, what).toBe("");
      expect(run.killed && run.signal === "SIGKILL", `${what}: the child finished before the kill`).toBe(true);
      expect(run.lines.some((l) => l.startsWith("committed")), what).toBe(false);
      if (run.lines.some((l) => l.startsWith("put packs/"))) killedMidWrite++;
      if (process.env.KILL9_DEBUG) process.stderr.write(`${what}: ${run.lines.filter((l) => l.startsWith("put ")).length} writes, last "${run.lines.at(-1)}"\n`);

      // A new process: the killed session left no visible point, the earlier one is whole.
      const after = await openRepository(new FilesystemStore(repoDir));
      const { points, unreadable } = await after.listPoints();
      expect(unreadable, what).toEqual([]);
      expect(points.map((p) => p.pointId), what).toEqual([first.pointId]);
      const report = await after.verify({ keyRing: ring });
      expect(report.ok, what).toBe(true);
      expect(report.points.map((p) => p.status), what).toEqual(["ok"]);
      const point = await after.readPoint(first.pointId, ring);
      await restoreDiskToFile({ point, diskId: "scsi0:0", file: firstImage });
      point.close();
      expect(await sha256File(firstImage), what).toBe(firstHash);
    }
    expect(killedMidWrite).toBeGreaterThan(0); // some kills landed after packs were written

    // The killed sessions' locks are still there (their leases run for hours).
    expect((await new FilesystemStore(repoDir).list("locks/")).length).toBeGreaterThan(0);

    // The next run, not killed, commits (clearing the stale locks); its point restores bit for bit.
    const done = await runChild(args);
    expect(done.stderr).toBe("");
    expect(done.code).toBe(0);
    const pointId = done.lines.find((l) => l.startsWith("committed "))!.slice("committed ".length);
    const after = await openRepository(new FilesystemStore(repoDir));
    expect((await after.listPoints()).points.map((p) => p.pointId)).toEqual([first.pointId, pointId]);
    const restored = path.join(dir, "second.img");
    const point = await after.readPoint(pointId, ring);
    await restoreDiskToFile({ point, diskId: "scsi0:0", file: restored });
    point.close();
    expect(await sha256File(restored)).toBe(secondHash);

    // The killed runs' packs, temporaries and locks are debris. Their locks are stale at once (the
    // processes are gone, though the leases run for hours): retention clears them, keeps the
    // orphan packs through the grace period, then reclaims them and says how many bytes.
    const now = await openRepository(new FilesystemStore(repoDir));
    const held = await now.applyRetention({ keep: 10 });
    expect(await now.store.list("locks/")).toEqual([]);
    expect(held.orphanPacksReclaimed).toBe(0);
    const later = await openRepository(new FilesystemStore(repoDir), { now: () => Date.now() + 2 * 60 * 60 * 1000 });
    const before = await later.verify({ keyRing: ring });
    expect(before.ok).toBe(true);
    expect(before.unreferencedPacks.length).toBeGreaterThan(0);
    const reclaimed = await later.applyRetention({ keep: 10 });
    expect(reclaimed.orphanPacksReclaimed).toBe(before.unreferencedPacks.length);
    expect(reclaimed.reclaimedOrphanBytes).toBeGreaterThan(0);
    const clean = await later.verify({ keyRing: ring });
    expect(clean.ok).toBe(true);
    expect(clean.unreferencedPacks).toEqual([]);
    expect(clean.temporaries).toBe(0);
    expect(clean.points.map((p) => p.status)).toEqual(["ok", "ok"]);
  });
});
