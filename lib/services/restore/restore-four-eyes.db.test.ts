// Four-eyes for risky restores (SEC-2, issue 10): while four-eyes is on, a restore that writes an
// encrypted VM's home or an encrypted disk unencrypted starts nothing — it is a request another
// Security Officer approves; the approval checks it again and starts exactly one session as the
// requester. Rejection, expiry or a restore that no longer passes its check start nothing.
// Encrypted → encrypted, and anything with four-eyes off, starts at once. (Another tenant's key
// provider is never a request: the pre-restore check refuses it outright, restore.db.test.ts and
// check-restore.ts.)
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import type { PlatformVm } from "@/lib/platform/connector";
import { approveWithPassword } from "@/lib/testing/approve";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, TEST_PASSWORD, uniqueEmail } from "@/lib/testing/factories";
import { encryptedTwoDiskVm, sessionOf, type UndoVm } from "@/lib/testing/restore-fixtures";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { issueApprovalProof } from "../approvals/approval-proof";
import { confirmApprovalPassword } from "../approvals/confirm-approval-password";
import { approveRequest, rejectRequest } from "../approvals/decide-approval";
import { writeFourEyes } from "../approvals/four-eyes-state";
import { createBackupRepository } from "../backup/create-repository";
import { getJobSession } from "../backup/get-job-session";
import { listRestorePoints } from "../backup/list-restore-points";
import { runBackupJobNow } from "../backup/run-backup-job";
import { createBackupJob } from "../backup/save-backup-job";
import { backupHost, platform, restoreHost } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { runGuestWrites } from "../vms/run-guest-writes";
import { checkRestore } from "./check-restore";
import { startRestore } from "./start-restore";

const PASSWORD = "correct-horse-battery-staple-42";
type A = Awaited<ReturnType<typeof makeActor>>;
let admin: A, operator: A, viewer: A, so1: A, so2: A;
let tmp: string;
let source: PlatformVm;
let pointId: string;
let undo: UndoVm | undefined;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  operator = await makeActor("RESTORE_OPERATOR");
  viewer = await makeActor("BACKUP_VIEWER");
  so1 = await makeActor("SECURITY_OFFICER");
  so2 = await makeActor("SECURITY_OFFICER");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-four-eyes-restore-"));
  const repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("repo"), path: path.join(tmp, "repo") })).id;
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  const vmRow = await db.vm.findFirstOrThrow({ where: { externalId: source.externalId } });
  await runGuestWrites(admin, { vmId: vmRow.id, percent: 10 });
  const job = await createBackupJob(admin, {
    name: uniqueEmail("job"),
    selection: [{ kind: "vm", id: vmRow.id, label: vmRow.name }],
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
  const { sessionId } = await runBackupJobNow(admin, { jobId: job.id });
  await db.jobSession.update({ where: { id: sessionId }, data: { state: "running", startedAt: new Date() } });
  const s = await runBackupSession(sessionId, 120_000);
  expect(s.state, (await getJobSession(admin, { sessionId })).progress.vms.map((v) => v.error).join()).toBe("success");
  pointId = (await listRestorePoints(admin, { vmId: vmRow.id }))[0].id;
  source = (await platform().inventory()).vms.find((v) => v.externalId === source.externalId)!;
  // The backup's source must stay still: the restored disks are compared with it.
  await platform().powerOff(source.externalId);
}, 180_000);

beforeEach(async () => writeFourEyes(db, { enabled: true, expiryHours: 24 }));

