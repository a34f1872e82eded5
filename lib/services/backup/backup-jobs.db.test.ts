// Backup jobs end to end below the browser (BKP-1…6, KEY-4/5/7): repositories, jobs and their
// keys, the runner's session on the lab's real disk files, restore points, verify, a real KMS.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { FilesystemStore, KeyRing, openRepository } from "@/lib/engine";
import { startPykmipServer, type PykmipServer } from "@/lib/kmip/testing/pykmip-server";
import { scheduleDueBackupJobs } from "./sessions/schedule-backup-jobs";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { runRepositoryVerify } from "@/lib/services/backup/sessions/run-repository-verify";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { registerKmsCluster } from "../kms/register-kms-cluster";
import { runGuestWrites } from "../vms/run-guest-writes";
import { createBackupRepository } from "./create-repository";
import { getJobSession } from "./get-job-session";
import { listRestorePoints } from "./list-restore-points";
import { getBackupRepository } from "./list-repositories";
import { runBackupJobNow, stopJobSession } from "./run-backup-job";
import { createBackupJob, updateBackupJob } from "./save-backup-job";

const PASSWORD = "correct-horse-battery-staple-42";
let admin: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;
let repositoryId: string;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-jobs-"));
  repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("repo"), path: path.join(tmp, "repo") })).id;
}, 60_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** What the runner does with a queued session. */
async function runNow(jobId: string) {
  const { sessionId } = await runBackupJobNow(admin, { jobId });
  await db.jobSession.update({ where: { id: sessionId }, data: { state: "running", startedAt: new Date() } });
  await runBackupSession(sessionId, 25_000);
  const s = await getJobSession(admin, { sessionId });
  // Failures explain themselves in the assertion messages below.
  s.error = [s.error, ...s.progress.vms.map((v) => v.error)].filter(Boolean).join(" | ") || null;
  return s;
}

async function nativeEncryptedVm() {
  const vm = await db.vm.findFirstOrThrow({ where: { encrypted: true, powerState: "poweredOn", keyProvider: { kind: "NATIVE" } }, orderBy: { name: "asc" } });
  await runGuestWrites(admin, { vmId: vm.id, percent: 10 });
  return vm;
}

const job = (over: Record<string, unknown> = {}) => ({
  name: uniqueEmail("job"),
  selection: [] as Array<{ kind: "vm"; id: string; label: string }>,
  repositoryId,
  retentionPoints: 3,
  proxyMode: "automatic" as const,
  failoverToNetwork: true,
  encryptionMode: "password" as const,
  password: PASSWORD,
  passwordConfirm: PASSWORD,
  passwordHint: "the usual one",
  schedule: { kind: "manual" as const },
  ...over,
});

describe("repositories", () => {
  it("refuses relative paths, taken names and folders that hold something else, changing nothing", async () => {
    const before = await db.backupRepository.count();
    const rel = await expectAppError(createBackupRepository(admin, { name: "x", path: "relative/folder" }), "INVALID_INPUT");
    expect(rel.fieldErrors?.path?.[0]).toMatch(/absolute/);
    const busy = path.join(tmp, "busy");
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, "notes.txt"), "not a repository");
    const foreign = await expectAppError(createBackupRepository(admin, { name: uniqueEmail("r"), path: busy }), "CONFLICT");
    expect(foreign.message).toMatch(/not empty/);
    const own = await db.backupRepository.findUniqueOrThrow({ where: { id: repositoryId } });
    await expectAppError(createBackupRepository(admin, { name: own.name, path: path.join(tmp, "other") }), "CONFLICT");
    expect(await db.backupRepository.count()).toBe(before);
    expect(fs.readdirSync(busy)).toEqual(["notes.txt"]);
  });

  it("adopts a folder that already holds a repository (KEY-9)", async () => {
    const own = await db.backupRepository.findUniqueOrThrow({ where: { id: repositoryId } });
    await db.backupRepository.delete({ where: { id: own.id } }).catch(() => undefined);
    const again = await createBackupRepository(admin, { name: own.name, path: own.path });
    expect(again.adopted).toBe(true);
    repositoryId = again.id;
  });
});

