// A repository folder that was rolled back, locked by a killed process, or changed behind the
// console's back, run through the real runner on the lab's real files (BKP-2, BKP-6…8, KEY-9).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { randomBytes } from "node:crypto";
import { FilesystemStore, KeyRing, openRepository } from "@/lib/engine";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "@/lib/engine/keys/user-key";
import { candidate, diskDifferences } from "@/lib/engine/pipeline/testing";
import { encodeLock } from "@/lib/engine/repository/locks";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { runRepositoryVerify } from "@/lib/services/backup/sessions/run-repository-verify";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { backupHost, platform } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { runGuestWrites } from "../vms/run-guest-writes";
import { createBackupRepository } from "./create-repository";
import { getJobSession } from "./get-job-session";
import { listRestorePoints } from "./list-restore-points";
import { getBackupRepository } from "./list-repositories";
import { runBackupJobNow } from "./run-backup-job";
import { createBackupJob } from "./save-backup-job";

const PASSWORD = "rolled-back-but-not-fooled-42";
let admin: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-health-"));
}, 60_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function runNow(jobId: string) {
  const { sessionId } = await runBackupJobNow(admin, { jobId });
  await db.jobSession.update({ where: { id: sessionId }, data: { state: "running", startedAt: new Date() } });
  await runBackupSession(sessionId);
  const s = await getJobSession(admin, { sessionId });
  s.error = [s.error, ...s.progress.vms.map((v) => v.error)].filter(Boolean).join(" | ") || null;
  return s;
}

/** A new repository and a password job protecting one natively encrypted lab VM. */
async function setUp(retentionPoints = 7) {
  const folder = path.join(tmp, uniqueEmail("repo"));
  const repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("repo"), path: folder })).id;
  const vm = await db.vm.findFirstOrThrow({ where: { encrypted: true, powerState: "poweredOn", keyProvider: { kind: "NATIVE" } }, orderBy: { name: "desc" } });
  await runGuestWrites(admin, { vmId: vm.id, percent: 10 });
  const job = await createBackupJob(admin, {
    name: uniqueEmail("job"),
    selection: [{ kind: "vm", id: vm.id, label: vm.name }],
    repositoryId,
    retentionPoints,
    proxyMode: "automatic",
    failoverToNetwork: true,
    encryptionMode: "password",
    password: PASSWORD,
    passwordConfirm: PASSWORD,
    passwordHint: "",
    schedule: { kind: "manual" },
  });
  return { folder, repositoryId, vm, jobId: job.id };
}

const logText = (s: Awaited<ReturnType<typeof runNow>>) => s.log.map((l) => l.text).join("\n");

describe("a rolled-back repository folder (BKP-2)", () => {
  it("the next incremental reads from the point the folder holds: the newest point restores bit for bit; the rollback is reported", { timeout: 240_000 }, async () => {
    const { folder, repositoryId, vm, jobId } = await setUp();
    const first = await runNow(jobId);
    expect(first.state, first.error ?? "").toBe("success");
    const copy = `${folder}.copy`;
    fs.cpSync(folder, copy, { recursive: true }); // the folder as it was before point 2

    await runGuestWrites(admin, { vmId: vm.id, percent: 5 });
    const second = await runNow(jobId);
    expect(second.state, second.error ?? "").toBe("success");
    const secondPoint = second.progress.vms[0].pointId!;

    // Someone puts the old copy back.
    fs.rmSync(folder, { recursive: true });
    fs.cpSync(copy, folder, { recursive: true });
    const page = await getBackupRepository(admin, { repositoryId });
    expect(page.catalogueProblems.join("\n")).toMatch(/rolled back/);
    expect(page.catalogueProblems.join("\n")).toMatch(/1 restore point\(s\) the console lists are missing/);

    await runGuestWrites(admin, { vmId: vm.id, percent: 5 });
    const third = await runNow(jobId);
    expect(third.state, third.error ?? "").toBe("warning");
    expect(logText(third)).toMatch(/rolled back/);
    const thirdPoint = third.progress.vms[0].pointId!;

    // The newest point holds the disks exactly as they are now.
    const repo = await openRepository(new FilesystemStore(folder));
    const point = await repo.readPoint(thirdPoint, new KeyRing().addPassword(PASSWORD));
    const pvm = (await platform().inventory()).vms.find((v) => v.externalId === vm.externalId)!;
    for (const d of pvm.disks) {
      const proxy = candidate(pvm, { kind: "physical", transportModes: ["nbdssl"], keyProviderExternalId: null });
      expect(await diskDifferences({ host: backupHost(), point, vm: pvm, deviceKey: d.deviceKey, proxy, mode: "nbdssl" }), d.label).toEqual([]);
    }
    point.close();

    // The lost point is shown as missing, on the VM's restore points and in verify.
    const points = await listRestorePoints(admin, { vmId: vm.id });
    expect(points.find((p) => p.id === secondPoint)?.status).toBe("missing");
    await runRepositoryVerify(repositoryId);
    const report = (await getBackupRepository(admin, { repositoryId })).report!;
    expect(report.outcome).toBe("damaged");
    expect(report.points.find((p) => p.pointId === secondPoint)).toMatchObject({ ok: false, problems: [expect.stringMatching(/^Missing/)] });
  });
});