afterAll(async () => {
  await writeFourEyes(db, { enabled: false, expiryHours: 24 });
  await undo?.().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The wizard's input for a new-location restore, disk i encrypted as `encrypted[i]`. */
async function choices(encrypted: boolean[]) {
  const inv = await platform().inventory();
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === source.siteExternalId && p.encryption)!.externalId;
  const dss = inv.datastores.filter((d) => d.siteExternalId === source.siteExternalId).sort((a, b) => b.freeBytes - a.freeBytes);
  const encDs = dss.find((d) => d.compatiblePolicyExternalIds.includes(encPolicy))!.externalId;
  const plain = dss.find((d) => !d.compatiblePolicyExternalIds.includes(encPolicy))!;
  const plainPolicy = plain.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  return {
    pointId,
    siteExternalId: source.siteExternalId,
    hostExternalId: source.hostExternalId,
    name: `fe${Math.random().toString(36).slice(2, 10)}`,
    folder: "/Restored",
    home: encrypted.some(Boolean) ? { datastoreExternalId: encDs, storagePolicyExternalId: encPolicy } : { datastoreExternalId: plain.externalId, storagePolicyExternalId: plainPolicy },
    disks: source.disks.map((d, i) => ({ deviceKey: d.deviceKey, encrypted: encrypted[i], datastoreExternalId: encrypted[i] ? encDs : plain.externalId, storagePolicyExternalId: encrypted[i] ? encPolicy : plainPolicy })),
    keys: { kind: "same-key" as const },
    networks: source.nics.map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: n.networkExternalId as string | null })),
    powerOn: false,
  };
}
const MIXED = () => choices([true, false]); // disk 2 of an encrypted VM written unencrypted
const restoreSessions = () => db.jobSession.count({ where: { kind: "restore" } });

async function diskHash(vmId: string, deviceKey: number, areas?: Array<{ start: number; length: number }>) {
  const host = backupHost();
  const proxy = { kind: "physical" as const, transportModes: ["nbdssl" as const], keyProviderExternalId: null, privileges: ["Cryptographer.Access" as const], name: "check" };
  const disk = await host.openDiskForBackup({ vmExternalId: vmId, deviceKey, mode: "nbdssl", proxy });
  try {
    const all = await host.queryChangedAreas({ vmExternalId: vmId, deviceKey, changeId: "*" });
    const h = createHash("sha256");
    for (const a of areas ?? all) h.update(await disk.reader.read(a.start, a.length));
    return { hash: h.digest("hex"), areas: all };
  } finally {
    await disk.reader.close();
    await host.releaseSnapshot(vmId);
  }
}

