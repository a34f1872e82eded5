// Seeding a replica from a restore point already in a repository (REP-1): a job with
// seedFromRepositoryId makes each VM's first run write the replica from the VM's newest point
// there and ship only the blocks changed on the source since the point's change ids. The replica
// is then bit for bit the source, and later runs are ordinary incrementals. A seed point of another
// VM, or one whose keys this console does not hold, is refused with what to do — when the job is
// made (nothing written) and when it runs (no replica VM created, nothing written).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/db/client";
import type { PlatformVm } from "@/lib/platform/connector";
import { dbState, expectAppError, expectUnchangedSince } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { areasOf, diskHashes, replicationJobInput } from "@/lib/testing/replication-fixtures";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { createBackupRepository } from "../backup/create-repository";
import { runBackupJobNow } from "../backup/run-backup-job";
import { createBackupJob } from "../backup/save-backup-job";
import { platform, replicationHosts } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { createReplicationJob } from "./create-replication-job";
import { runReplicationJobNow } from "./run-replication-job";

const PASSWORD = "correct-horse-battery-staple-43";

let admin: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;
let source: PlatformVm;
let undo: UndoVm | undefined;
let repositoryId: string;
let otherRepositoryId: string;
let backupJobId: string;
let pointId: string;
let other: PlatformVm;
let otherPointId: string;
let changedBlocks: number;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-replication-seed-"));
  repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("dr-repo"), path: path.join(tmp, "dr-repo") })).id;
  otherRepositoryId = (await createBackupRepository(admin, { name: uniqueEmail("other-repo"), path: path.join(tmp, "other-repo") })).id;
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  await platform().guestWrites(source.externalId, 1, 61);
  await syncInventoryFromPlatform();
  const inv = await platform().inventory();
  other = inv.vms.find((v) => v.siteExternalId === source.siteExternalId && v.externalId !== source.externalId && !v.encrypted && !v.vtpm && v.disks.length > 0)!;
  const vmRow = await db.vm.findFirstOrThrow({ where: { externalId: source.externalId } });
  const otherRow = await db.vm.findFirstOrThrow({ where: { externalId: other.externalId } });
  const job = await createBackupJob(admin, {
    name: uniqueEmail("seed-backup"),
    selection: [
      { kind: "vm", id: vmRow.id, label: vmRow.name },
      { kind: "vm", id: otherRow.id, label: otherRow.name },
    ],
    repositoryId,
    retentionPoints: 3,
    proxyMode: "automatic",
    failoverToNetwork: true,
    encryptionMode: "password",
    password: PASSWORD,
    passwordConfirm: PASSWORD,
    passwordHint: "the usual one",
    schedule: { kind: "manual" },
  });
  backupJobId = job.id;
  const s = await runBackupSession((await runBackupJobNow(admin, { jobId: job.id })).sessionId, 180_000);
  expect(s.state, s.error ?? "").toBe("success");
  pointId = (await db.restorePoint.findFirstOrThrow({ where: { repositoryId, vmExternalId: source.externalId } })).id;
  otherPointId = (await db.restorePoint.findFirstOrThrow({ where: { repositoryId, vmExternalId: other.externalId } })).id;
  // The source moves on after its backup: only these blocks should cross to the DR site.
  changedBlocks = (await platform().guestWrites(source.externalId, 0.05, 62)).changedBlocks;
  expect(changedBlocks).toBeGreaterThan(0);
}, 240_000);

afterEach(async () => {
  vi.restoreAllMocks();
  for (const r of await db.replica.findMany({ where: { job: { createdById: admin.id } }, select: { replicaVmExternalId: true } })) {
    if (r.replicaVmExternalId) await replicationHosts().target.deleteVm(r.replicaVmExternalId).catch(() => undefined);
  }
}, 60_000);

