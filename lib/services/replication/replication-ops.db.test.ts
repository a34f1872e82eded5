// Replication jobs' life after creation (REP-1…4, SEC-1, SEC-2, SEC-4), on the job engine against
// the lab: the schedule fires a due job once however many schedulers race, skips a slot while the
// job's session still runs, and never fires a disabled job; one source VM is read by one backup or
// replication at a time (a replication waits for a backup of its VM, and can be stopped while it
// waits); an edit is validated like a new job and audited with what changed; a key-mode change
// starts a new replica chain (the next run replaces the replica VM with a full copy); weakening the
// keys goes through four-eyes (reject, expiry and a changed job apply nothing; approval applies it);
// delete keeps the replica VMs unless asked, and is refused while a session runs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { approveWithPassword } from "@/lib/testing/approve";
import { dbState, expectAppError, expectUnchangedSince } from "@/lib/testing/db-state";
import { makeActor, TEST_PASSWORD, uniqueEmail, uniqueSuffix } from "@/lib/testing/factories";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { ensureJobEngine, runBackupSession } from "@/lib/testing/run-jobs";
import { rejectRequest } from "../approvals/decide-approval";
import { writeFourEyes } from "../approvals/four-eyes-state";
import { listApprovalRequests } from "../approvals/list-approval-requests";
import { createBackupRepository } from "../backup/create-repository";
import { runBackupJobNow, stopJobSession } from "../backup/run-backup-job";
import { createBackupJob } from "../backup/save-backup-job";
import { platform, replicationHosts } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { createReplicationJob } from "./create-replication-job";
import { deleteReplicationJob } from "./delete-replication-job";
import { runReplicationJobNow } from "./run-replication-job";
import { scheduleDueReplicationJobs } from "./schedule-replication-jobs";
import { setReplicationJobEnabled } from "./set-replication-job-enabled";
import { updateReplicationJob } from "./update-replication-job";

let admin: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;
let operator: Awaited<ReturnType<typeof makeActor>>;
let officer: Awaited<ReturnType<typeof makeActor>>;
let source: PlatformVm;
let undo: UndoVm | undefined;
/** Replica VMs this file made (some are kept at the target on purpose): deleted at the end. */
const made = new Set<string>();

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  viewer = await makeActor("BACKUP_VIEWER");
  operator = await makeActor("RESTORE_OPERATOR");
  officer = await makeActor("SECURITY_OFFICER");
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  await ensureJobEngine();
}, 60_000);
afterAll(async () => {
  await writeFourEyes(db, { enabled: false, expiryHours: 24 });
  for (const r of await db.replica.findMany({ where: { job: { createdById: admin.id } }, select: { replicaVmExternalId: true } })) if (r.replicaVmExternalId) made.add(r.replicaVmExternalId);
  for (const id of made) await replicationHosts().target.deleteVm(id).catch(() => undefined);
  await undo?.();
  await syncInventoryFromPlatform();
}, 60_000);

function dr(inv: InventorySnapshot) {
  const site = inv.sites.find((s) => s.role === "dr")!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const kp = inv.keyProviders.find((k) => k.siteExternalId === site && k.kind === "native")!;
  return { site, encPolicy, encDs: encDs.externalId, plainPolicy, host, kp };
}