describe("with four-eyes on, a restore that writes an encrypted VM unencrypted (SEC-2)", () => {
  it("is a request instead of a session: said by the check beforehand, audited, no secret in it", async () => {
    const c = await MIXED();
    const check = await checkRestore(operator, c);
    expect(check.ok).toBe(true);
    expect(check.approval).toContain(`${source.name} (${source.disks[1].label})`);
    expect(check.approval).toMatch(/^Four-eyes approval is on .*another Security Officer approves it/);
    const before = await restoreSessions();
    const started = await startRestore(operator, { vms: [c], reason: "ticket 51: hand the data disk to the vendor" });
    expect(started).toEqual({ approvalRequestId: expect.any(String) });
    const id = (started as { approvalRequestId: string }).approvalRequestId;
    expect(await restoreSessions()).toBe(before);
    const r = await db.approvalRequest.findUniqueOrThrow({ where: { id } });
    expect(r).toMatchObject({ kind: "restore.unencrypted", objectType: "restore-point", objectId: pointId, state: "pending", requestedById: operator.id, requiredPermission: "restore:run" });
    expect(JSON.parse(r.payload)).toMatchObject({ reason: "ticket 51: hand the data disk to the vendor", vms: [{ name: c.name, pointId }] });
    expect(JSON.parse(r.summary)).toEqual(expect.arrayContaining([{ field: `${c.name} / ${source.disks[1].label}`, from: "Encrypted", to: "Unencrypted" }]));
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "approval.request", actorId: operator.id }, orderBy: { seq: "desc" } });
    expect(JSON.parse(audit.details)).toMatchObject({ request: id, kind: "restore.unencrypted" });
    expect(JSON.stringify([r, audit])).not.toContain(PASSWORD);
    // The same restore asked twice while the first waits is refused.
    await expectAppError(startRestore(operator, { vms: [c], reason: "ticket 51 again" }), "CONFLICT");
    await rejectRequest(so1, { requestId: id, comment: "tidy up" });
  });

  it("approved by another Security Officer, starts exactly one session as the requester, which restores bit for bit", async () => {
    const c = await MIXED();
    const id = (await startRestore(operator, { vms: [c], reason: "ticket 52: vendor analysis" }) as { approvalRequestId: string }).approvalRequestId;
    const before = await restoreSessions();
    const { proof } = await confirmApprovalPassword(so1, { requestId: id, password: TEST_PASSWORD });
    const approved = await approveRequest(so1, { requestId: id, proof, comment: "vendor NDA on file" });
    expect(approved).toEqual({ state: "approved", sessionId: expect.any(String) });
    expect(await restoreSessions()).toBe(before + 1);
    const session = await db.jobSession.findUniqueOrThrow({ where: { id: approved.sessionId! } });
    expect(session).toMatchObject({ kind: "restore", requestedById: operator.id, reason: "ticket 52: vendor analysis" });
    const start = await db.auditEvent.findFirstOrThrow({ where: { action: "restore.start", objectId: source.externalId }, orderBy: { seq: "desc" } });
    expect(start.actorId).toBe(operator.id);
    expect(JSON.parse(start.details)).toMatchObject({ session: session.id, approvalRequest: id, approvedBy: so1.email });
    // Approving again starts nothing more.
    await expectAppError(approveRequest(so2, { requestId: id, proof: "x".repeat(43) }), "CONFLICT");

    const ended = await runBackupSession(session.id, 120_000);
    const dto = await getJobSession(admin, { sessionId: session.id });
    expect(ended.state, dto.log.map((l) => l.text).join("\n")).toBe("success");
    expect(await restoreSessions()).toBe(before + 1);
    const item = await db.restoreItem.findFirstOrThrow({ where: { sessionId: session.id } });
    const restored = (await platform().inventory()).vms.find((v) => v.externalId === item.targetVmExternalId)!;
    expect(restored).toMatchObject({ name: c.name, encrypted: true, keyId: source.keyId });
    expect(restored.disks.map((d) => d.encrypted)).toEqual([true, false]);
    for (const d of source.disks) {
      const want = await diskHash(source.externalId, d.deviceKey);
      expect((await diskHash(restored.externalId, d.deviceKey, want.areas)).hash, d.label).toBe(want.hash);
    }
    await restoreHost().deleteVm(restored.externalId);
  }, 240_000);

  it("cannot be approved by the requester, nor by an officer whose account the requester made (same transaction)", async () => {
    const c = await MIXED();
    // A Restore Operator holds no approval permission at all.
    const byOperator = (await startRestore(operator, { vms: [c], reason: "ticket 53" }) as { approvalRequestId: string }).approvalRequestId;
    await expectAppError(confirmApprovalPassword(operator, { requestId: byOperator, password: TEST_PASSWORD }), "FORBIDDEN");
    await expectAppError(approveRequest(operator, { requestId: byOperator, proof: "x".repeat(43) }), "FORBIDDEN");
    await rejectRequest(so1, { requestId: byOperator, comment: "clean up" });
    // A Backup Administrator's request; an officer created by that administrator.
    const c2 = await MIXED();
    const byAdmin = (await startRestore(admin, { vms: [c2], reason: "ticket 54" }) as { approvalRequestId: string }).approvalRequestId;
    const puppet = await makeActor("SECURITY_OFFICER");
    await db.user.update({ where: { id: puppet.id }, data: { createdById: admin.id } });
    const e = await expectAppError(confirmApprovalPassword(puppet, { requestId: byAdmin, password: TEST_PASSWORD }), "FORBIDDEN");
    expect(e.message).toMatch(/created by .*who made this request/);
    // A proof got around the password step is still refused inside the approval's transaction.
    const req = await db.approvalRequest.findUniqueOrThrow({ where: { id: byAdmin } });
    const issued = await issueApprovalProof(db, { requestId: byAdmin, payloadHash: req.payloadHash, userId: puppet.id });
    const before = await restoreSessions();
    await expectAppError(approveRequest(puppet, { requestId: byAdmin, proof: issued.proof }), "FORBIDDEN");
    expect(await restoreSessions()).toBe(before);
    expect((await db.approvalRequest.findUniqueOrThrow({ where: { id: byAdmin } })).state).toBe("pending");
    await rejectRequest(so2, { requestId: byAdmin, comment: "clean up" });
  });

  it("rejected, expired, or no longer valid at approval time, starts nothing", async () => {
    const before = await restoreSessions();
    const rejected = (await startRestore(operator, { vms: [await MIXED()], reason: "ticket 55" }) as { approvalRequestId: string }).approvalRequestId;
    await rejectRequest(so1, { requestId: rejected, comment: "no business reason" });
    expect((await db.approvalRequest.findUniqueOrThrow({ where: { id: rejected } })).state).toBe("rejected");
    await expectAppError(approveWithPassword(so2, { requestId: rejected, password: TEST_PASSWORD }), "CONFLICT");

    const expired = (await startRestore(operator, { vms: [await MIXED()], reason: "ticket 56" }) as { approvalRequestId: string }).approvalRequestId;
    const { proof } = await confirmApprovalPassword(so1, { requestId: expired, password: TEST_PASSWORD });
    await db.approvalRequest.update({ where: { id: expired }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const e = await expectAppError(approveRequest(so1, { requestId: expired, proof }), "CONFLICT");
    expect(e.message).toMatch(/expired/);
    expect((await db.approvalRequest.findUniqueOrThrow({ where: { id: expired } })).state).toBe("expired");

    // Checked again at approval: the point gone since the request, the approval refused, the request still pending.
    const stale = (await startRestore(operator, { vms: [await MIXED()], reason: "ticket 57" }) as { approvalRequestId: string }).approvalRequestId;
    const p2 = await confirmApprovalPassword(so1, { requestId: stale, password: TEST_PASSWORD });
    const { status } = await db.restorePoint.findUniqueOrThrow({ where: { id: pointId } });
    await db.restorePoint.update({ where: { id: pointId }, data: { status: "removed" } });
    try {
      const gone = await expectAppError(approveRequest(so1, { requestId: stale, proof: p2.proof }), "CONFLICT");
      expect(gone.message).toMatch(/can no longer run as requested.*does not exist/);
    } finally {
      await db.restorePoint.update({ where: { id: pointId }, data: { status } });
    }
    expect((await db.approvalRequest.findUniqueOrThrow({ where: { id: stale } })).state).toBe("pending");
    await rejectRequest(so1, { requestId: stale, comment: "clean up" });
    expect(await restoreSessions()).toBe(before);
  });
});

