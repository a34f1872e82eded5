// A replication killed -9 mid-way (issue 11, REP-1): "a run cut off leaves the last complete
// replica point intact and invisible half-work; the next run resumes".
//
//   incremental  a job replicated once (point 1); ~1% of the source's blocks change; the second run
//                runs on a victim worker whose replica writes are slowed down (the lab's simulated
//                link, STRONGROOM_LAB_WRITE_MIB_PER_SECOND) and is killed with SIGKILL while its
//                disks are open for writing. Then: no new ReplicaPoint, the replica's snapshot list
//                as it was, the replica at point 1 bit for bit the source at point 1; another worker
//                takes the VM over (attempt 2) and ends in Success with point 2 equal to the source
//                now; the victim's and the taker's work never overlap in time.
//   first run    killed mid-copy: no point at all; the taker deletes the half-made VM, makes the
//                replica again and finishes.
//
// Worker processes need PostgreSQL.
import type { PgBoss } from "pg-boss";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { db } from "@/lib/db/client";
import { jobQueue } from "@/lib/jobs";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import type { PlatformVm } from "@/lib/platform/connector";
import { killChild, startWorker, stopAllChildren, waitFor, type ChildHandle } from "@/lib/testing/child-processes";
import { makeActor } from "@/lib/testing/factories";
import { areasOf, diskHashes, replicationJobInput } from "@/lib/testing/replication-fixtures";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { ensureJobEngine, runBackupSession } from "@/lib/testing/run-jobs";
import { platform, replicationHosts } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { JOB_HANDLERS } from "../job-handlers";
import { createReplicationJob } from "./create-replication-job";
import { runReplicationJobNow } from "./run-replication-job";

const PG = inject("strongroomTestProvider") === "postgresql";

let admin: Awaited<ReturnType<typeof makeActor>>;
let source: PlatformVm;
let undo: UndoVm | undefined;
const made = new Set<string>();

/** This test process queues replications but leaves running them to the worker processes. */
const boss = () => (jobQueue() as unknown as { boss: PgBoss }).boss;

beforeAll(async () => {
  if (!PG) return;
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  await ensureJobEngine();
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  await platform().guestWrites(source.externalId, 1, 41);
}, 120_000);

afterEach(async () => stopAllChildren(), 60_000);

afterAll(async () => {
  if (!PG) return;
  await stopAllChildren();
  for (const r of await db.replica.findMany({ where: { job: { createdById: admin.id } }, select: { replicaVmExternalId: true } })) if (r.replicaVmExternalId) made.add(r.replicaVmExternalId);
  for (const id of made) await replicationHosts().target.deleteVm(id).catch(() => undefined);
  // Give this process its replications back, as the engine registered them (lib/jobs/engine.ts).
  const h = JOB_HANDLERS["replicate-vm"]!;
  await jobQueue().work("replicate-vm", { concurrency: h.concurrency }, (job) => h.handler(job));
  await undo?.().catch(() => undefined);
  await syncInventoryFromPlatform();
}, 120_000);

async function story(sessionId: string, children: ChildHandle[]) {
  const vms = await db.sessionVm.findMany({ where: { sessionId }, select: { state: true, workerId: true, attempt: true, progress: true } });
  const events = await db.sessionEvent.findMany({ where: { sessionId }, orderBy: { id: "asc" }, select: { type: true, workerId: true, text: true } });
  const tails = children.map((c) => `--- ${c.label} (pid ${c.pid}):\n${c.output().slice(-1500)}`).join("\n");
  return `${JSON.stringify({ vms: vms.map((v) => ({ ...v, progress: JSON.parse(v.progress) })), events: events.slice(-30) }, null, 1)}\n${tails}`;
}

async function sessionEnd(sessionId: string, children: ChildHandle[]) {
  return waitFor(
    `session ${sessionId} to end`,
    async () => {
      const s = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId } });
      return s.state !== "queued" && s.state !== "running" ? s : null;
    },
    { timeoutMs: 300_000, intervalMs: 500, describe: () => story(sessionId, children) },
  );
}

/** The victim's and the taker's events never overlap: everything the victim logged came before the kill, the taker's after. */
async function expectNoOverlap(sessionId: string, victim: string, taker: string, killedAt: number, told: string) {
  const events = await db.sessionEvent.findMany({ where: { sessionId, workerId: { in: [victim, taker] } }, select: { workerId: true, at: true } });
  const last = Math.max(...events.filter((e) => e.workerId === victim).map((e) => e.at.getTime()));
  const first = Math.min(...events.filter((e) => e.workerId === taker).map((e) => e.at.getTime()));
  expect(last, told).toBeLessThanOrEqual(killedAt);
  expect(first, told).toBeGreaterThanOrEqual(killedAt);
}