describe("repository folders (issue 13)", () => {
  it("refuses /proc, /sys and /dev (also through a symlink), control characters and files, at once", async () => {
    const before = await db.backupRepository.count();
    for (const bad of ["/proc/self/x", "/sys/kernel/x", "/dev/shm/repo", "//proc//self/./x/"]) {
      const e = await expectAppError(createBackupRepository(admin, { name: uniqueEmail("sys"), path: bad }), "INVALID_INPUT");
      expect(e.fieldErrors?.path?.[0]).toMatch(/outside \/proc, \/sys and \/dev/);
    }
    fs.symlinkSync("/proc/self", path.join(tmp, "to-proc"));
    const viaLink = await expectAppError(createBackupRepository(admin, { name: uniqueEmail("sys"), path: path.join(tmp, "to-proc", "x") }), "INVALID_INPUT");
    expect(viaLink.message).toMatch(/inside \/proc, a system folder/);
    const newline = await expectAppError(createBackupRepository(admin, { name: uniqueEmail("nl"), path: path.join(tmp, "a\nb") }), "INVALID_INPUT");
    expect(newline.fieldErrors?.path?.[0]).toMatch(/invisible or control character/);
    fs.writeFileSync(path.join(tmp, "a-file"), "x");
    const file = await expectAppError(createBackupRepository(admin, { name: uniqueEmail("f"), path: path.join(tmp, "a-file") }), "INVALID_INPUT");
    expect(file.message).toMatch(/a file, not a folder/);
    expect(fs.existsSync(path.join(tmp, "a\nb"))).toBe(false);
    expect(await db.backupRepository.count()).toBe(before);
  });

  it("one repository is registered once, whatever path reaches it, naming the first registration", async () => {
    const dir = path.join(tmp, "once");
    const first = await createBackupRepository(admin, { name: uniqueEmail("once"), path: dir });
    const row = await db.backupRepository.findUniqueOrThrow({ where: { id: first.id } });
    expect(row.path).toBe(fs.realpathSync(dir));
    fs.symlinkSync(dir, path.join(tmp, "once-link"));
    const before = await db.backupRepository.count();
    for (const alias of [`${dir}/`, `/${dir}`, `${path.dirname(dir)}/./once`, path.join(tmp, "once-link")]) {
      const e = await expectAppError(createBackupRepository(admin, { name: uniqueEmail("alias"), path: alias }), "CONFLICT");
      expect(e.message).toContain(row.name);
    }
    // A row stored with another spelling of the path (before paths were canonical): the repository id says it is the same.
    await db.backupRepository.update({ where: { id: row.id }, data: { path: `${dir}/legacy-spelling` } });
    const byId = await expectAppError(createBackupRepository(admin, { name: uniqueEmail("alias"), path: dir }), "CONFLICT");
    expect(byId.message).toContain(`already registered as ${row.name}`);
    await db.backupRepository.update({ where: { id: row.id }, data: { path: row.path } });
    expect(await db.backupRepository.count()).toBe(before);
  });
});

