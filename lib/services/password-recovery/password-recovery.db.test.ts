// Password-loss recovery (KEY-6): a point whose password is lost opens again through a request,
// a Security Officer's answer with the recovery keyset, and its application — and each document
// is useless anywhere else.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { runRepositoryVerify } from "@/lib/services/backup/sessions/run-repository-verify";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { createBackupRepository } from "../backup/create-repository";
import { getBackupRepository } from "../backup/list-repositories";
import { listRestorePoints } from "../backup/list-restore-points";
import { runBackupJobNow } from "../backup/run-backup-job";
import { createBackupJob, updateBackupJob } from "../backup/save-backup-job";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { generateRecoveryKeysetNow, retireRecoveryKeyset } from "../recovery/manage-recovery-keysets";
import { answerPasswordRecoveryRequest } from "./answer-recovery-request";
import { applyPasswordRecoveryResponse } from "./apply-recovery-response";
import { createPasswordRecoveryRequest } from "./create-recovery-request";
import { listPasswordRecoveryRequests } from "./list-recovery-requests";

type A = Awaited<ReturnType<typeof makeActor>>;
let admin: A, so: A;
let tmp: string;
let repositoryId: string;
const LOST = "the-password-nobody-remembers";
const NEW = "the-password-we-use-now-1";

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  so = await makeActor("SECURITY_OFFICER");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-recovery-"));
  repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("repo"), path: path.join(tmp, "repo") })).id;
}, 60_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(jobId: string) {
  const { sessionId } = await runBackupJobNow(admin, { jobId });
  await db.jobSession.update({ where: { id: sessionId }, data: { state: "running", startedAt: new Date() } });
  await runBackupSession(sessionId);
  return db.jobSession.findUniqueOrThrow({ where: { id: sessionId } });
}

const input = (vm: { id: string; name: string }, password: string, name = uniqueEmail("job")) => ({
  name,
  selection: [{ kind: "vm" as const, id: vm.id, label: vm.name }],
  repositoryId,
  retentionPoints: 5,
  proxyMode: "automatic" as const,
  failoverToNetwork: true,
  encryptionMode: "password" as const,
  password,
  passwordConfirm: password,
  schedule: { kind: "manual" as const },
});