describe("a replication whose worker is killed -9 mid-run", () => {
  it.skipIf(!PG)(
    "incremental: point 1 stays intact, the half-written blocks are invisible, another worker takes over and ends in point 2 equal to the source [PostgreSQL only: worker processes]",
    async () => {
      const p = platform();
      const { id: jobId } = await createReplicationJob(admin, await replicationJobInput([source]));
      // Point 1, run by this process.
      const first = await runBackupSession((await runReplicationJobNow(admin, { jobId })).sessionId);
      expect(first.state, first.error ?? "").toBe("success");
      await boss().offWork("replicate-vm");
      const replica = await db.replica.findFirstOrThrow({ where: { jobId }, include: { points: true } });
      const replicaVm = replica.replicaVmExternalId!;
      made.add(replicaVm);
      expect(replica.points).toHaveLength(1);
      const point1 = replica.points[0].snapshotId;
      const atPoint1 = await diskHashes(source.externalId, source);
      expect((await diskHashes(replicaVm, source, areasOf(atPoint1))).get(source.disks[0].deviceKey)!.hash).toBe(atPoint1.get(source.disks[0].deviceKey)!.hash);

      // A few of the source's blocks change: ~1% of a disk's blocks would be less than one of the lab's
      // 1 MiB CBT blocks here (16 MiB of data per disk), so 7% of the written blocks — one or two per disk.
      await p.guestWrites(source.externalId, 0.07, 42);
      const now = await diskHashes(source.externalId, source);
      for (const d of source.disks) expect(now.get(d.deviceKey)!.hash, `${d.label} changed`).not.toBe(atPoint1.get(d.deviceKey)!.hash);
      const snapshotsBefore = (await replicationHosts().target.listSnapshots(replicaVm)).map((s) => s.id);
      expect(snapshotsBefore).toEqual([point1]);

      // 1 MiB in 20 s per disk: the victim's blocks are on the replica's disks, its run far from its point.
      const victim = await startWorker("victim", { STRONGROOM_LAB_WRITE_MIB_PER_SECOND: "0.05", STRONGROOM_WORKER_CONCURRENCY: "2" });
      const { sessionId } = await runReplicationJobNow(admin, { jobId });
      const writing = await waitFor(
        "the victim writing every disk of the replica",
        async () => {
          const row = await db.sessionVm.findFirst({ where: { sessionId, state: "running", workerId: victim.workerId } });
          const opened = await db.sessionEvent.count({ where: { sessionId, workerId: victim.workerId, type: "disk-planned", text: { contains: "written by" } } });
          return row && opened === source.disks.length ? row : null;
        },
        { timeoutMs: 120_000, intervalMs: 200, describe: () => story(sessionId, [victim]) },
      );
      await new Promise((r) => setTimeout(r, 2_000)); // the first blocks land at once; their pacing holds the run
      const killedAt = Date.now();
      await killChild(victim);
      const left = await db.sessionVm.findUniqueOrThrow({ where: { id: writing.id } });
      expect(left, `the victim finished before it was killed (slow its writes down)\n${await story(sessionId, [victim])}`).toMatchObject({ state: "running", workerId: victim.workerId, attempt: 1 });
      expect((JSON.parse(left.progress) as VmRunProgress).disks.every((d) => d.done)).toBe(false);

      // The half-work is invisible: no new point row, the replica's snapshot list as it was…
      expect(await db.replicaPoint.count({ where: { replicaId: replica.id } })).toBe(1);
      expect(await db.replica.findUniqueOrThrow({ where: { id: replica.id } })).toMatchObject({ replicaVmExternalId: replicaVm, lastPointId: point1 });
      expect((await replicationHosts().target.listSnapshots(replicaVm)).map((s) => s.id)).toEqual(snapshotsBefore);
      // …the victim did write blocks past point 1 (the live disk is no longer point 1)…
      const halfWritten = await diskHashes(replicaVm, source, areasOf(atPoint1));
      expect(source.disks.some((d) => halfWritten.get(d.deviceKey)!.hash !== atPoint1.get(d.deviceKey)!.hash), "the victim wrote nothing before it was killed").toBe(true);
      // …and point 1 is intact: reverted to it (as the next run does first), the replica is the source at point 1.
      await replicationHosts().target.revertToSnapshot(replicaVm, point1);
      const reverted = await diskHashes(replicaVm, source, areasOf(atPoint1));
      for (const d of source.disks) expect(reverted.get(d.deviceKey)!.hash, `${d.label} at point 1`).toBe(atPoint1.get(d.deviceKey)!.hash);

      const taker = await startWorker("taker", { STRONGROOM_WORKER_CONCURRENCY: "2" });
      const ended = await sessionEnd(sessionId, [victim, taker]);
      const told = await story(sessionId, [victim, taker]);
      expect(ended.state, told).toBe("success");
      const row = await db.sessionVm.findUniqueOrThrow({ where: { id: writing.id } });
      expect(row, told).toMatchObject({ state: "success", attempt: 2, workerId: taker.workerId });
      expect(JSON.parse(row.progress).incremental, told).toBe(true);
      expect(await db.sessionEvent.count({ where: { sessionId, type: "taken-over" } }), told).toBe(1);
      await expectNoOverlap(sessionId, victim.workerId, taker.workerId, killedAt, told);
      const after = await db.replica.findUniqueOrThrow({ where: { id: replica.id }, include: { points: { orderBy: { createdAt: "asc" } } } });
      expect(after.replicaVmExternalId).toBe(replicaVm);
      expect(after.points.map((x) => x.snapshotId)).toEqual((await replicationHosts().target.listSnapshots(replicaVm)).map((s) => s.id));
      expect(after.points).toHaveLength(2);
      expect(after.points[0].snapshotId).toBe(point1);
      const point2 = await diskHashes(replicaVm, source, areasOf(now));
      for (const d of source.disks) expect(point2.get(d.deviceKey)!.hash, `${d.label} at point 2`).toBe(now.get(d.deviceKey)!.hash);
    },
    600_000,
  );

  it.skipIf(!PG)(
    "first run killed mid-copy: no replica point; the taker makes the replica again and finishes [PostgreSQL only: worker processes]",
    async () => {
      await boss().offWork("replicate-vm");
      // The source's other replica at the DR site would hold the same MAC addresses: it goes first.
      for (const id of made) await replicationHosts().target.deleteVm(id).catch(() => undefined);
      const { id: jobId } = await createReplicationJob(admin, await replicationJobInput([source]));
      const victim = await startWorker("victim", { STRONGROOM_LAB_WRITE_MIB_PER_SECOND: "0.5", STRONGROOM_WORKER_CONCURRENCY: "2" });
      const { sessionId } = await runReplicationJobNow(admin, { jobId });
      const writing = await waitFor(
        "the victim copying the disks of the new replica",
        async () => {
          const row = await db.sessionVm.findFirst({ where: { sessionId, state: "running", workerId: victim.workerId } });
          const replica = await db.replica.findFirst({ where: { jobId } });
          if (!row || !replica?.replicaVmExternalId) return null;
          const pr = JSON.parse(row.progress) as VmRunProgress;
          return pr.disks.some((d) => d.bytesTransferred > 0) && !pr.disks.every((d) => d.done) ? { row, replica, deadVm: replica.replicaVmExternalId } : null;
        },
        { timeoutMs: 120_000, intervalMs: 250, describe: () => story(sessionId, [victim]) },
      );
      made.add(writing.deadVm);
      const killedAt = Date.now();
      await killChild(victim);
      const left = await db.sessionVm.findUniqueOrThrow({ where: { id: writing.row.id } });
      expect(left, `the victim finished before it was killed\n${await story(sessionId, [victim])}`).toMatchObject({ state: "running", attempt: 1 });
      // No replica point anywhere: not in the database, not on the half-made VM.
      expect(await db.replicaPoint.count({ where: { replicaId: writing.replica.id } })).toBe(0);
      expect(await db.replica.findUniqueOrThrow({ where: { id: writing.replica.id } })).toMatchObject({ lastPointId: null });
      expect(await replicationHosts().target.listSnapshots(writing.deadVm)).toEqual([]);

      const taker = await startWorker("taker", { STRONGROOM_WORKER_CONCURRENCY: "2" });
      const ended = await sessionEnd(sessionId, [victim, taker]);
      const told = await story(sessionId, [victim, taker]);
      expect(ended.state, told).toBe("success");
      expect(await db.sessionVm.findUniqueOrThrow({ where: { id: writing.row.id } }), told).toMatchObject({ state: "success", attempt: 2, workerId: taker.workerId });
      await expectNoOverlap(sessionId, victim.workerId, taker.workerId, killedAt, told);
      const replica = await db.replica.findUniqueOrThrow({ where: { id: writing.replica.id }, include: { points: true } });
      expect(replica.points, told).toHaveLength(1);
      expect(replica.replicaVmExternalId).not.toBe(writing.deadVm);
      made.add(replica.replicaVmExternalId!);
      const inv = await platform().inventory();
      expect(inv.vms.some((v) => v.externalId === writing.deadVm), "the half-made replica is gone").toBe(false);
      const now = await diskHashes(source.externalId, source);
      const rep = await diskHashes(replica.replicaVmExternalId!, source, areasOf(now));
      for (const d of source.disks) expect(rep.get(d.deviceKey)!.hash, d.label).toBe(now.get(d.deviceKey)!.hash);
    },
    600_000,
  );
});