describe("a password job", () => {
  it("runs a full then an incremental backup of an encrypted VM; points carry their key ids and verify clean", async () => {
    const vm = await nativeEncryptedVm();
    const created = await createBackupJob(admin, job({ selection: [{ kind: "vm", id: vm.id, label: vm.name }] }));
    const row = await db.backupJob.findUniqueOrThrow({ where: { id: created.id } });
    // KEY-4: the password is nowhere; the user key is sealed.
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    expect(row.passwordKeySealed).toMatch(/^v1:/);
    const audits = await db.auditEvent.findMany({ where: { objectId: created.id } });
    expect(JSON.stringify(audits)).not.toContain(PASSWORD);

    const first = await runNow(created.id);
    expect(first.state, first.error ?? "").toBe("success");
    expect(first.progress.vms[0]).toMatchObject({ status: "success", incremental: false });
    const disk = first.progress.vms[0].disks[0];
    expect(disk.mode).toBeTruthy();
    expect(disk.reason).toMatch(/mode/);
    expect(disk.bytesRead).toBeGreaterThan(0);
    expect(first.log.some((l) => /restore point/.test(l.text))).toBe(true);

    await runGuestWrites(admin, { vmId: vm.id, percent: 5 });
    const second = await runNow(created.id);
    expect(second.state, second.error ?? "").toBe("success");
    expect(second.progress.vms[0].incremental).toBe(true);

    const points = await listRestorePoints(admin, { vmId: vm.id });
    const mine = points.filter((p) => p.job?.id === created.id);
    expect(mine).toHaveLength(2);
    expect(mine[0].keyIds.some((k) => k.startsWith("password:"))).toBe(true);
    expect(mine[0].vmEncrypted).toBe(true);

    // The point opens with the password alone, from the folder (KEY-9).
    const repoRow = await db.backupRepository.findUniqueOrThrow({ where: { id: repositoryId } });
    const repo = await openRepository(new FilesystemStore(repoRow.path));
    const opened = await repo.readPoint(mine[0].id, new KeyRing().addPassword(PASSWORD));
    // BKP-4: the VM's key id, provider, encryption.bundle and NVRAM as the host has them.
    const kp = await db.keyProvider.findUniqueOrThrow({ where: { id: vm.keyProviderId! } });
    expect(opened.attributes).toMatchObject({ encrypted: true, keyProviderExternalId: kp.externalId });
    expect(opened.attributes.keyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(String(opened.attributes.encryptionBundle)).toMatch(/^strongroom:bundle\/v1:/);
    expect(String(opened.attributes.nvram).length).toBeGreaterThan(0);

    await runRepositoryVerify(repositoryId);
    const report = (await getBackupRepository(admin, { repositoryId })).report!;
    expect(report.outcome, report.summary + report.problems.join()).toBe("clean");
    expect(report.points.length).toBeGreaterThanOrEqual(2);
  });

  it("a new password starts new chains: the next run is full, the old point still opens with the old password", async () => {
    const vm = await nativeEncryptedVm();
    const created = await createBackupJob(admin, job({ selection: [{ kind: "vm", id: vm.id, label: vm.name }] }));
    await runNow(created.id);
    const newPassword = "another-long-password-77";
    const saved = await updateBackupJob(admin, { jobId: created.id, ...job({ name: (await db.backupJob.findUniqueOrThrow({ where: { id: created.id } })).name, selection: [{ kind: "vm", id: vm.id, label: vm.name }], password: newPassword, passwordConfirm: newPassword }) });
    expect(saved.warnings.join()).toMatch(/full backup/);
    const after = await runNow(created.id);
    expect(after.state).toBe("success");
    expect(after.progress.vms[0].incremental).toBe(false);
    const [newest, oldest] = await listRestorePoints(admin, { jobId: created.id });
    expect(newest.keyIds).not.toEqual(oldest.keyIds);
    const repo = await openRepository(new FilesystemStore((await db.backupRepository.findUniqueOrThrow({ where: { id: repositoryId } })).path));
    await expect(repo.readPoint(oldest.id, new KeyRing().addPassword(PASSWORD))).resolves.toBeTruthy();
    await expect(repo.readPoint(newest.id, new KeyRing().addPassword(newPassword))).resolves.toBeTruthy();
    await expect(repo.readPoint(newest.id, new KeyRing().addPassword(PASSWORD))).rejects.toThrow();
  });

  it("a VM that cannot be read fails alone; the others still get their point (BKP-5)", async () => {
    const good = await nativeEncryptedVm();
    const bad = await db.vm.findFirstOrThrow({ where: { encrypted: true, keyProvider: { kind: "STANDARD", kmsClusterId: null } } });
    const created = await createBackupJob(admin, job({ selection: [{ kind: "vm", id: bad.id, label: bad.name }, { kind: "vm", id: good.id, label: good.name }] }));
    const s = await runNow(created.id);
    expect(s.state).toBe("failed");
    expect(s.error).toMatch(/1 of 2/);
    const byName = Object.fromEntries(s.progress.vms.map((v) => [v.name, v]));
    expect(byName[bad.name].status).toBe("failed");
    expect(byName[bad.name].error).toBeTruthy();
    expect(byName[good.name].status).toBe("success");
    expect(await db.restorePoint.count({ where: { sessionId: s.id } })).toBe(1);
  });

  it("validates input and references, saving nothing", async () => {
    const vm = await db.vm.findFirstOrThrow();
    const count = await db.backupJob.count();
    const short = await expectAppError(createBackupJob(admin, job({ selection: [{ kind: "vm", id: vm.id, label: "" }], password: "short", passwordConfirm: "short" })), "INVALID_INPUT");
    expect(short.fieldErrors?.password?.[0]).toMatch(/at least/);
    const differ = await expectAppError(createBackupJob(admin, job({ selection: [{ kind: "vm", id: vm.id, label: "" }], passwordConfirm: "something-else-entirely" })), "INVALID_INPUT");
    expect(differ.fieldErrors?.passwordConfirm?.[0]).toMatch(/differ/);
    await expectAppError(createBackupJob(admin, job({ selection: [{ kind: "vm", id: "no-such-vm", label: "" }] })), "INVALID_INPUT");
    await expectAppError(createBackupJob(admin, job({ selection: [{ kind: "vm", id: vm.id, label: "" }], repositoryId: "nope" })), "INVALID_INPUT");
    const hint = await expectAppError(createBackupJob(admin, job({ selection: [{ kind: "vm", id: vm.id, label: "" }], passwordHint: `it is ${PASSWORD}` })), "INVALID_INPUT");
    expect(hint.fieldErrors?.passwordHint?.[0]).toMatch(/must not contain/);
    expect(await db.backupJob.count()).toBe(count);
  });

  it("encryption off with encrypted VMs is saved with the TRN-7 warning", async () => {
    const vm = await nativeEncryptedVm();
    const r = await createBackupJob(admin, { ...job({ selection: [{ kind: "vm", id: vm.id, label: vm.name }] }), encryptionMode: "off", password: undefined, passwordConfirm: undefined });
    expect(r.warnings.join()).toMatch(/backup encryption is off: their data leaves the host in clear/);
    const s = await runNow(r.id);
    expect(s.state).toBe("success");
    expect(s.log.some((l) => l.level === "warning" && /OFF/.test(l.text))).toBe(true);
  });

  it("a second run now while one is queued is refused; a queued session can be stopped", async () => {
    const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false } });
    const created = await createBackupJob(admin, job({ selection: [{ kind: "vm", id: vm.id, label: vm.name }] }));
    const { sessionId } = await runBackupJobNow(admin, { jobId: created.id });
    await expectAppError(runBackupJobNow(admin, { jobId: created.id }), "CONFLICT");
    await stopJobSession(admin, { sessionId });
    expect((await db.jobSession.findUniqueOrThrow({ where: { id: sessionId } })).state).toBe("stopped");
    await expectAppError(stopJobSession(admin, { sessionId }), "CONFLICT");
  });

  it("a session left running by a process from before the job engine is closed as failed with the reason (BKP-6)", async () => {
    const vm = await db.vm.findFirstOrThrow({ where: { encrypted: false } });
    const created = await createBackupJob(admin, job({ selection: [{ kind: "vm", id: vm.id, label: vm.name }] }));
    const s = await db.jobSession.create({ data: { jobId: created.id, state: "running", trigger: "manual", startedAt: new Date(Date.now() - 11 * 60_000) } });
    await scheduleDueBackupJobs();
    const after = await getJobSession(admin, { sessionId: s.id });
    expect(after.state).toBe("failed");
    expect(after.error).toMatch(/stopped while this session ran/);
  });
});

