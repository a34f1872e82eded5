// Restore end to end below the browser (RST-1…6, SEC-1, SEC-4): a VM backed up by a password job,
// then restored through the job engine by a Restore Operator to a new location, each disk as chosen;
// the pre-restore check's refusals; who may restore.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { encryptedTwoDiskVm, sessionOf, type UndoVm } from "@/lib/testing/restore-fixtures";
import { backupHost, platform, restoreHost } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { runGuestWrites } from "../vms/run-guest-writes";
import { createBackupRepository } from "../backup/create-repository";
import { getJobSession } from "../backup/get-job-session";
import { listRestorePoints } from "../backup/list-restore-points";
import { runBackupJobNow } from "../backup/run-backup-job";
import { createBackupJob } from "../backup/save-backup-job";
import { checkRestore } from "./check-restore";
import { exportRestorePointDisk } from "./export-disk";
import { startRestore } from "./start-restore";
import { startRollback } from "./start-rollback";

const PASSWORD = "correct-horse-battery-staple-42";
let admin: Awaited<ReturnType<typeof makeActor>>;
let operator: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;
let source: PlatformVm;
let pointId: string;

let undo: UndoVm | undefined;
beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  operator = await makeActor("RESTORE_OPERATOR");
  viewer = await makeActor("BACKUP_VIEWER");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-restore-"));
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
  // As the platform reports it now: its files exist, with a real key id.
  source = (await platform().inventory()).vms.find((v) => v.externalId === source.externalId)!;
}, 120_000);
afterAll(async () => {
  await undo?.().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function placement(inv: InventorySnapshot, vm: PlatformVm) {
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === vm.siteExternalId && p.encryption)!.externalId;
  const dss = inv.datastores.filter((d) => d.siteExternalId === vm.siteExternalId).sort((a, b) => b.freeBytes - a.freeBytes);
  const encDs = dss.find((d) => d.compatiblePolicyExternalIds.includes(encPolicy))!;
  const plainDs = dss.find((d) => !d.compatiblePolicyExternalIds.includes(encPolicy))!;
  const plainPolicy = plainDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  return { encPolicy, encDs: encDs.externalId, plainDs: plainDs.externalId, plainPolicy };
}

async function choices(name: string, encrypted: boolean[]) {
  const p = placement(await platform().inventory(), source);
  return {
    pointId,
    siteExternalId: source.siteExternalId,
    hostExternalId: source.hostExternalId,
    name,
    folder: "/Restored",
    home: encrypted.some(Boolean) ? { datastoreExternalId: p.encDs, storagePolicyExternalId: p.encPolicy } : { datastoreExternalId: p.plainDs, storagePolicyExternalId: p.plainPolicy },
    disks: source.disks.map((d, i) => ({ deviceKey: d.deviceKey, encrypted: encrypted[i], datastoreExternalId: encrypted[i] ? p.encDs : p.plainDs, storagePolicyExternalId: encrypted[i] ? p.encPolicy : p.plainPolicy })),
    keys: { kind: "same-key" as const },
    networks: source.nics.map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: n.networkExternalId as string | null })),
    powerOn: true,
  };
}

