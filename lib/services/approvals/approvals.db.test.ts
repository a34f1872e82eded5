// Four-eyes approval (SEC-2, SEC-3): requests instead of changes, decided by another Security
// Officer who re-enters their password; every way around it is refused with nothing changed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { approveWithPassword } from "@/lib/testing/approve";
import { makeActor, TEST_PASSWORD, uniqueEmail } from "@/lib/testing/factories";
import { createBackupRepository } from "../backup/create-repository";
import { createBackupJob, updateBackupJob } from "../backup/save-backup-job";
import { runBackupJobNow } from "../backup/run-backup-job";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { changeUserRole } from "../users/change-user-role";
import { setUserDisabled } from "../users/set-user-disabled";
import { cancelRequest, rejectRequest } from "./decide-approval";
import { setFourEyes } from "./four-eyes-settings";
import { readFourEyes, writeFourEyes } from "./four-eyes-state";
import { countInbox, listApprovalRequests } from "./list-approval-requests";

type A = Awaited<ReturnType<typeof makeActor>>;
let admin: A, so1: A, so2: A;
let tmp: string;
let repositoryId: string;
let vm: { id: string; name: string };
const OLD = "the-original-password-1";
const NEW = "the-approved-password-2";

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  so1 = await makeActor("SECURITY_OFFICER");
  so2 = await makeActor("SECURITY_OFFICER");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-approvals-"));
  repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("repo"), path: path.join(tmp, "repo") })).id;
  vm = await db.vm.findFirstOrThrow({ where: { encrypted: false }, select: { id: true, name: true } });
}, 60_000);
beforeEach(async () => {
  await writeFourEyes(db, { enabled: true, expiryHours: 24 });
});
afterAll(async () => {
  // Other test files share this database: leave four-eyes off as it was.
  await writeFourEyes(db, { enabled: false, expiryHours: 24 });
  fs.rmSync(tmp, { recursive: true, force: true });
});

const jobInput = (over: Record<string, unknown> = {}) => ({
  name: uniqueEmail("job"),
  selection: [{ kind: "vm" as const, id: vm.id, label: vm.name }],
  repositoryId,
  retentionPoints: 3,
  proxyMode: "automatic" as const,
  failoverToNetwork: true,
  encryptionMode: "password" as const,
  password: OLD,
  passwordConfirm: OLD,
  schedule: { kind: "manual" as const },
  ...over,
});

/** A job whose password was set while four-eyes was off (the usual start). */
async function jobWithPassword() {
  await writeFourEyes(db, { enabled: false, expiryHours: 24 });
  const { id } = await createBackupJob(admin, jobInput());
  await writeFourEyes(db, { enabled: true, expiryHours: 24 });
  return db.backupJob.findUniqueOrThrow({ where: { id } });
}

async function requestPasswordChange() {
  const job = await jobWithPassword();
  const saved = await updateBackupJob(admin, { jobId: job.id, ...jobInput({ name: job.name, password: NEW, passwordConfirm: NEW }) });
  expect(saved.approvalRequestId).toBeTruthy();
  return { job, requestId: saved.approvalRequestId! };
}

const snapshot = (jobId: string) => db.backupJob.findUniqueOrThrow({ where: { id: jobId }, select: { passwordKeyHeader: true, passwordKeySealed: true, passwordApprovedById: true, encryptionMode: true } });

describe("turning four-eyes on and off", () => {
  it("needs two active Security Officers, and off is itself a request", async () => {
    await writeFourEyes(db, { enabled: false, expiryHours: 24 });
    const sos = await db.user.findMany({ where: { role: "SECURITY_OFFICER", disabled: false, id: { notIn: [so1.id, so2.id] } } });
    await db.user.updateMany({ where: { id: { in: sos.map((u) => u.id) } }, data: { disabled: true } });
    await db.user.update({ where: { id: so2.id }, data: { disabled: true } });
    const e = await expectAppError(setFourEyes(so1, { enabled: true, expiryHours: 24 }), "CONFLICT");
    expect(e.message).toMatch(/two active Security Officers/);
    expect((await readFourEyes()).enabled).toBe(false);
    await db.user.update({ where: { id: so2.id }, data: { disabled: false } });
    await setFourEyes(so1, { enabled: true, expiryHours: 24 });
    expect((await readFourEyes()).enabled).toBe(true);

    // While on, disabling one of the two is refused, in the same transaction.
    await expectAppError(setUserDisabled(admin, { userId: so2.id, disabled: true }), "CONFLICT");
    expect((await db.user.findUniqueOrThrow({ where: { id: so2.id } })).disabled).toBe(false);

    const off = await setFourEyes(so1, { enabled: false, expiryHours: 24 });
    expect(off.requestId).toBeTruthy();
    expect((await readFourEyes()).enabled).toBe(true);
    await expectAppError(approveWithPassword(so1, { requestId: off.requestId!, password: TEST_PASSWORD }), "FORBIDDEN");
    await approveWithPassword(so2, { requestId: off.requestId!, password: TEST_PASSWORD });
    expect((await readFourEyes()).enabled).toBe(false);
    await db.user.updateMany({ where: { id: { in: sos.map((u) => u.id) } }, data: { disabled: false } });
  });
});