describe("a KMS key job (real PyKMIP)", () => {
  let kms: PykmipServer;
  beforeAll(async () => {
    kms = await startPykmipServer({ keepDir: true });
  }, 60_000);
  afterAll(async () => {
    await kms?.stop();
  });

  it("creates the job's key on the KMS, backs up under it, and refuses to start while the KMS is down", async () => {
    const vm = await nativeEncryptedVm();
    const provider = await db.keyProvider.findFirstOrThrow({ where: { kind: "STANDARD", kmsClusterId: null }, orderBy: { name: "asc" } });
    await registerKmsCluster(admin, { name: uniqueEmail("kms"), servers: `127.0.0.1:${kms.port}`, caPem: kms.ca.toString(), clientCertPem: kms.clientA.cert.toString(), clientKeyPem: kms.clientA.key.toString(), keyProviderIds: [provider.id] });
    const created = await createBackupJob(admin, { ...job({ selection: [{ kind: "vm", id: vm.id, label: vm.name }] }), encryptionMode: "kms", password: undefined, passwordConfirm: undefined, kmsKeyProviderId: provider.id });
    const ok = await runNow(created.id);
    expect(ok.state, ok.error ?? "").toBe("success");
    const [point] = await listRestorePoints(admin, { jobId: created.id });
    expect(point.keyIds.some((k) => k.startsWith(`kms:${provider.externalId}/strongroom/backup-job/${created.id}#`))).toBe(true);

    const dir = kms.dir;
    const port = kms.port;
    await kms.stop();
    const before = await db.restorePoint.count({ where: { jobId: created.id } });
    const refused = await runNow(created.id);
    expect(refused.state).toBe("failed");
    expect(refused.error).toMatch(/did not start.*KMS/);
    expect(refused.progress.vms.every((v) => v.status === "skipped")).toBe(true);
    expect(await db.restorePoint.count({ where: { jobId: created.id } })).toBe(before);
    kms = await startPykmipServer({ keepDir: true, reuse: { dir, port } });
    const again = await runNow(created.id);
    expect(again.state, again.error ?? "").toBe("success");
    expect(again.progress.vms[0].incremental).toBe(true);
  });
});