afterAll(async () => {
  await undo?.().catch(() => undefined);
  await syncInventoryFromPlatform();
  fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

async function run(jobId: string) {
  const s = await runBackupSession((await runReplicationJobNow(admin, { jobId })).sessionId, 180_000);
  const vm = await db.sessionVm.findFirstOrThrow({ where: { sessionId: s.id } });
  const events = await db.sessionEvent.findMany({ where: { sessionId: s.id }, orderBy: { id: "asc" }, select: { type: true, text: true, data: true } });
  const sum = (type: string, key: string) => events.filter((e) => e.type === type).reduce((n, e) => n + Number((JSON.parse(e.data) as Record<string, unknown>)[key] ?? 0), 0);
  return { session: s, vm, progress: JSON.parse(vm.progress) as { error: string | null; incremental: boolean | null }, events, log: events.map((e) => e.text).join("\n"), shipped: sum("disk-done", "blocksWritten"), seeded: sum("disk-seeded", "blocksWritten") };
}

describe("a replica seeded from a restore point (REP-1)", { timeout: 300_000 }, () => {
  it("the first run writes the point's blocks, ships only those changed since it, and the replica is bit for bit the source", async () => {
    const { id: jobId } = await createReplicationJob(admin, await replicationJobInput([source], { seedFromRepositoryId: repositoryId }));
    expect(await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ seedFromRepositoryId: repositoryId });
    const first = await run(jobId);
    expect(first.session.state, first.log).toBe("success");
    expect(first.log).toContain(`seeded from restore point ${pointId}`);
    expect(first.events.filter((e) => e.type === "disk-seeded")).toHaveLength(source.disks.length);
    // Shipped: the blocks changed since the backup, far fewer than a full copy (every block the point holds).
    expect(first.shipped).toBeGreaterThan(0);
    expect(first.shipped).toBeLessThanOrEqual(changedBlocks);
    expect(first.seeded).toBeGreaterThanOrEqual(5 * first.shipped);
    expect(Number(first.session.bytesStored)).toBeLessThanOrEqual(changedBlocks * 1024 * 1024);
    console.info(`[replication-seed] seeded first run: ${first.seeded} blocks from the restore point, ${first.shipped} shipped from the source (${changedBlocks} changed since the backup), ${first.session.bytesStored} bytes shipped`);
    const replica = await db.replica.findFirstOrThrow({ where: { jobId }, include: { points: true } });
    expect(replica.points).toHaveLength(1);
    const now = await diskHashes(source.externalId, source);
    const rep = await diskHashes(replica.replicaVmExternalId!, source, areasOf(now));
    for (const d of source.disks) expect(rep.get(d.deviceKey)!.hash, d.label).toBe(now.get(d.deviceKey)!.hash);

    // From then on an ordinary replica: the next run is an incremental from its point, not seeded again.
    await platform().guestWrites(source.externalId, 0.05, 63);
    const second = await run(jobId);
    expect(second.session.state, second.log).toBe("success");
    expect(second.progress.incremental).toBe(true);
    expect(second.seeded).toBe(0);
    const now2 = await diskHashes(source.externalId, source);
    const rep2 = await diskHashes(replica.replicaVmExternalId!, source, areasOf(now2));
    for (const d of source.disks) expect(rep2.get(d.deviceKey)!.hash, d.label).toBe(now2.get(d.deviceKey)!.hash);
  });

  it("a seed point of another VM is refused: when the job is made (nothing written) and when it runs (nothing created)", async () => {
    const { id: madeEarlier } = await createReplicationJob(admin, await replicationJobInput([source], { seedFromRepositoryId: repositoryId }));
    // The catalogue lists the other VM's point as the source's newest (a repository adopted with a
    // clashing id): the point's own sealed description says whose it is.
    const orig = await db.restorePoint.findUniqueOrThrow({ where: { id: otherPointId } });
    await db.restorePoint.update({ where: { id: otherPointId }, data: { vmExternalId: source.externalId, createdAt: new Date() } });
    try {
      const before = await dbState();
      const e = await expectAppError(createReplicationJob(admin, await replicationJobInput([source], { seedFromRepositoryId: repositoryId })), "CONFLICT");
      expect(e.message).toContain(`is a backup of ${other.name}`);
      expect(e.message).toMatch(/only seeded from its own VM's backup/);
      console.info(`[replication-seed] refused: ${e.message}`);
      expect(e.fieldErrors?.seedFromRepositoryId).toBeDefined();
      await expectUnchangedSince(before);

      const createVm = vi.spyOn(replicationHosts().target, "createVm");
      const r = await run(madeEarlier);
      expect(r.vm.state).toBe("failed");
      expect(r.progress.error).toContain(`is a backup of ${other.name}`);
      expect(r.progress.error).toMatch(/Nothing was written/);
      expect(createVm).not.toHaveBeenCalled();
      expect(await db.replica.findFirstOrThrow({ where: { jobId: madeEarlier }, include: { points: true } })).toMatchObject({ replicaVmExternalId: null, points: [] });
    } finally {
      await db.restorePoint.update({ where: { id: otherPointId }, data: { vmExternalId: orig.vmExternalId, createdAt: orig.createdAt } });
    }
  });

  it("a seed point whose keys this console does not hold is refused with what to do: when the job is made and when it runs", async () => {
    const input = await replicationJobInput([source], { seedFromRepositoryId: repositoryId });
    const { id: madeEarlier } = await createReplicationJob(admin, await replicationJobInput([source], { seedFromRepositoryId: repositoryId }));
    // The job that wrote the points (and holds their password key) no longer writes to this
    // repository: as on a console that adopted the DR repository without its password.
    await db.backupJob.update({ where: { id: backupJobId }, data: { repositoryId: otherRepositoryId } });
    try {
      const before = await dbState();
      const e = await expectAppError(createReplicationJob(admin, input), "CONFLICT");
      expect(e.message).toMatch(/cannot seed its replica/);
      expect(e.message).toMatch(/cannot be opened with the keys this console holds/);
      expect(e.message).toMatch(/Unlock the repository with its backup password/);
      console.info(`[replication-seed] refused: ${e.message}`);
      await expectUnchangedSince(before);

      const createVm = vi.spyOn(replicationHosts().target, "createVm");
      const r = await run(madeEarlier);
      expect(r.vm.state).toBe("failed");
      expect(r.progress.error).toMatch(/cannot be opened with the keys this console holds/);
      expect(r.progress.error).toMatch(/Nothing was written/);
      expect(createVm).not.toHaveBeenCalled();
      expect(await db.replica.findFirstOrThrow({ where: { jobId: madeEarlier } })).toMatchObject({ replicaVmExternalId: null, lastPointId: null });
    } finally {
      await db.backupJob.update({ where: { id: backupJobId }, data: { repositoryId } });
    }
  });
});
