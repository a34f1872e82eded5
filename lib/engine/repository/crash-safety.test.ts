// Crash safety (BKP-6): an incremental session is interrupted at every write it makes — process
// killed before a rename, an I/O error half-way, a full disk — and each time the earlier point is
// intact, no half point is visible, the next run succeeds, and retention clears the debris.
import { describe, expect, it } from "vitest";
import { idHex, seededRandom } from "../bytes";
import { EngineError, KmsUnavailableError } from "../errors";
import { KeyRing } from "../keys/key-ring";
import { MemoryKms } from "../keys/memory-kms";
import type { ProtectionPlan } from "../keys/protection";
import { BLOCK, DAY, noise, readImage, sampleDisk, TestClock, weakPasswordKey } from "../testing/engine-fixtures";
import { FaultyStore, SimulatedCrash, type Fault, type StoreOperation } from "./faulty-store";
import { MemoryStore } from "./memory-store";
import { createRepository, openRepository, type Repository } from "./repository";

const DISK = sampleDisk("crash");

async function incremental(repo: Repository, plan: ProtectionPlan, chainId: string, seed: string) {
  const session = await repo.beginPoint({ chainId, protection: plan });
  try {
    await session.writeDisk("scsi0:0", {
      capacity: DISK.capacity,
      blocks: [
        { index: 2, data: noise(`${seed}-2`, BLOCK) },
        { index: 4, data: noise(`${seed}-4`, BLOCK) },
      ],
      inherit: true,
    });
    await session.writeDisk("scsi0:1", { capacity: 2 * BLOCK, blocks: [{ index: 0, data: noise(`${seed}-d1`, BLOCK) }] });
    return await session.commit();
  } catch (e) {
    await session.abort().catch(() => undefined);
    throw e;
  }
}

async function baseline() {
  const clock = new TestClock();
  const store = new MemoryStore();
  const repo = await createRepository(store, { blockSize: BLOCK, packTargetSize: 2 * BLOCK, now: clock.now, random: seededRandom("crash") });
  const password = await weakPasswordKey();
  const s = await repo.beginPoint({ protection: { password } });
  await s.writeDisk("scsi0:0", { capacity: DISK.capacity, blocks: DISK.blocks });
  const first = await s.commit();
  return { store, clock, password, first };
}

describe("crash safety", async () => {
  // Enumerate the writes of one incremental session (deterministic ids: same writes every run).
  const dry = await baseline();
  const probe = new FaultyStore(dry.store.clone());
  await incremental(await openRepository(probe, { now: dry.clock.now, random: seededRandom("session-2") }), { password: dry.password }, dry.first.chainId, "s2");
  const steps: Array<{ op: StoreOperation; nth: number; name: string }> = [];
  const seen = new Map<StoreOperation, number>();
  for (const { op, name } of probe.log) {
    if (op !== "put" && op !== "delete") continue;
    seen.set(op, (seen.get(op) ?? 0) + 1);
    steps.push({ op, nth: seen.get(op)!, name: name.replace(/[0-9a-f]{32}/g, "…") });
  }

  it("makes enough writes to be worth interrupting", () => {
    expect(steps.map((s) => s.name)).toEqual(expect.arrayContaining(["locks/…", "index/…", "points/…", "chains/….vbm"]));
    expect(steps.filter((s) => s.name.startsWith("packs/")).length).toBeGreaterThanOrEqual(2);
  });

  const faults: Fault[] = [{ kind: "crash-before-rename" }, { kind: "io-error-after-bytes", bytes: 7 }, { kind: "disk-full" }];
  const commitStep = steps.findIndex((s) => s.op === "put" && s.name === "points/…");
  const cases = steps.flatMap((step, i) =>
    faults.map((fault) => ({ label: `${i + 1}. ${step.op} ${step.name}: ${fault.kind}`, step, fault, committed: i > commitStep })),
  );

  it.each(cases)("$label", async ({ step, fault, committed }) => {
    const { store, clock, password, first } = await baseline();
    const faulty = new FaultyStore(store).addFault({ op: step.op, nth: step.nth, fault });
    const repo = await openRepository(faulty, { now: clock.now, random: seededRandom("session-2") });
    const outcome = await incremental(repo, { password }, first.chainId, "s2").then(
      (r) => r,
      (e: unknown) => {
        if (!(e instanceof SimulatedCrash) && !(e instanceof EngineError)) throw e;
        return undefined;
      },
    );

    // A new process on the same storage.
    faulty.revive();
    clock.advance(DAY); // the interrupted session's lock has expired
    const after = await openRepository(faulty, { now: clock.now });
    const ring = new KeyRing().addPasswordKey(password);
    const { points, unreadable } = await after.listPoints();
    expect(unreadable).toEqual([]);
    expect((await readImage(after, first.pointId, ring)).equals(DISK.image)).toBe(true);
    // Visible exactly when the point file was written — never half a point.
    expect(points.length).toBe(committed ? 2 : 1);
    if (outcome) expect(outcome.warnings.length).toBeGreaterThan(0); // failures after commit are warnings
    for (const p of points) expect((await after.verify({ pointId: p.pointId, keyRing: ring })).ok).toBe(true);
    // The chain file, if any, still opens the first point.
    expect(await after.loadChainKeys(first.chainId, new KeyRing().addPasswordKey(password))).toBe(true);

    // The next run succeeds and everything verifies.
    const next = await incremental(after, { password }, first.chainId, "s3");
    expect(next.warnings).toEqual([]);
    const report = await after.verify({ keyRing: ring });
    expect(report.points.every((p) => p.status === "ok")).toBe(true);

    // Retention removes the debris (temporaries, packs of the interrupted session) and nothing else.
    const retention = await after.applyRetention({ keep: 10 });
    expect(retention.deletedPoints).toEqual([]);
    const clean = await after.verify({ keyRing: ring });
    expect(clean.ok).toBe(true);
    expect(clean.unreferencedPacks).toEqual([]);
    expect(clean.temporaries).toBe(0);
    expect((await readImage(after, first.pointId, ring)).equals(DISK.image)).toBe(true);
  });

  it("fails cleanly when the KMS goes down at commit, and the next run succeeds", async () => {
    const clock = new TestClock();
    const store = new MemoryStore();
    const repo = await createRepository(store, { blockSize: BLOCK, packTargetSize: 2 * BLOCK, now: clock.now });
    const kms = new MemoryKms("kms-a");
    kms.createKey("job-key");
    const plan: ProtectionPlan = { kms: { wrapper: kms, kmsKeyId: "job-key" } };
    const s = await repo.beginPoint({ protection: plan });
    await s.writeDisk("scsi0:0", { capacity: DISK.capacity, blocks: DISK.blocks });
    const first = await s.commit();
    const ring = new KeyRing().addKms(kms);

    kms.reachable = false;
    await expect(incremental(repo, plan, first.chainId, "down")).rejects.toBeInstanceOf(KmsUnavailableError);
    expect((await repo.listPoints()).points.map((p) => p.pointId)).toEqual([first.pointId]);

    kms.reachable = true;
    const second = await incremental(repo, plan, first.chainId, "up");
    expect((await repo.verify({ keyRing: ring })).points.map((p) => p.status)).toEqual(["ok", "ok"]);
    expect(second.keyIds).toEqual(["kms:kms-a/job-key@1"]);
    expect(idHex(Buffer.from(first.chainId, "hex"))).toBe(second.chainId);
  });
});
