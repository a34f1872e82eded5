// Disaster recovery without the configuration database (KEY-9): the console that made the backups
// is gone; its repository folder is registered on a console that knows nothing of it. The points
// are listed with the keys they need, open once the backup password is entered (the password is
// never stored), and restore like any other.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import type { PlatformVm } from "@/lib/platform/connector";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { platform } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { runGuestWrites } from "../vms/run-guest-writes";
import { createBackupRepository } from "../backup/create-repository";
import { runBackupJobNow } from "../backup/run-backup-job";
import { createBackupJob } from "../backup/save-backup-job";
import { checkRestore } from "./check-restore";
import { startRestore } from "./start-restore";
import { getRepositoryKeyNeeds } from "./repository-key-needs";
import { unlockRepository } from "./unlock-repository";
import { sessionOf } from "@/lib/testing/restore-fixtures";

const PASSWORD = "disaster-recovery-password-77";
let admin: Awaited<ReturnType<typeof makeActor>>;
let operator: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;
let folder: string;
let vm: PlatformVm;
let pointId: string;
let poweredOnHere: string | null = null;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  operator = await makeActor("RESTORE_OPERATOR");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-dr-"));
  folder = path.join(tmp, "repo");
  const repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("dr-repo"), path: folder })).id;
  const inv = await platform().inventory();
  vm = inv.vms.find((v) => !v.encrypted && v.disks.length >= 1 && !v.name.startsWith("rst") && !v.name.startsWith("dr-"))!;
  if ((await platform().vmRuntime(vm.externalId)).powerState !== "poweredOn") {
    await platform().powerOn(vm.externalId);
    poweredOnHere = vm.externalId;
  }
  const vmRow = await db.vm.findFirstOrThrow({ where: { externalId: vm.externalId } });
  await runGuestWrites(admin, { vmId: vmRow.id, percent: 10 });
  const job = await createBackupJob(admin, { name: uniqueEmail("dr-job"), selection: [{ kind: "vm", id: vmRow.id, label: vmRow.name }], repositoryId, retentionPoints: 3, proxyMode: "automatic", failoverToNetwork: true, encryptionMode: "password", password: PASSWORD, passwordConfirm: PASSWORD, passwordHint: "the DR one", schedule: { kind: "manual" } });
  const { sessionId } = await runBackupJobNow(admin, { jobId: job.id });
  await db.jobSession.update({ where: { id: sessionId }, data: { state: "running", startedAt: new Date() } });
  expect((await runBackupSession(sessionId, 60_000)).state).toBe("success");
  pointId = (await db.restorePoint.findFirstOrThrow({ where: { sessionId } })).id;
  // The configuration database is lost: nothing of the job or the repository is left.
  await db.jobSession.deleteMany({ where: { jobId: job.id } });
  await db.backupJob.delete({ where: { id: job.id } });
  await db.backupRepository.delete({ where: { id: repositoryId } });
  vm = (await platform().inventory()).vms.find((v) => v.externalId === vm.externalId)!;
}, 120_000);
afterAll(async () => {
  if (poweredOnHere) await platform().powerOff(poweredOnHere).catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("disaster recovery on a console without the configuration database (KEY-9)", () => {
  it("lists the adopted points with the keys they need, opens them once the password is entered, and restores", async () => {
    const repo = await createBackupRepository(admin, { name: uniqueEmail("adopted"), path: folder });
    const adopted = await db.restorePoint.findUniqueOrThrow({ where: { id: pointId } });
    expect(adopted.repositoryId).toBe(repo.id);
    expect(JSON.parse(adopted.keyIds)[0]).toMatch(/^password:/);
    const inv = await platform().inventory();
    const policy = inv.storagePolicies.find((p) => p.siteExternalId === vm.siteExternalId && !p.encryption && inv.datastores.some((d) => d.siteExternalId === vm.siteExternalId && d.compatiblePolicyExternalIds.includes(p.externalId)))!;
    const ds = inv.datastores.filter((d) => d.siteExternalId === vm.siteExternalId && d.compatiblePolicyExternalIds.includes(policy.externalId)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
    const choices = {
      pointId,
      siteExternalId: vm.siteExternalId,
      hostExternalId: vm.hostExternalId,
      name: "dr-restored",
      folder: "/Recovered",
      home: { datastoreExternalId: ds.externalId, storagePolicyExternalId: policy.externalId },
      disks: vm.disks.map((d) => ({ deviceKey: d.deviceKey, datastoreExternalId: ds.externalId, storagePolicyExternalId: policy.externalId, encrypted: false })),
      keys: { kind: "same-key" as const },
      // Disconnected on a recovered console: nobody has said yet which networks the VM may join.
      networks: vm.nics.map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: null })),
      powerOn: true,
    };
    // Before the password: the check says which key the point needs.
    const before = await checkRestore(operator, choices);
    expect(before.ok).toBe(false);
    expect(before.problems[0]).toMatchObject({ field: "point" });
    expect(before.problems[0].message).toContain(JSON.parse(adopted.keyIds)[0]);

    // The repository page: the point needs the password's key, and its hint is shown.
    const needs = await getRepositoryKeyNeeds(operator, { repositoryId: repo.id });
    const need = needs.points.find((p) => p.id === pointId)!;
    expect(need.keyIds).toEqual(JSON.parse(adopted.keyIds));
    expect(need.vmName).toBeNull();
    expect(needs.keys.find((k) => k.keyId === need.keyIds[0])).toMatchObject({ kind: "password", hint: "the DR one" });

    await expectAppError(unlockRepository(operator, { repositoryId: repo.id, password: "not the password" }), "INVALID_INPUT");
    const unlocked = await unlockRepository(operator, { repositoryId: repo.id, password: PASSWORD });
    expect(unlocked.opened).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(await db.repositoryKey.findMany())).not.toContain(PASSWORD);
    expect(JSON.stringify(await db.auditEvent.findMany({ where: { action: "repository.unlock" } }))).not.toContain(PASSWORD);
    expect((await db.restorePoint.findUniqueOrThrow({ where: { id: pointId } })).vmName).toBe(vm.name);

    expect((await getRepositoryKeyNeeds(operator, { repositoryId: repo.id })).points.find((p) => p.id === pointId)).toBeUndefined();

    const after = await checkRestore(operator, choices);
    expect(after.problems).toEqual([]);
    const sessionId = sessionOf(await startRestore(operator, { vms: [choices], reason: "site lost: recovering from the repository alone" }));
    const s = await runBackupSession(sessionId, 90_000);
    expect(s.state, s.error ?? "").toBe("success");
  });
});