describe("locks and the catalogue", () => {
  /** Plants a lock file as another process would leave it. */
  function plantLock(folder: string, kind: "shared" | "exclusive", pid: number) {
    const lockId = Buffer.from(Array.from({ length: 16 }, (_, i) => (i * 37 + pid) & 0xff));
    const now = Date.now();
    const data = encodeLock({ lockId, kind, createdAt: now, expiresAt: now + 6 * 3_600_000, owner: `strongroom/${pid}/job-x`, host: os.hostname(), pid });
    fs.mkdirSync(path.join(folder, "locks"), { recursive: true });
    fs.writeFileSync(path.join(folder, "locks", lockId.toString("hex")), data);
    return path.join(folder, "locks", lockId.toString("hex"));
  }

  it("a killed retention's exclusive lock no longer fails backups; retention blocked by a live holder ends the session Warning", { timeout: 240_000 }, async () => {
    const { folder, jobId } = await setUp(1);
    expect((await runNow(jobId)).state).toBe("success");
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const stale = plantLock(folder, "exclusive", dead);
    const ok = await runNow(jobId);
    expect(ok.state, ok.error ?? "").toBe("success");
    expect(fs.existsSync(stale)).toBe(false);

    // A live process (this test's parent) holds a shared lock: retention cannot run.
    const live = plantLock(folder, "shared", process.ppid);
    const blocked = await runNow(jobId);
    expect(blocked.state).toBe("warning");
    expect(blocked.error).toMatch(/retention did not run/);
    expect(logText(blocked)).toMatch(/Retention did not run/);
    fs.rmSync(live);
  });

  it("a point file without a catalogue row is adopted; a deleted point file is shown as missing", { timeout: 240_000 }, async () => {
    const { folder, repositoryId, vm, jobId } = await setUp();
    expect((await runNow(jobId)).state).toBe("success");
    const chainsDir = path.join(folder, "chains");
    const [vbm] = fs.readdirSync(chainsDir);
    const oldVbm = fs.readFileSync(path.join(chainsDir, vbm));
    await runGuestWrites(admin, { vmId: vm.id, percent: 5 });
    const second = await runNow(jobId);
    const pointId = second.progress.vms[0].pointId!;
    // An older copy of the chain metadata file is put back: named, and rewritten by the next backup.
    const newVbm = fs.readFileSync(path.join(chainsDir, vbm));
    fs.writeFileSync(path.join(chainsDir, vbm), oldVbm);
    expect((await getBackupRepository(admin, { repositoryId })).catalogueProblems.join()).toMatch(/chain metadata file of .* is older than its newest restore point/);
    fs.writeFileSync(path.join(chainsDir, vbm), newVbm);
    expect((await getBackupRepository(admin, { repositoryId })).catalogueProblems).toEqual([]);
    // Killed after the point file was written, before its row: the row is not there.
    const row = await db.restorePoint.findUniqueOrThrow({ where: { id: pointId } });
    await db.restorePoint.delete({ where: { id: pointId } });
    expect((await getBackupRepository(admin, { repositoryId })).catalogueProblems.join()).toMatch(/not in the catalogue yet/);
    await runRepositoryVerify(repositoryId);
    const adopted = await db.restorePoint.findUniqueOrThrow({ where: { id: pointId } });
    expect(adopted).toMatchObject({ jobId, vmExternalId: row.vmExternalId, vmName: row.vmName, chainId: row.chainId, status: "ok", incremental: true, diskCount: row.diskCount });
    const report = (await getBackupRepository(admin, { repositoryId })).report!;
    expect(report.problems.join()).toMatch(/adopted/);
    expect(report.outcome).toBe("clean");

    // The file is deleted from disk: the console says missing, not ok.
    fs.rmSync(path.join(folder, "points", pointId));
    expect((await listRestorePoints(admin, { vmId: vm.id })).find((p) => p.id === pointId)?.status).toBe("missing"); // before any check ran
    await runRepositoryVerify(repositoryId);
    const after = (await getBackupRepository(admin, { repositoryId })).report!;
    expect(after.outcome).toBe("damaged");
    expect((await listRestorePoints(admin, { repositoryId })).find((p) => p.id === pointId)?.status).toBe("missing");
  });

  it("packs an interrupted session left are reclaimed by a later session once they are old enough, and the log says how many bytes", { timeout: 240_000 }, async () => {
    const { folder, repositoryId, jobId } = await setUp();
    expect((await runNow(jobId)).state).toBe("success");
    // A session of two hours ago that died after writing a pack (more than 16 MiB of new blocks).
    const past = await openRepository(new FilesystemStore(folder), { now: () => Date.now() - 2 * 3_600_000 });
    const password = await createPasswordKey("interrupted", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
    const s = await past.beginPoint({ protection: { password } });
    const MiB = 1024 * 1024;
    await expect(
      s.writeDisk("disk-0", {
        capacity: 40 * MiB,
        blocks: (async function* () {
          for (let i = 0; i < 20; i++) yield { index: i, data: randomBytes(MiB) };
          throw new Error("killed");
        })(),
      }),
    ).rejects.toThrow(/killed/);
    await s.abort();
    await runRepositoryVerify(repositoryId);
    const before = (await getBackupRepository(admin, { repositoryId })).report!;
    expect(before.problems.join()).toMatch(/pack\(s\) no point references/);

    const next = await runNow(jobId);
    expect(next.state, next.error ?? "").toBe("success");
    expect(logText(next)).toMatch(/Reclaimed 16\.\d MiB in 1 pack\(s\) that interrupted backups had left/);
    await runRepositoryVerify(repositoryId);
    expect((await getBackupRepository(admin, { repositoryId })).report!.problems.join()).not.toMatch(/no point references/);
  });
});