/** A job's input for the source VM; `replicaName` fixes the replica's name (else a fresh one). */
async function jobInput(over: Record<string, unknown> = {}, replicaName = `${source.name}_r_${uniqueSuffix().slice(-6)}`) {
  const inv = await platform().inventory();
  const d = dr(inv);
  const vm = inv.vms.find((v) => v.externalId === source.externalId)!;
  const encrypted = (over.keyMode ?? "re-key") !== "unencrypted";
  const enc = { datastoreExternalId: d.encDs, storagePolicyExternalId: d.encPolicy };
  const plain = { datastoreExternalId: d.encDs, storagePolicyExternalId: d.plainPolicy };
  return {
    name: uniqueEmail("repl-ops"),
    vms: [
      {
        vmExternalId: vm.externalId,
        name: replicaName,
        folder: "/Replicas",
        home: encrypted ? enc : plain,
        disks: vm.disks.map((x) => ({ deviceKey: x.deviceKey, ...(encrypted && x.encrypted ? enc : plain) })),
        networks: (vm.nics ?? []).map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: null })),
      },
    ],
    targetSiteExternalId: d.site,
    targetHostExternalId: d.host,
    keyMode: "re-key",
    targetKeyProviderExternalId: d.kp.externalId,
    refuseUnencrypted: false,
    keepPoints: 3,
    schedule: { kind: "manual" },
    ...over,
  };
}

/** The input the job was created with, as the edit form would send it back. */
async function currentInput(jobId: string) {
  const j = await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } });
  const placements = JSON.parse(j.placements) as Record<string, unknown>;
  return {
    name: j.name,
    description: j.description,
    enabled: j.enabled,
    vms: (JSON.parse(j.vmExternalIds) as string[]).map((id) => placements[id]),
    targetSiteExternalId: j.targetSiteExternalId,
    targetHostExternalId: j.targetHostExternalId,
    keyMode: j.keyMode,
    targetKeyProviderExternalId: j.targetKeyProviderExternalId,
    refuseUnencrypted: j.refuseUnencrypted,
    keepPoints: j.keepPoints,
    proxyMode: j.proxyMode,
    proxyIds: JSON.parse(j.proxyIds) as string[],
    schedule: JSON.parse(j.schedule) as unknown,
  };
}

/** A backup (or replication) session that holds the source VM running (a live heartbeat) until released. */
async function holdSourceVmInABackup(kind: "backup" | "replication" = "backup") {
  const s = await db.jobSession.create({ data: { kind, title: `${kind} held by a test`, state: "running", trigger: "manual", startedAt: new Date() } });
  const row = await db.sessionVm.create({ data: { sessionId: s.id, position: 0, vmExternalId: source.externalId, name: source.name, state: "running", heartbeatAt: new Date(), startedAt: new Date(), progress: "{}" } });
  const beat = setInterval(() => void db.sessionVm.update({ where: { id: row.id }, data: { heartbeatAt: new Date() } }).catch(() => undefined), 1_000);
  return {
    sessionId: s.id,
    async release() {
      clearInterval(beat);
      await db.sessionVm.update({ where: { id: row.id }, data: { state: "success", endedAt: new Date() } });
      await db.jobSession.update({ where: { id: s.id }, data: { state: "success", endedAt: new Date() } });
    },
  };
}

async function waitUntil<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const replicaOf = (jobId: string) => db.replica.findFirstOrThrow({ where: { jobId }, include: { points: true } });
const vmExists = async (id: string) => (await platform().inventory()).vms.some((v) => v.externalId === id);

