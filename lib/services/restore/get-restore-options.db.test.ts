// The restore wizard's options for one point (RST-1…6, SEC-1): the point as backed up with its
// keys, the source VM now, targets grouped as the wizard shows them, key providers of the VM's
// tenant only, defaults that pass the pre-restore check, and a point whose keys are missing.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import type { PlatformVm } from "@/lib/platform/connector";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { expectAppError } from "@/lib/testing/db-state";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { platform } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { createBackupRepository } from "../backup/create-repository";
import { listRestorePoints } from "../backup/list-restore-points";
import { runBackupJobNow } from "../backup/run-backup-job";
import { createBackupJob } from "../backup/save-backup-job";
import { checkRestore } from "./check-restore";
import { getRestoreOptions } from "./get-restore-options";

const PASSWORD = "correct-horse-battery-staple-42";
let admin: Awaited<ReturnType<typeof makeActor>>;
let operator: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;
let officer: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;
let source: PlatformVm;
let pointId: string;
let jobId: string;

let undo: UndoVm | undefined;
beforeAll(async () => {
  await syncInventoryFromPlatform();
  [admin, operator, viewer, officer] = await Promise.all([makeActor("BACKUP_ADMIN"), makeActor("RESTORE_OPERATOR"), makeActor("BACKUP_VIEWER"), makeActor("SECURITY_OFFICER")]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-restore-options-"));
  const repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("repo"), path: path.join(tmp, "repo") })).id;
  const inv = await platform().inventory();
  source = await encryptedTwoDiskVm({ tenant: true, undo: (u) => (undo = u) }).catch(() => encryptedTwoDiskVm({ undo: (u) => (undo = u) }));
  const vmRow = await db.vm.findFirstOrThrow({ where: { externalId: source.externalId } });
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
    passwordHint: "",
    schedule: { kind: "manual" },
  });
  jobId = job.id;
  const { sessionId } = await runBackupJobNow(admin, { jobId: job.id });
  await db.jobSession.update({ where: { id: sessionId }, data: { state: "running", startedAt: new Date() } });
  expect((await runBackupSession(sessionId, 60_000)).state).toBe("success");
  pointId = (await listRestorePoints(admin, { vmId: vmRow.id }))[0].id;
}, 120_000);
afterAll(async () => {
  await undo?.().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("getRestoreOptions", () => {
  it("describes the point as backed up, the source now, and the targets grouped as the wizard shows them", async () => {
    const o = await getRestoreOptions(operator, { pointId });
    expect(o.point).toMatchObject({ id: pointId, vmName: source.name, keysAvailable: true, keysProblem: null });
    expect(o.point.keyIds.length).toBeGreaterThan(0);
    expect(o.point.vm?.disks.map((d) => [d.deviceKey, d.label, d.encrypted])).toEqual(source.disks.map((d) => [d.deviceKey, d.label, d.encrypted]));
    expect(o.point.vm).toMatchObject({ encrypted: true, savedKeys: true });
    expect(o.point.vm?.keyId).toBeTruthy();
    expect(o.point.vm?.keyId).toBe(o.source?.keyId);
    expect(o.source).toMatchObject({ name: source.name, encrypted: true });
    expect(o.source?.vmId).toBeTruthy();
    // RST-1 in place: the VM still exists on its site with every disk of the point at the same size.
    expect(o.inPlace).toMatchObject({ available: true, why: null });
    expect(o.inPlace.disks.map((d) => [d.deviceKey, d.usable])).toEqual(source.disks.map((d) => [d.deviceKey, true]));

    const inv = await platform().inventory();
    expect(o.sites.map((s) => s.externalId).sort()).toEqual(inv.sites.map((s) => s.externalId).sort());
    const home = o.sites.find((s) => s.externalId === source.siteExternalId)!;
    expect(home.isSourceSite).toBe(true);
    expect(home.sameKeyPossible).toBe(true);
    expect(home.datastores.some((d) => d.encryptionCompatible) && home.datastores.some((d) => !d.encryptionCompatible)).toBe(true);
    expect(home.vmEncryptionPolicyExternalId).toBe(inv.storagePolicies.find((p) => p.siteExternalId === home.externalId && p.name === "VM Encryption Policy")!.externalId);
    expect(home.folders).toContain(source.folder);
    expect(home.vmNames).toContain(source.name);
    // A host that cannot take the VM says why.
    for (const h of o.sites.flatMap((s) => s.hosts)) expect(h.usable ? h.why : typeof h.why).toBe(h.usable ? null : "string");
    expect(o.sites.flatMap((s) => s.hosts).some((h) => !h.usable && /maintenance/.test(h.why ?? ""))).toBe(true);
    // Never another tenant's key provider.
    const tenantName = inv.tenants.find((t) => t.externalId === source.tenantExternalId)?.name ?? null;
    for (const k of o.sites.flatMap((s) => s.keyProviders)) expect([null, tenantName]).toContain(k.tenantName);
    const otherTenants = inv.keyProviders.filter((k) => k.tenantExternalId && k.tenantExternalId !== source.tenantExternalId).map((k) => k.externalId);
    expect(otherTenants.length).toBeGreaterThan(0);
    for (const id of otherTenants) expect(o.sites.flatMap((s) => s.keyProviders).map((k) => k.externalId)).not.toContain(id);
  });

  it("defaults: original site, host and folder, <vm>-restored, disks encrypted as at backup, same key — and they pass the pre-restore check", async () => {
    const o = await getRestoreOptions(operator, { pointId });
    const d = o.defaults!;
    expect(d).toMatchObject({ pointId, siteExternalId: source.siteExternalId, folder: source.folder, name: `${source.name}-restored`, keys: { kind: "same-key" } });
    expect(d.disks.map((x) => x.encrypted)).toEqual(source.disks.map((x) => x.encrypted));
    const site = o.sites.find((s) => s.externalId === d.siteExternalId)!;
    for (const x of [d.home, ...d.disks]) expect(site.datastores.find((ds) => ds.externalId === x.datastoreExternalId)?.encryptionCompatible).toBe(true);
    // Each adapter on the host's network of the same name (the original host has the VM's own).
    expect(o.point.vm!.nicsRecorded).toBe(true);
    expect(o.point.vm!.nics.map((n) => [n.deviceKey, n.networkName])).toEqual(source.nics.map((n) => [n.deviceKey, n.networkName]));
    expect(d.networks).toEqual(source.nics.map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: n.networkExternalId })));
    // On the DR site the production networks' names are not there: every adapter defaults to disconnected except "VM Network".
    const dr = o.sites.find((s) => s.role === "dr")!;
    expect(dr.networks.length).toBeGreaterThan(0);
    expect(dr.networks.map((n) => n.name)).not.toContain(source.nics[0].networkName);
    const check = await checkRestore(operator, d);
    expect(check.problems).toEqual([]);
    expect(check.notes.join(" ")).toMatch(/Network: Network adapter 1 on /);
  });

  it("a point whose keys are missing says which keys it needs, and offers no defaults", async () => {
    const job = await db.backupJob.findUniqueOrThrow({ where: { id: jobId } });
    await db.backupJob.update({ where: { id: jobId }, data: { passwordKeySealed: null } });
    try {
      const o = await getRestoreOptions(operator, { pointId });
      expect(o.point.keysAvailable).toBe(false);
      expect(o.point.keysProblem).toMatch(/needs/);
      expect(o.point.keysProblem).toContain(o.point.keyIds[0]);
      expect(o.point.keysProblem).not.toContain(PASSWORD);
      expect(o.defaults).toBeNull();
      expect(o.inPlace).toMatchObject({ available: false, why: expect.stringMatching(/keys/) });
    } finally {
      await db.backupJob.update({ where: { id: jobId }, data: { passwordKeySealed: job.passwordKeySealed } });
    }
  });

  it("every role that reads jobs may look (starting a restore needs restore:run); an unknown point is not found", async () => {
    await expect(getRestoreOptions(viewer, { pointId })).resolves.toMatchObject({ point: { id: pointId } });
    await expect(getRestoreOptions(officer, { pointId })).resolves.toMatchObject({ point: { id: pointId } });
    await expectAppError(getRestoreOptions(operator, { pointId: "no-such-point" }), "NOT_FOUND");
  });
});
