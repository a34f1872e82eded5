// Disk restore end to end below the browser (RST-7, RST-3, SEC-1, SEC-4): a VM backed up by a
// password job; then, through the job engine and the lab, a Restore Operator replaces one of its
// disks (same device key) and adds another as a new unencrypted disk — bit for bit as at backup;
// the refusals (encrypted disk to an unencrypted VM or outside the VM Encryption Policy node, a VM
// that does not exist, another tenant's VM, no confirmation) start nothing and leave the VM as it
// was; a Viewer may not.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { createBackupRepository } from "../backup/create-repository";
import { writeFourEyes } from "../approvals/four-eyes-state";
import { getJobSession } from "../backup/get-job-session";
import { listRestorePoints } from "../backup/list-restore-points";
import { runBackupJobNow } from "../backup/run-backup-job";
import { createBackupJob } from "../backup/save-backup-job";
import { backupHost, platform, restoreHost } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { runGuestWrites } from "../vms/run-guest-writes";
import { checkDiskRestore } from "./check-disk-restore";
import { startDiskRestore } from "./start-disk-restore";

const PASSWORD = "correct-horse-battery-staple-43";
let admin: Awaited<ReturnType<typeof makeActor>>;
let operator: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;
let source: PlatformVm;
let pointId: string;
let undo: UndoVm | undefined;
const added: Array<{ vm: string; deviceKey: number }> = [];

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  operator = await makeActor("RESTORE_OPERATOR");
  viewer = await makeActor("BACKUP_VIEWER");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-disk-restore-"));
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
  const s = await runBackupSession(sessionId, 60_000);
  expect(s.state, (await getJobSession(admin, { sessionId })).progress.vms.map((v) => v.error).join()).toBe("success");
  pointId = (await listRestorePoints(admin, { vmId: vmRow.id }))[0].id;
  source = (await platform().inventory()).vms.find((v) => v.externalId === source.externalId)!;
}, 120_000);