describe("the replication schedule (REP-1)", { timeout: 180_000 }, () => {
  it("a due job fires once however many schedulers race; a slot is skipped while its session runs; a disabled job never fires", async () => {
    const { id: jobId } = await createReplicationJob(admin, await jobInput({ schedule: { kind: "hourly", everyHours: 1 } }));
    const created = await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(created.nextRunAt!.getTime()).toBeGreaterThan(Date.now());
    const past = new Date(Date.now() - 60_000);

    // A session of the job still runs: the slot is skipped, no second session, the next slot is set.
    const running = await db.jobSession.create({ data: { kind: "replication", replicationJobId: jobId, state: "running", trigger: "manual", startedAt: new Date() } });
    await db.replicationJob.update({ where: { id: jobId }, data: { nextRunAt: past } });
    const skipped = await scheduleDueReplicationJobs();
    expect(skipped.skipped).toContain(jobId);
    expect(await db.jobSession.count({ where: { replicationJobId: jobId } })).toBe(1);
    expect((await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } })).nextRunAt!.getTime()).toBeGreaterThan(Date.now());
    await db.jobSession.delete({ where: { id: running.id } });

    // A session whose every VM ended but whose closing was cut off is closed by the scheduler, freeing the slot.
    const cutOff = await db.jobSession.create({ data: { kind: "replication", replicationJobId: jobId, state: "running", trigger: "manual", startedAt: new Date() } });
    await db.sessionVm.create({ data: { sessionId: cutOff.id, position: 0, vmExternalId: source.externalId, name: source.name, state: "success", progress: JSON.stringify({ vmExternalId: source.externalId, name: source.name, status: "success", disks: [] }) } });
    await scheduleDueReplicationJobs();
    expect((await db.jobSession.findUniqueOrThrow({ where: { id: cutOff.id } })).state).toBe("success");
    await db.jobSession.delete({ where: { id: cutOff.id } });

    // Disabled: nothing fires, even with a due nextRunAt left behind.
    await setReplicationJobEnabled(admin, { jobId, enabled: false });
    expect((await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } })).nextRunAt).toBeNull();
    await db.replicationJob.update({ where: { id: jobId }, data: { nextRunAt: past } });
    expect((await scheduleDueReplicationJobs()).started).toEqual([]);
    expect(await db.jobSession.count({ where: { replicationJobId: jobId } })).toBe(0);
    // Enabling computes the next slot from now (missed slots do not all fire).
    await setReplicationJobEnabled(admin, { jobId, enabled: true });
    const enabled = await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(enabled.nextRunAt!.getTime()).toBeGreaterThan(Date.now());
    expect(await db.auditEvent.count({ where: { objectId: jobId, action: { in: ["replication-job.enable", "replication-job.disable"] }, actorId: admin.id } })).toBe(2);

    // Due: three schedulers at once give one session.
    await db.replicationJob.update({ where: { id: jobId }, data: { nextRunAt: past } });
    const runs = await Promise.all([scheduleDueReplicationJobs(), scheduleDueReplicationJobs(), scheduleDueReplicationJobs()]);
    const started = runs.flatMap((r) => r.started);
    expect(started).toHaveLength(1);
    const sessions = await db.jobSession.findMany({ where: { replicationJobId: jobId } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ kind: "replication", trigger: "schedule" });
    expect((await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } })).nextRunAt!.getTime()).toBeGreaterThan(Date.now());
    const done = await runBackupSession(started[0]);
    expect(done.state, done.error ?? "").toBe("success");
    const r = await replicaOf(jobId);
    made.add(r.replicaVmExternalId!);
    expect(r.points).toHaveLength(1);
    await deleteReplicationJob(admin, { jobId, deleteReplicaVms: true });
  });
});