describe("restores that start at once", () => {
  it("with four-eyes off, the same unencrypted restore starts a session directly", async () => {
    await writeFourEyes(db, { enabled: false, expiryHours: 24 });
    const c = await MIXED();
    expect((await checkRestore(operator, c)).approval).toBeNull();
    const sessionId = sessionOf(await startRestore(operator, { vms: [c], reason: "ticket 58: four-eyes off" }));
    const ended = await runBackupSession(sessionId, 120_000);
    expect(ended.state, ended.error ?? "").toBe("success");
    const item = await db.restoreItem.findFirstOrThrow({ where: { sessionId } });
    await restoreHost().deleteVm(item.targetVmExternalId!);
  }, 180_000);

  it("encrypted → encrypted never needs approval, even with four-eyes on", async () => {
    const c = await choices([true, true]);
    expect((await checkRestore(operator, c)).approval).toBeNull();
    const requests = await db.approvalRequest.count();
    const sessionId = sessionOf(await startRestore(operator, { vms: [c], reason: "ticket 59: keep it encrypted" }));
    expect(await db.approvalRequest.count()).toBe(requests);
    const ended = await runBackupSession(sessionId, 120_000);
    expect(ended.state, ended.error ?? "").toBe("success");
    const item = await db.restoreItem.findFirstOrThrow({ where: { sessionId } });
    await restoreHost().deleteVm(item.targetVmExternalId!);
  }, 180_000);
});

describe("who may ask", () => {
  // The action gate in front of startRestore refuses a Viewer's direct POST before any service runs
  // (lib/permissions/server-actions.test.ts; in the browser, e2e/restore-wizard.spec.ts). The
  // service refuses again, so a POST that got past the gate still creates nothing.
  it("a Backup Viewer's restore is refused under four-eyes too: no request, no session", async () => {
    const input = { vms: [await MIXED()], reason: "ticket 60: a direct POST" };
    const [sessions, requests] = [await restoreSessions(), await db.approvalRequest.count()];
    await expectAppError(startRestore(viewer, input), "FORBIDDEN");
    await expectAppError(checkRestore(viewer, input.vms[0]), "FORBIDDEN");
    expect([await restoreSessions(), await db.approvalRequest.count()]).toEqual([sessions, requests]);
  });
});