afterAll(async () => {
  // The disks this file added go again, so the files after it see the VM as the estate has it.
  for (const a of added.reverse()) {
    const rt = await platform().vmRuntime(a.vm).catch(() => null);
    if (rt?.powerState === "poweredOn") await platform().powerOff(a.vm);
    await restoreHost().detachDisk(a.vm, a.deviceKey).catch(() => undefined);
  }
  await undo?.().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function placement(inv: InventorySnapshot, vm: PlatformVm, encrypted: boolean) {
  const enc = inv.storagePolicies.find((p) => p.siteExternalId === vm.siteExternalId && p.encryption)!;
  const ds = inv.datastores.filter((d) => d.siteExternalId === vm.siteExternalId).sort((a, b) => b.freeBytes - a.freeBytes).find((d) => d.compatiblePolicyExternalIds.includes(enc.externalId) === encrypted)!;
  const policy = encrypted ? enc.externalId : ds.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  return { datastoreExternalId: ds.externalId, storagePolicyExternalId: policy };
}

async function print(vmId: string, deviceKey: number, areas?: Array<{ start: number; length: number }>) {
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

const vmNow = async (id: string) => (await platform().inventory()).vms.find((v) => v.externalId === id);

describe("disk restore to an existing VM (RST-7)", () => {
  it("a Restore Operator replaces disk 1 of the changed VM and adds disk 2 as a new unencrypted disk: bit for bit as at backup, audited, powered on", async () => {
    const [d1, d2] = source.disks;
    if ((await platform().vmRuntime(source.externalId)).powerState === "poweredOn") await platform().powerOff(source.externalId);
    const before = { d1: await print(source.externalId, d1.deviceKey), d2: await print(source.externalId, d2.deviceKey) };
    await platform().powerOn(source.externalId);
    const vmRow = await db.vm.findFirstOrThrow({ where: { externalId: source.externalId } });
    await runGuestWrites(admin, { vmId: vmRow.id, percent: 50 });
    const inv = await platform().inventory();
    const input = {
      pointId,
      targetVmExternalId: source.externalId,
      disks: [
        { sourceDeviceKey: d1.deviceKey, action: "replace" as const, replaceDeviceKey: d1.deviceKey, encrypted: true, ...placement(inv, source, true) },
        { sourceDeviceKey: d2.deviceKey, action: "add" as const, encrypted: false, ...placement(inv, source, false) },
      ],
    };
    const check = await checkDiskRestore(operator, input);
    expect(check.problems).toEqual([]);
    expect(check.consequences.join(" ")).toMatch(/powered off/);
    expect(check.consequences.join(" ")).toMatch(new RegExp(`${d1.label} is detached and deleted`));
    const { sessionId } = await startDiskRestore(operator, { ...input, powerOn: true, confirm: true, reason: "ticket 4713: the data disk is corrupt" });
    const newKey = Math.max(...source.disks.map((d) => d.deviceKey)) + 1;
    added.push({ vm: source.externalId, deviceKey: newKey });
    const s = await runBackupSession(sessionId, 90_000);
    const dto = await getJobSession(admin, { sessionId });
    expect(s.state, dto.progress.vms.map((v) => v.error).join() + dto.log.map((l) => l.text).join("\n")).toMatch(/success|warning/);
    expect(dto.restore?.[0]).toMatchObject({ mode: "disks", targetVmExternalId: source.externalId, poweredOn: true });
    expect(dto.restore?.[0].checks.every((c) => c.ok)).toBe(true);
    const now = (await vmNow(source.externalId))!;
    expect(now.disks.map((d) => d.deviceKey)).toEqual([...source.disks.map((d) => d.deviceKey), newKey]);
    expect(now.disks.find((d) => d.deviceKey === newKey)).toMatchObject({ encrypted: false, capacityBytes: d2.capacityBytes });
    expect(now.disks.find((d) => d.deviceKey === d1.deviceKey)).toMatchObject({ encrypted: true });
    await platform().powerOff(source.externalId);
    expect((await print(source.externalId, d1.deviceKey, before.d1.areas)).hash).toBe(before.d1.hash);
    expect((await print(source.externalId, newKey, before.d2.areas)).hash).toBe(before.d2.hash);
    expect((await print(source.externalId, d2.deviceKey, before.d2.areas)).hash).not.toBe(before.d2.hash); // disk 2 itself kept the guest's changes
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "restore.start", objectId: source.externalId }, orderBy: { at: "desc" } });
    expect(audit.actorId).toBe(operator.id);
    expect(audit.details).toContain("disks");
    expect(audit.details).toContain("ticket 4713");
    expect(audit.details).not.toContain(PASSWORD);
  }, 120_000);

  it("with four-eyes on, a disk encrypted at backup is not written unencrypted: the check says so beforehand, the start is refused, nothing is queued (SEC-2)", async () => {
    const d2 = source.disks[1];
    expect(d2.encrypted).toBe(true);
    const inv = await platform().inventory();
    const input = { pointId, targetVmExternalId: source.externalId, disks: [{ sourceDeviceKey: d2.deviceKey, action: "add" as const, encrypted: false, ...placement(inv, source, false) }] };
    await writeFourEyes(db, { enabled: true, expiryHours: 24 });
    try {
      const check = await checkDiskRestore(operator, input);
      expect(check.ok).toBe(false);
      expect(check.problems.map((p) => p.message).join(" ")).toMatch(/Four-eyes approval is on.*unencrypted although it was encrypted when backed up/);
      const sessions = await db.jobSession.count();
      const disksBefore = (await vmNow(source.externalId))!.disks.map((d) => d.deviceKey);
      const err = await expectAppError(startDiskRestore(operator, { ...input, powerOn: false, confirm: true, reason: "ticket 4714: copy the data disk" }), "CONFLICT");
      expect(err.message).toMatch(/Security Officer/);
      expect(await db.jobSession.count()).toBe(sessions);
      expect((await vmNow(source.externalId))!.disks.map((d) => d.deviceKey)).toEqual(disksBefore);
      // Encrypted, the same disk restore is no four-eyes matter.
      expect((await checkDiskRestore(operator, { ...input, disks: [{ ...input.disks[0], encrypted: true, ...placement(inv, source, true) }] })).problems).toEqual([]);
    } finally {
      await writeFourEyes(db, { enabled: false, expiryHours: 24 });
    }
  }, 60_000);

  it("refuses what cannot be done and changes nothing: encrypted to an unencrypted VM, outside the VM Encryption Policy node, a VM that does not exist, another tenant's VM, no confirmation (RST-3)", async (ctx) => {
    const inv = await platform().inventory();
    const [d1] = source.disks;
    const sessions = await db.jobSession.count({ where: { kind: "restore" } });
    const start = (targetVmExternalId: string, disk: Record<string, unknown>, extra: Record<string, unknown> = { confirm: true }) => startDiskRestore(operator, { pointId, targetVmExternalId, disks: [{ sourceDeviceKey: d1.deviceKey, action: "add", ...disk }], reason: "should not run", ...extra });
    const sourceDisks = (await vmNow(source.externalId))!.disks;
    // Outside the VM Encryption Policy node, for an encrypted disk.
    const onPlain = { encrypted: true, ...placement(inv, source, false), storagePolicyExternalId: placement(inv, source, true).storagePolicyExternalId };
    const e1 = await expectAppError(start(source.externalId, onPlain), "CONFLICT");
    expect(e1.message).toMatch(/not compatible/);
    expect((await checkDiskRestore(operator, { pointId, targetVmExternalId: source.externalId, disks: [{ sourceDeviceKey: d1.deviceKey, action: "add", ...onPlain }] })).problems[0]).toMatchObject({ field: "disks.0" });
    await expectAppError(start("vm-does-not-exist", { encrypted: false, ...placement(inv, source, false) }), "NOT_FOUND");
    await expectAppError(start(source.externalId, { encrypted: false, ...placement(inv, source, false) }, {}), "INVALID_INPUT");
    await expectAppError(startDiskRestore(viewer, { pointId, targetVmExternalId: source.externalId, disks: [{ sourceDeviceKey: d1.deviceKey, action: "add", encrypted: false, ...placement(inv, source, false) }], confirm: true, reason: "just looking" }), "FORBIDDEN");
    await expectAppError(checkDiskRestore(viewer, { pointId, targetVmExternalId: source.externalId, disks: [{ sourceDeviceKey: d1.deviceKey, action: "add", encrypted: false, ...placement(inv, source, false) }] }), "FORBIDDEN");
    const otherTenant = inv.vms.find((v) => v.siteExternalId === source.siteExternalId && v.tenantExternalId !== source.tenantExternalId);
    if (otherTenant) expect((await expectAppError(start(otherTenant.externalId, { encrypted: false, ...placement(inv, otherTenant, false) }), "CONFLICT")).message).toMatch(/same tenant/);
    expect((await vmNow(source.externalId))!.disks).toEqual(sourceDisks);
    expect(await db.jobSession.count({ where: { kind: "restore" } })).toBe(sessions);
    // An encrypted disk for an unencrypted VM of the same tenant.
    const plainVm = inv.vms.find((v) => v.siteExternalId === source.siteExternalId && v.tenantExternalId === source.tenantExternalId && !v.encrypted);
    if (!plainVm) return ctx.skip();
    const before = plainVm.disks;
    const e2 = await expectAppError(start(plainVm.externalId, { encrypted: true, ...placement(inv, plainVm, true) }), "CONFLICT");
    expect(e2.message).toMatch(/needs an encrypted VM/);
    expect((await vmNow(plainVm.externalId))!.disks).toEqual(before);
    expect(await db.jobSession.count({ where: { kind: "restore" } })).toBe(sessions);
  });
});