describe("one source VM at a time; stop (decision 0007)", { timeout: 180_000 }, () => {
  it("a replication waits while a backup reads its VM, can be stopped while it waits, and runs once the backup ends", async () => {
    const { id: jobId } = await createReplicationJob(admin, await jobInput());

    const hold = await holdSourceVmInABackup();
    const first = (await runReplicationJobNow(admin, { jobId })).sessionId;
    await waitUntil("the waiting line", () => db.sessionEvent.findFirst({ where: { sessionId: first, type: "waiting" } }));
    const waiting = await db.sessionEvent.findFirstOrThrow({ where: { sessionId: first, type: "waiting" } });
    expect(waiting.text).toMatch(/waiting — the source VM is being read by a backup .*starts when that one ends/);
    expect((await db.sessionVm.findFirstOrThrow({ where: { sessionId: first } })).state).toBe("pending");
    // Restore Operators and Viewers may not stop it; a Backup Administrator does.
    await expectAppError(stopJobSession(viewer, { sessionId: first }), "FORBIDDEN");
    await expectAppError(stopJobSession(operator, { sessionId: first }), "FORBIDDEN");
    await expect(stopJobSession(admin, { sessionId: first })).resolves.toEqual({ state: "running" });
    const stopped = await runBackupSession(first, 30_000);
    expect(stopped.state).toBe("stopped");
    expect((await db.sessionVm.findFirstOrThrow({ where: { sessionId: first } })).state).toBe("skipped");
    expect(await db.auditEvent.count({ where: { action: "replication-job.stop", objectType: "replication-job", objectId: jobId, actorId: admin.id } })).toBe(1);
    expect((await db.replica.findFirstOrThrow({ where: { jobId } })).replicaVmExternalId).toBeNull();

    const second = (await runReplicationJobNow(admin, { jobId })).sessionId;
    await waitUntil("the waiting line", () => db.sessionEvent.findFirst({ where: { sessionId: second, type: "waiting" } }));
    const releasedAt = new Date();
    await hold.release();
    const done = await runBackupSession(second);
    expect(done.state, done.error ?? "").toBe("success");
    const vm = await db.sessionVm.findFirstOrThrow({ where: { sessionId: second } });
    expect(vm.startedAt!.getTime()).toBeGreaterThanOrEqual(releasedAt.getTime() - 50);
    const r = await replicaOf(jobId);
    made.add(r.replicaVmExternalId!);

    // Deleting while a session is queued or running is refused; then it deletes the replica VM when asked.
    const busy = await db.jobSession.create({ data: { kind: "replication", replicationJobId: jobId, state: "running", trigger: "manual" } });
    const before = await dbState();
    const e = await expectAppError(deleteReplicationJob(admin, { jobId, deleteReplicaVms: true }), "CONFLICT");
    expect(e.message).toMatch(/stop its session first/);
    await expectUnchangedSince(before);
    expect(await vmExists(r.replicaVmExternalId!)).toBe(true);
    await db.jobSession.delete({ where: { id: busy.id } });
    await expectAppError(deleteReplicationJob(viewer, { jobId }), "FORBIDDEN");
    await expectAppError(deleteReplicationJob(operator, { jobId }), "FORBIDDEN");
    const deleted = await deleteReplicationJob(admin, { jobId, deleteReplicaVms: true });
    expect(deleted.deletedVms).toEqual([r.replicaVmName]);
    expect(await db.replicationJob.findUnique({ where: { id: jobId } })).toBeNull();
    expect(await db.replica.count({ where: { jobId } })).toBe(0);
    expect(await vmExists(r.replicaVmExternalId!)).toBe(false);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "replication-job.delete", objectId: jobId, outcome: "success" } });
    expect(JSON.parse(audit.details)).toMatchObject({ deleteReplicaVms: true, deletedVms: [r.replicaVmName] });
  });
});