async function written(vmId: string, deviceKey: number, areas?: Array<{ start: number; length: number }>) {
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

describe("restore to a new location (RST-1…3)", () => {
  it("a Restore Operator restores an encrypted two-disk VM, one disk encrypted and one not; it powers on, bit for bit, audited", async () => {
    const c = await choices(uniqueEmail("rst").replace(/[^A-Za-z0-9]/g, "").slice(0, 30), source.disks.map((_, i) => i === 0));
    const check = await checkRestore(operator, c);
    expect(check.problems).toEqual([]);
    expect(check.notes.join(" ")).toMatch(/Same key/);
    const sessionId = sessionOf(await startRestore(operator, { vms: [c], reason: "ticket 4711: the application team broke the VM" }));
    const s = await runBackupSession(sessionId, 90_000);
    const dto = await getJobSession(admin, { sessionId });
    expect(s.state, dto.progress.vms.map((v) => v.error).join() + dto.log.map((l) => l.text).join("\n")).toBe("success");
    const item = await db.restoreItem.findFirstOrThrow({ where: { sessionId } });
    const restored = (await platform().inventory()).vms.find((v) => v.externalId === item.targetVmExternalId)!;
    expect(restored).toMatchObject({ name: c.name, folder: "/Restored", encrypted: true, keyId: source.keyId, powerState: "poweredOn" });
    expect(restored.disks.map((d) => d.encrypted)).toEqual(source.disks.map((_, i) => i === 0));
    // The console's inventory has it too.
    expect(await db.vm.count({ where: { externalId: restored.externalId } })).toBe(1);
    expect(JSON.parse(item.result!)).toMatchObject({ status: "success", poweredOn: true });
    expect(dto.log.some((l) => /written by/.test(l.text))).toBe(true);
    const audits = await db.auditEvent.findMany({ where: { action: { in: ["restore.start", "restore.vm", "restore.session"] } }, orderBy: { at: "asc" } });
    expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(["restore.start", "restore.vm", "restore.session"]));
    expect(JSON.stringify(audits)).toContain("ticket 4711");
    expect(JSON.stringify(audits)).not.toContain(PASSWORD);
    const session = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId } });
    expect(session).toMatchObject({ kind: "restore", reason: "ticket 4711: the application team broke the VM" });
    // Bit for bit, against the source disks (unchanged since the backup).
    await platform().powerOff(restored.externalId);
    for (const d of source.disks) {
      const before = await written(source.externalId, d.deviceKey);
      const after = await written(restored.externalId, d.deviceKey, before.areas);
      expect(after.hash, d.label).toBe(before.hash);
    }
  });

  it("the pre-restore check refuses invalid placements with the field to fix, and starting such a restore creates nothing", async () => {
    const inv = await platform().inventory();
    const p = placement(inv, source);
    const base = await choices("check-only", source.disks.map(() => true));
    const onPlain = { ...base, disks: base.disks.map((d, i) => (i === 0 ? { ...d, datastoreExternalId: p.plainDs } : d)) };
    const r1 = await checkRestore(operator, onPlain);
    expect(r1.ok).toBe(false);
    expect(r1.problems[0]).toMatchObject({ field: `disks.${source.disks[0].deviceKey}` });
    expect(r1.problems[0].message).toMatch(/not compatible/);
    const homeOnPlain = { ...base, home: { datastoreExternalId: p.plainDs, storagePolicyExternalId: p.encPolicy } };
    const r2 = await checkRestore(operator, homeOnPlain);
    expect(r2.problems.map((x) => x.field)).toContain("home");
    const taken = { ...base, name: source.name, folder: source.folder };
    const r3 = await checkRestore(operator, taken);
    expect(r3.problems.map((x) => x.field)).toContain("name");
    const sessions = await db.jobSession.count({ where: { kind: "restore" } });
    await expectAppError(startRestore(operator, { vms: [onPlain], reason: "should not run" }), "CONFLICT");
    expect(await db.jobSession.count({ where: { kind: "restore" } })).toBe(sessions);
    await expectAppError(startRestore(operator, { vms: [base], reason: "" }), "INVALID_INPUT");
  });

  it("network mapping: a network the target host does not have is refused with the adapter named and nothing is created; the restored VM's adapters are as mapped", async () => {
    const inv = await platform().inventory();
    const siteNets = inv.networks.filter((n) => n.siteExternalId === source.siteExternalId);
    const base = await choices("net-check", source.disks.map(() => false));
    const nic = source.nics[0];
    // A port group some host of the site lacks, asked on such a host.
    const partial = siteNets.find((n) => inv.hosts.some((h) => h.siteExternalId === source.siteExternalId && h.connectionState === "connected" && !n.hostExternalIds.includes(h.externalId)))!;
    const lacking = inv.hosts.find((h) => h.siteExternalId === source.siteExternalId && h.connectionState === "connected" && !partial.hostExternalIds.includes(h.externalId))!;
    const onLacking = { ...base, hostExternalId: lacking.externalId, networks: base.networks.map((m, i) => (i === 0 ? { ...m, networkExternalId: partial.externalId } : { ...m, networkExternalId: null })) };
    const r1 = await checkRestore(operator, onLacking);
    expect(r1.ok).toBe(false);
    expect(r1.problems).toContainEqual({ field: `networks.${nic.deviceKey}`, message: `${nic.label}: the network ${partial.name} is not on host ${lacking.name}. Choose a network of that host, or leave the adapter disconnected.` });
    const unmapped = await checkRestore(operator, { ...base, networks: [] });
    expect(unmapped.problems[0]).toMatchObject({ field: `networks.${nic.deviceKey}`, message: expect.stringMatching(/is not mapped/) });
    const sessions = await db.jobSession.count({ where: { kind: "restore" } });
    const vms = (await platform().inventory()).vms.length;
    await expectAppError(startRestore(operator, { vms: [onLacking], reason: "should not run" }), "CONFLICT");
    expect(await db.jobSession.count({ where: { kind: "restore" } })).toBe(sessions);
    expect((await platform().inventory()).vms.length).toBe(vms);

    // Restored: the first adapter moved to another network of the host, the others disconnected.
    const other = siteNets.find((n) => n.hostExternalIds.includes(source.hostExternalId) && n.externalId !== nic.networkExternalId)!;
    const c = { ...(await choices(uniqueEmail("net").replace(/[^A-Za-z0-9]/g, "").slice(0, 30), source.disks.map(() => true))), powerOn: false };
    c.networks = c.networks.map((m, i) => ({ ...m, networkExternalId: i === 0 ? other.externalId : null }));
    expect((await checkRestore(operator, c)).problems).toEqual([]);
    const sessionId = sessionOf(await startRestore(operator, { vms: [c], reason: "network mapping test" }));
    const s = await runBackupSession(sessionId, 90_000);
    const dto = await getJobSession(admin, { sessionId });
    expect(s.state, dto.log.map((l) => l.text).join("\n")).toBe("success");
    const item = await db.restoreItem.findFirstOrThrow({ where: { sessionId } });
    const restored = (await platform().inventory()).vms.find((v) => v.externalId === item.targetVmExternalId)!;
    expect(restored.nics.map((n) => [n.deviceKey, n.adapterType, n.networkExternalId, n.networkName, n.connected])).toEqual(
      source.nics.map((n, i) => [n.deviceKey, n.adapterType, i === 0 ? other.externalId : null, i === 0 ? other.name : null, i === 0 ? n.connected : false]),
    );
    for (const n of restored.nics) expect(source.nics.map((x) => x.macAddress)).not.toContain(n.macAddress);
    expect(dto.log.some((l) => l.text.includes(`Network adapter 1: on ${other.name}`))).toBe(true);
    await restoreHost().deleteVm(restored.externalId);
  });

  it("a Viewer may not check or start a restore (SEC-1)", async () => {
    const c = await choices("viewer-try", source.disks.map(() => true));
    await expectAppError(checkRestore(viewer, c), "FORBIDDEN");
    await expectAppError(startRestore(viewer, { vms: [c], reason: "just looking" }), "FORBIDDEN");
  });

  it("a Restore Operator exports a disk as a raw image (its first 8 MiB equal the disk's), audited; a Viewer may not", async () => {
    const d = source.disks[0];
    const file = await exportRestorePointDisk(operator, { pointId, deviceKey: d.deviceKey });
    expect(file.size).toBe(d.capacityBytes);
    expect(file.fileName).toMatch(/\.img$/);
    const head: Buffer[] = [];
    let got = 0;
    for await (const chunk of file.chunks) {
      head.push(Buffer.from(chunk));
      got += chunk.length;
      if (got >= 8 * 1024 * 1024) break;
    }
    await file.close();
    const host = backupHost();
    const proxy = { kind: "physical" as const, transportModes: ["nbdssl" as const], keyProviderExternalId: null, privileges: ["Cryptographer.Access" as const], name: "check" };
    const live = await host.openDiskForBackup({ vmExternalId: source.externalId, deviceKey: d.deviceKey, mode: "nbdssl", proxy });
    const expected = await live.reader.read(0, 8 * 1024 * 1024);
    await live.reader.close();
    await host.releaseSnapshot(source.externalId);
    expect(Buffer.concat(head).subarray(0, expected.length).equals(expected)).toBe(true);
    const audit = await db.auditEvent.findFirst({ where: { action: "restore.export" }, orderBy: { at: "desc" } });
    expect(audit?.actorId).toBe(operator.id);
    await expectAppError(exportRestorePointDisk(viewer, { pointId, deviceKey: d.deviceKey }), "FORBIDDEN");
    await expectAppError(exportRestorePointDisk(operator, { pointId, deviceKey: 9999 }), "NOT_FOUND");
  });

  it("a quick rollback brings the VM itself back to the point in place, writing only what changed; it needs the confirmation", async () => {
    const vmRow = await db.vm.findFirstOrThrow({ where: { externalId: source.externalId } });
    const before = new Map<number, Awaited<ReturnType<typeof written>>>();
    for (const d of source.disks) before.set(d.deviceKey, await written(source.externalId, d.deviceKey));
    if ((await platform().vmRuntime(source.externalId)).powerState !== "poweredOn") await platform().powerOn(source.externalId);
    await runGuestWrites(admin, { vmId: vmRow.id, percent: 50 });
    await expectAppError(startRollback(operator, { pointId, mode: "quick-rollback", reason: "undo the bad update" }), "INVALID_INPUT");
    await expectAppError(startRollback(viewer, { pointId, mode: "quick-rollback", confirm: true, reason: "undo the bad update" }), "FORBIDDEN");
    const { sessionId } = await startRollback(operator, { pointId, mode: "quick-rollback", confirm: true, powerOn: true, reason: "undo the bad update" });
    const s = await runBackupSession(sessionId, 90_000);
    const dto = await getJobSession(admin, { sessionId });
    expect(s.state, dto.log.map((l) => l.text).join("\n")).toBe("success");
    expect(dto.log.some((l) => /changed block tracking/.test(l.text))).toBe(true);
    expect((await platform().vmRuntime(source.externalId)).powerState).toBe("poweredOn");
    await platform().powerOff(source.externalId);
    for (const d of source.disks) {
      const want = before.get(d.deviceKey)!;
      expect((await written(source.externalId, d.deviceKey, want.areas)).hash, d.label).toBe(want.hash);
    }
  });
});