describe("a job password change under four-eyes", () => {
  it("becomes a request holding no password; approval applies it with the mark, once", async () => {
    const { job, requestId } = await requestPasswordChange();
    // Nothing changed yet, and nothing stored anywhere holds the password.
    expect(await snapshot(job.id)).toMatchObject({ passwordKeyHeader: job.passwordKeyHeader, passwordApprovedById: null });
    const req = await db.approvalRequest.findUniqueOrThrow({ where: { id: requestId } });
    expect(JSON.stringify(req)).not.toContain(NEW);
    expect(JSON.stringify(await db.auditEvent.findMany({ where: { objectId: job.id } }))).not.toContain(NEW);

    // The inbox shows it to the Security Officers, with the readable diff.
    const inbox = await listApprovalRequests(so1, { scope: "inbox" });
    const item = inbox.find((r) => r.id === requestId)!;
    expect(item.summary.map((d) => d.field)).toContain("Password");
    expect(item.canDecide).toBe(true);
    expect(await countInbox(so1)).toBeGreaterThan(0);
    expect((await listApprovalRequests(admin, { scope: "mine" })).find((r) => r.id === requestId)?.state).toBe("pending");

    // The administrator cannot decide (no permission), the wrong password approves nothing.
    await expectAppError(approveWithPassword(admin, { requestId, password: TEST_PASSWORD }), "FORBIDDEN");
    await expectAppError(approveWithPassword(so1, { requestId, password: "not my password" }), "FORBIDDEN");
    expect((await snapshot(job.id)).passwordKeyHeader).toBe(job.passwordKeyHeader);

    await approveWithPassword(so1, { requestId, password: TEST_PASSWORD, comment: "ticket 42" });
    const after = await snapshot(job.id);
    expect(after.passwordKeyHeader).not.toBe(job.passwordKeyHeader);
    expect(after.passwordApprovedById).toBe(so1.id);
    // Replay: the same approval again, or by the other officer, is refused.
    await expectAppError(approveWithPassword(so1, { requestId, password: TEST_PASSWORD }), "CONFLICT");
    await expectAppError(approveWithPassword(so2, { requestId, password: TEST_PASSWORD }), "CONFLICT");
    await expectAppError(rejectRequest(so2, { requestId, comment: "late" }), "CONFLICT");
  });

  it("refuses an expired, a cancelled, a tampered or a requester-demoted request, changing nothing", async () => {
    const expired = await requestPasswordChange();
    await db.approvalRequest.update({ where: { id: expired.requestId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const e1 = await expectAppError(approveWithPassword(so1, { requestId: expired.requestId, password: TEST_PASSWORD }), "CONFLICT");
    expect(e1.message).toMatch(/expired/);
    expect((await snapshot(expired.job.id)).passwordKeyHeader).toBe(expired.job.passwordKeyHeader);
    expect((await db.approvalRequest.findUniqueOrThrow({ where: { id: expired.requestId } })).state).toBe("expired");

    const cancelled = await requestPasswordChange();
    await expectAppError(cancelRequest(so1, { requestId: cancelled.requestId }), "FORBIDDEN"); // not the requester
    await cancelRequest(admin, { requestId: cancelled.requestId });
    await expectAppError(approveWithPassword(so1, { requestId: cancelled.requestId, password: TEST_PASSWORD }), "CONFLICT");
    expect((await snapshot(cancelled.job.id)).passwordKeyHeader).toBe(cancelled.job.passwordKeyHeader);

    const tampered = await requestPasswordChange();
    const row = await db.approvalRequest.findUniqueOrThrow({ where: { id: tampered.requestId } });
    const payload = JSON.parse(row.payload);
    await db.approvalRequest.update({ where: { id: row.id }, data: { payload: JSON.stringify({ ...payload, passwordHint: "swapped after the request" }) } });
    const e3 = await expectAppError(approveWithPassword(so1, { requestId: tampered.requestId, password: TEST_PASSWORD }), "CONFLICT");
    expect(e3.message).toMatch(/payload changed/);
    expect((await snapshot(tampered.job.id)).passwordKeyHeader).toBe(tampered.job.passwordKeyHeader);

    const demotedRequester = await makeActor("BACKUP_ADMIN");
    const job = await jobWithPassword();
    const saved = await updateBackupJob(demotedRequester, { jobId: job.id, ...jobInput({ name: job.name, password: NEW, passwordConfirm: NEW }) });
    await db.user.update({ where: { id: demotedRequester.id }, data: { role: "BACKUP_VIEWER" } });
    const e4 = await expectAppError(approveWithPassword(so1, { requestId: saved.approvalRequestId!, password: TEST_PASSWORD }), "CONFLICT");
    expect(e4.message).toMatch(/void/);
    expect((await snapshot(job.id)).passwordKeyHeader).toBe(job.passwordKeyHeader);
  });

  it("an approver who lost the role can no longer decide; a rejection leaves the job as it was", async () => {
    const { job, requestId } = await requestPasswordChange();
    const demoted = await makeActor("SECURITY_OFFICER");
    await db.user.update({ where: { id: demoted.id }, data: { role: "BACKUP_VIEWER" } });
    await expectAppError(approveWithPassword({ ...demoted, role: "BACKUP_VIEWER" }, { requestId, password: TEST_PASSWORD }), "FORBIDDEN");
    await expectAppError(rejectRequest(so2, { requestId, comment: "" }), "INVALID_INPUT");
    await rejectRequest(so2, { requestId, comment: "not announced" });
    expect((await snapshot(job.id)).passwordKeyHeader).toBe(job.passwordKeyHeader);
    expect((await db.backupJob.findUniqueOrThrow({ where: { id: job.id } })).pendingApprovalId).toBeNull();
  });

  it("a new job with a password cannot run until its password is approved", async () => {
    const { id, approvalRequestId } = await createBackupJob(admin, jobInput());
    expect(approvalRequestId).toBeTruthy();
    expect((await snapshot(id)).passwordKeyHeader).toBeNull();
    const e = await expectAppError(runBackupJobNow(admin, { jobId: id }), "CONFLICT");
    expect(e.message).toMatch(/approval/);
    await approveWithPassword(so2, { requestId: approvalRequestId!, password: TEST_PASSWORD });
    expect((await snapshot(id)).passwordKeyHeader).toBeTruthy();
    await expect(runBackupJobNow(admin, { jobId: id })).resolves.toMatchObject({ sessionId: expect.any(String) });
  });
});

describe("other guarded changes", () => {
  it("a role change waits for approval and is applied by it", async () => {
    const target = await makeActor("BACKUP_VIEWER");
    const r = await changeUserRole(admin, { userId: target.id, role: "RESTORE_OPERATOR" });
    expect(r.pendingApprovalId).toBeTruthy();
    expect((await db.user.findUniqueOrThrow({ where: { id: target.id } })).role).toBe("BACKUP_VIEWER");
    await approveWithPassword(so1, { requestId: r.pendingApprovalId!, password: TEST_PASSWORD });
    expect((await db.user.findUniqueOrThrow({ where: { id: target.id } })).role).toBe("RESTORE_OPERATOR");
  });
});

describe("deleting a restore point", () => {
  it("is a request under four-eyes; approval deletes it and the chain starts over", async () => {
    const { runBackupSession } = await import("@/lib/testing/run-jobs");
    const { deleteRestorePoint } = await import("../backup/delete-restore-point");
    await writeFourEyes(db, { enabled: false, expiryHours: 24 });
    const { id: jobId } = await createBackupJob(admin, jobInput());
    const { sessionId } = await runBackupJobNow(admin, { jobId });
    await db.jobSession.update({ where: { id: sessionId }, data: { state: "running", startedAt: new Date() } });
    await runBackupSession(sessionId);
    const point = await db.restorePoint.findFirstOrThrow({ where: { jobId } });
    await writeFourEyes(db, { enabled: true, expiryHours: 24 });
    const r = await deleteRestorePoint(admin, { pointId: point.id });
    expect(r).toMatchObject({ deleted: false, pendingApprovalId: expect.any(String) });
    expect((await db.restorePoint.findUniqueOrThrow({ where: { id: point.id } })).status).toBe("ok");
    await approveWithPassword(so2, { requestId: r.pendingApprovalId!, password: TEST_PASSWORD });
    expect((await db.restorePoint.findUniqueOrThrow({ where: { id: point.id } })).status).toBe("removed");
    expect(await db.jobVmState.count({ where: { jobId } })).toBe(0);
    const repo = await db.backupRepository.findUniqueOrThrow({ where: { id: repositoryId } });
    expect(fs.existsSync(path.join(repo.path, "points", point.id))).toBe(false);
    await expectAppError(deleteRestorePoint(admin, { pointId: point.id }), "NOT_FOUND");
  });
});