describe("a backup of a VM a replication reads (decision 0007)", { timeout: 120_000 }, () => {
  it("waits for the replication, then makes its point", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-repl-ops-"));
    try {
      const repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("repl-ops-repo"), path: path.join(tmp, "repo") })).id;
      const row = await db.vm.findFirstOrThrow({ where: { externalId: source.externalId, site: { externalId: source.siteExternalId } } });
      const password = "a replication ops test password";
      const { id: jobId } = await createBackupJob(admin, {
        name: uniqueEmail("repl-ops-backup"),
        selection: [{ kind: "vm", id: row.id, label: row.name }],
        repositoryId,
        retentionPoints: 2,
        proxyMode: "automatic",
        failoverToNetwork: true,
        encryptionMode: "password",
        password,
        passwordConfirm: password,
        passwordHint: "",
        schedule: { kind: "manual" },
      });
      const hold = await holdSourceVmInABackup("replication");
      const { sessionId } = await runBackupJobNow(admin, { jobId });
      await ensureJobEngine();
      const waiting = await waitUntil("the waiting line", () => db.sessionEvent.findFirst({ where: { sessionId, type: "waiting" } }));
      expect(waiting.text).toMatch(/waiting — the VM is being read by a replication .*this backup starts when that one ends/);
      await hold.release();
      const done = await runBackupSession(sessionId);
      expect(done.state, done.error ?? "").toBe("success");
      expect(await db.restorePoint.count({ where: { sessionId } })).toBe(1);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("editing a replication job (REP-2…4, SEC-2)", { timeout: 240_000 }, () => {
  it("validated like a new job (nothing written when refused), audited with what changed; a key-mode change starts a new chain: the next run replaces the old replica with a full copy", async () => {
    const input = await jobInput();
    const { id: jobId } = await createReplicationJob(admin, input);
    const first = await runBackupSession((await runReplicationJobNow(admin, { jobId })).sessionId);
    expect(first.state, first.error ?? "").toBe("success");
    const r1 = await replicaOf(jobId);
    made.add(r1.replicaVmExternalId!);

    // Refusals: the roles that only see, bad input, a key the target cannot reach, a busy job.
    let before = await dbState();
    await expectAppError(updateReplicationJob(viewer, jobId, await currentInput(jobId)), "FORBIDDEN");
    await expectAppError(updateReplicationJob(operator, jobId, await currentInput(jobId)), "FORBIDDEN");
    await expectAppError(setReplicationJobEnabled(operator, { jobId, enabled: false }), "FORBIDDEN");
    await expectAppError(updateReplicationJob(admin, jobId, { ...(await currentInput(jobId)), keepPoints: 0 }), "INVALID_INPUT");
    const shared = await expectAppError(updateReplicationJob(admin, jobId, { ...(await currentInput(jobId)), keyMode: "shared" }), "CONFLICT");
    expect(shared.message).toMatch(/cannot reach the key/);
    const busy = await db.jobSession.create({ data: { kind: "replication", replicationJobId: jobId, state: "queued", trigger: "manual" } });
    before = await dbState();
    expect((await expectAppError(updateReplicationJob(admin, jobId, { ...(await currentInput(jobId)), keepPoints: 5 }), "CONFLICT")).message).toMatch(/stop its session or wait/);
    await expectUnchangedSince(before);
    await db.jobSession.delete({ where: { id: busy.id } });
    await expectUnchangedSince(before);

    // A plain edit keeps the chain and says what changed.
    const plain = await updateReplicationJob(admin, jobId, { ...(await currentInput(jobId)), keepPoints: 5, schedule: { kind: "daily", time: "22:00", days: [1, 2, 3, 4, 5] } });
    expect(plain.newChains).toEqual([]);
    const edited = await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(edited.keepPoints).toBe(5);
    expect(edited.nextRunAt!.getTime()).toBeGreaterThan(Date.now());
    expect((await replicaOf(jobId)).replicaVmExternalId).toBe(r1.replicaVmExternalId);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "replication-job.update", objectId: jobId }, orderBy: { seq: "desc" } });
    expect(audit.actorId).toBe(admin.id);
    expect(JSON.parse(audit.details).changes).toEqual(
      expect.arrayContaining([
        { field: "Points to keep", from: "3", to: "5" },
        { field: "Schedule", from: "Manual only", to: "Weekdays at 22:00" },
      ]),
    );

    const base = await jobInput({ keyMode: "unencrypted", targetKeyProviderExternalId: null }, r1.replicaVmName);
    // A failed-over replica is neither replaced by an edit nor deleted with its job.
    await db.replica.update({ where: { id: r1.id }, data: { state: "Failover" } });
    before = await dbState();
    const failedOver = await expectAppError(updateReplicationJob(admin, jobId, { ...(await currentInput(jobId)), keyMode: "unencrypted", targetKeyProviderExternalId: null, vms: base.vms }), "CONFLICT");
    expect(failedOver.message).toMatch(/is in failover: this change would replace it at the next run/);
    expect((await expectAppError(deleteReplicationJob(admin, { jobId, deleteReplicaVms: true }), "CONFLICT")).message).toMatch(/is failed over/);
    await expectUnchangedSince(before);
    expect(await vmExists(r1.replicaVmExternalId!)).toBe(true);
    await db.replica.update({ where: { id: r1.id }, data: { state: "Ready" } });

    // Key mode re-key → unencrypted (four-eyes off): a new chain. The old replica stays until the next run replaces it.
    const changed = await updateReplicationJob(admin, jobId, { ...(await currentInput(jobId)), keyMode: "unencrypted", targetKeyProviderExternalId: null, vms: base.vms });
    expect(changed.newChains).toEqual([source.externalId]);
    expect(changed.warnings.join(" ")).toMatch(/get a new replica at the next run, because the key mode changes .*current replica and its points are deleted then/);
    const reset = await replicaOf(jobId);
    expect(reset).toMatchObject({ replicaVmExternalId: r1.replicaVmExternalId, lastPointId: null, keyMode: "unencrypted" });
    expect(reset.points).toHaveLength(1);
    expect(await vmExists(r1.replicaVmExternalId!), "the old replica is there until the next run").toBe(true);
    const chainAudit = await db.auditEvent.findFirstOrThrow({ where: { action: "replication-job.update", objectId: jobId }, orderBy: { seq: "desc" } });
    expect(JSON.parse(chainAudit.details)).toMatchObject({ newChains: [source.externalId], replicaVmsReplacedAtNextRun: [`${r1.replicaVmName} (${r1.replicaVmExternalId})`] });
    const second = await runBackupSession((await runReplicationJobNow(admin, { jobId })).sessionId);
    expect(second.state === "success" || second.state === "warning", second.error ?? "").toBe(true);
    const r2 = await replicaOf(jobId);
    made.add(r2.replicaVmExternalId!);
    expect(r2.replicaVmExternalId).not.toBe(r1.replicaVmExternalId);
    expect(JSON.parse((await db.sessionVm.findFirstOrThrow({ where: { sessionId: second.id } })).progress).incremental).toBe(false);
    expect(r2.points.map((p) => p.keyMode)).toEqual(["unencrypted"]);
    const inv = await platform().inventory();
    expect(inv.vms.find((v) => v.externalId === r2.replicaVmExternalId)).toMatchObject({ encrypted: false, name: r1.replicaVmName });
    expect(await vmExists(r1.replicaVmExternalId!), "the old replica was replaced").toBe(false);

    // Delete without deleting the replicas: the job goes, the replica VMs stay.
    const kept = await deleteReplicationJob(admin, { jobId });
    expect(kept).toMatchObject({ deletedVms: [], keptVms: [`${r2.replicaVmName} (${r2.replicaVmExternalId})`] });
    expect(await vmExists(r2.replicaVmExternalId!)).toBe(true);
    expect(await db.replicationJob.findUnique({ where: { id: jobId } })).toBeNull();
    // (It shares the source's MACs at the DR site: the next test's job could not make its replica beside it.)
    await replicationHosts().target.deleteVm(r2.replicaVmExternalId!);
  });

  it("with four-eyes on, weakening the keys is a request: reject, expiry and a changed job apply nothing; another Security Officer's approval applies it", async () => {
    const { id: jobId } = await createReplicationJob(admin, await jobInput({ refuseUnencrypted: true }));
    const other = await makeActor("SECURITY_OFFICER");
    await writeFourEyes(db, { enabled: true, expiryHours: 24 });
    try {
      const snapshot = async () => {
        const j = await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } });
        return { keyMode: j.keyMode, refuseUnencrypted: j.refuseUnencrypted, placements: j.placements, updatedAt: j.updatedAt.toISOString() };
      };
      const was = await snapshot();
      // A new job making an unencrypted replica of an encrypted VM cannot wait for approval: refused, nothing written.
      const jobsBefore = await db.replicationJob.count();
      const refused = await expectAppError(createReplicationJob(admin, await jobInput({ name: "plain-under-four-eyes", keyMode: "unencrypted", targetKeyProviderExternalId: null })), "CONFLICT");
      expect(refused.message).toMatch(/another Security Officer's approval/);
      expect(refused.fieldErrors?.keyMode).toBeDefined();
      expect(await db.replicationJob.count()).toBe(jobsBefore);
      const weaker = async () => {
        const base = await jobInput({ keyMode: "unencrypted", targetKeyProviderExternalId: null });
        return { ...(await currentInput(jobId)), keyMode: "unencrypted", targetKeyProviderExternalId: null, refuseUnencrypted: false, vms: base.vms };
      };

      // Only turning refuse-unencrypted off is weaker too: a request.
      const off = await updateReplicationJob(admin, jobId, { ...(await currentInput(jobId)), refuseUnencrypted: false });
      expect(off.approvalRequestId).toBeTruthy();
      expect(await snapshot()).toEqual(was);
      const [listed] = (await listApprovalRequests(officer, { scope: "inbox" })).filter((x) => x.id === off.approvalRequestId);
      expect(listed).toMatchObject({ kind: "replication.weaken-keys", kindLabel: "Weaken the keys of a replication job's replicas", objectType: "replication-job", canDecide: true });
      expect(listed.objectName).toMatch(/^replication job /);
      expect(listed.summary).toContainEqual({ field: "Unencrypted replicas of encrypted VMs", from: "Refused", to: "Allowed" });
      await rejectRequest(officer, { requestId: off.approvalRequestId!, comment: "no" });
      expect(await snapshot()).toEqual(was);

      // Unencrypted replicas of the encrypted VM: a request; the requester (not a Security Officer) cannot decide it.
      const req = await updateReplicationJob(admin, jobId, await weaker());
      expect(req.warnings.join(" ")).toMatch(/applies once another Security Officer approves it/);
      await expectAppError(approveWithPassword(admin, { requestId: req.approvalRequestId!, password: TEST_PASSWORD }), "FORBIDDEN");
      // Expired: nothing applied.
      await db.approvalRequest.update({ where: { id: req.approvalRequestId! }, data: { expiresAt: new Date(Date.now() - 1000) } });
      await expect(approveWithPassword(officer, { requestId: req.approvalRequestId!, password: TEST_PASSWORD })).rejects.toMatchObject({ message: expect.stringMatching(/expired/) });
      expect(await snapshot()).toEqual(was);

      // The job changed after the request: approval applies nothing.
      const stale = await updateReplicationJob(admin, jobId, await weaker());
      await updateReplicationJob(admin, jobId, { ...(await currentInput(jobId)), keepPoints: 4 });
      const e = await expectAppError(approveWithPassword(officer, { requestId: stale.approvalRequestId!, password: TEST_PASSWORD }), "CONFLICT");
      expect(e.message).toMatch(/was changed after this edit was made/);
      expect((await snapshot()).keyMode).toBe("re-key");
      await rejectRequest(other, { requestId: stale.approvalRequestId!, comment: "stale" });

      // Approved by another Security Officer: checked again and applied in the approval.
      const good = await updateReplicationJob(admin, jobId, await weaker());
      await expect(approveWithPassword(officer, { requestId: good.approvalRequestId!, password: TEST_PASSWORD })).resolves.toMatchObject({ state: "approved" });
      const applied = await db.replicationJob.findUniqueOrThrow({ where: { id: jobId } });
      expect(applied).toMatchObject({ keyMode: "unencrypted", refuseUnencrypted: false, targetKeyProviderExternalId: null });
      const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "replication-job.update", objectId: jobId }, orderBy: { seq: "desc" } });
      expect(audit.actorId).toBe(officer.id);
      expect(JSON.parse(audit.details)).toMatchObject({ request: good.approvalRequestId, requestedBy: admin.id });
    } finally {
      await writeFourEyes(db, { enabled: false, expiryHours: 24 });
      await deleteReplicationJob(admin, { jobId }).catch(() => undefined);
    }
  });
});