describe("password-loss recovery", () => {
  it("reopens a point whose password is lost; verify goes from keys-unavailable to clean", async () => {
    const { id: keysetId } = await generateRecoveryKeysetNow(so);
    const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false }, select: { id: true, name: true } });
    const job = await createBackupJob(admin, input(vm, LOST));
    expect((await run(job.id)).state).toBe("success");
    const [lostPoint] = await listRestorePoints(admin, { jobId: job.id });
    expect(lostPoint.keyIds).toContain(`keyset:${keysetId}`);

    // The password is changed and the old one forgotten: the console no longer opens the old point.
    const name = (await db.backupJob.findUniqueOrThrow({ where: { id: job.id } })).name;
    await updateBackupJob(admin, { jobId: job.id, ...input(vm, NEW, name) });
    await runRepositoryVerify(repositoryId);
    const before = (await getBackupRepository(admin, { repositoryId })).report!;
    expect(before.points.find((p) => p.pointId === lostPoint.id)?.ok).toBe(false);

    // 1. The administrator asks; the document holds no secret.
    const req = await createPasswordRecoveryRequest(admin, { pointIds: [lostPoint.id] });
    expect(req.unrecoverable).toEqual([]);
    expect(req.points[0]).toMatchObject({ keysetId, keysetInConsole: true });
    expect(req.text).not.toMatch(/PRIVATE KEY/);
    // Only a Security Officer answers; an administrator cannot.
    await expectAppError(answerPasswordRecoveryRequest(admin, { requestText: req.text }), "FORBIDDEN");
    // 2. The Security Officer answers with the keyset the console holds.
    const answer = await answerPasswordRecoveryRequest(so, { requestText: req.text });
    expect(answer.answered).toBe(1);
    expect((await db.auditEvent.findFirstOrThrow({ where: { action: "keyset.use", actorId: so.id }, orderBy: { seq: "desc" } })).outcome).toBe("success");
    // 3. The administrator applies it: the point opens, verify is clean again.
    const applied = await applyPasswordRecoveryResponse(admin, { responseText: answer.text });
    expect(applied.opened.map((p) => p.pointId)).toEqual([lostPoint.id]);
    await runRepositoryVerify(repositoryId);
    const after = (await getBackupRepository(admin, { repositoryId })).report!;
    expect(after.points.find((p) => p.pointId === lostPoint.id)?.ok).toBe(true);
    expect((await listPasswordRecoveryRequests(admin)).find((r) => r.id === req.id)?.state).toBe("applied");
    // Applying twice is refused; the recovered key is stored sealed, never in clear.
    await expectAppError(applyPasswordRecoveryResponse(admin, { responseText: answer.text }), "CONFLICT");
    const stored = await db.recoveredPointKey.findUniqueOrThrow({ where: { pointId: lostPoint.id } });
    expect(stored.storageKeySealed).toMatch(/^v1:/);
  });

  it("an answer is useless for another request, and garbage is refused with a clear message", async () => {
    const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false }, select: { id: true, name: true } });
    const job = await createBackupJob(admin, input(vm, LOST));
    await run(job.id);
    const [point] = await listRestorePoints(admin, { jobId: job.id });
    const a = await createPasswordRecoveryRequest(admin, { pointIds: [point.id] });
    const b = await createPasswordRecoveryRequest(admin, { pointIds: [point.id] });
    const answerA = JSON.parse((await answerPasswordRecoveryRequest(so, { requestText: a.text })).text);
    // The answer to A relabelled as B's: B's private half cannot open it.
    const forged = JSON.stringify({ ...answerA, id: b.id });
    const e = await expectAppError(applyPasswordRecoveryResponse(admin, { responseText: forged }), "CONFLICT");
    expect(e.message).toMatch(/did not open/);
    expect((await db.passwordRecoveryRequest.findUniqueOrThrow({ where: { id: b.id } })).state).toBe("pending");
    const g = await expectAppError(answerPasswordRecoveryRequest(so, { requestText: "hello" }), "INVALID_INPUT");
    expect(g.message).toMatch(/not a Strongroom recovery request/);
    await expectAppError(applyPasswordRecoveryResponse(admin, { responseText: a.text }), "INVALID_INPUT");
  });

  it("says which points are unrecoverable when no keyset protects them", async () => {
    for (const k of await db.recoveryKeyset.findMany({ where: { retiredAt: null } })) await retireRecoveryKeyset(so, { keysetId: k.id }).catch(() => db.recoveryKeyset.update({ where: { id: k.id }, data: { retiredAt: new Date() } }));
    await db.consoleSetting.upsert({ where: { key: "recovery-keysets" }, create: { key: "recovery-keysets", value: JSON.stringify({ enabled: false, rotateDays: 30, retentionDays: 365 }) }, update: { value: JSON.stringify({ enabled: false, rotateDays: 30, retentionDays: 365 }) } });
    const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false }, select: { id: true, name: true } });
    const job = await createBackupJob(admin, input(vm, LOST));
    await run(job.id);
    const [point] = await listRestorePoints(admin, { jobId: job.id });
    expect(point.keyIds.some((k) => k.startsWith("keyset:"))).toBe(false);
    const r = await createPasswordRecoveryRequest(admin, { pointIds: [point.id] });
    expect(r.id).toBe("");
    expect(r.unrecoverable[0]).toMatchObject({ pointId: point.id });
    expect(r.unrecoverable[0].why).toMatch(/no recovery keyset/);
    await db.consoleSetting.delete({ where: { key: "recovery-keysets" } });
  });
});
