// Recovery keysets (KEY-6, SEC-6) below the browser: the Security Officer's services, the policy
// the runner applies, and a real backup session whose restore point opens with a keyset alone.
import { createPublicKey } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { exportKeyset, FilesystemStore, generateRecoveryKeyset, importKeyset, KeyRing, openRepository, WrongKeyError } from "@/lib/engine";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { dbState, expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { createBackupRepository } from "../backup/create-repository";
import { getJobSession } from "../backup/get-job-session";
import { listRestorePoints } from "../backup/list-restore-points";
import { runBackupJobNow } from "../backup/run-backup-job";
import { createBackupJob } from "../backup/save-backup-job";
import { runGuestWrites } from "../vms/run-guest-writes";
import { keysetFromRow } from "./keyset-store";
import { listRecoveryKeysets } from "./list-recovery-keysets";
import { exportRecoveryKeyset, generateRecoveryKeysetNow, importRecoveryKeyset, retireRecoveryKeyset, setRecoveryKeysetPolicy } from "./manage-recovery-keysets";
import { activeRecoveryKeysets, maintainRecoveryKeysets } from "./runner-keysets";

const PASSPHRASE = "a long keyset passphrase 7";
const DAY_MS = 86_400_000;
let so: Awaited<ReturnType<typeof makeActor>>;
let admin: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  so = await makeActor("SECURITY_OFFICER");
  admin = await makeActor("BACKUP_ADMIN");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-keysets-"));
}, 60_000);
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  // The maintenance tests make keysets dated in the future; keep them from wrapping other files' backups.
  await db.recoveryKeyset.updateMany({ where: { retiredAt: null, createdAt: { gt: new Date() } }, data: { retiredAt: new Date() } });
});

/** Every active keyset retired, straight in the database: a known starting point. */
async function retireAll() {
  await db.recoveryKeyset.updateMany({ where: { retiredAt: null }, data: { retiredAt: new Date() } });
}

async function listed(id: string) {
  const { keysets } = await listRecoveryKeysets(admin);
  const k = keysets.find((x) => x.id === id);
  expect(k, `keyset ${id} is listed`).toBeDefined();
  return k!;
}

/** A keyset file made outside this console (2048-bit: quick). */
async function foreignKeyset(options: { passphrase?: string; publicOnly?: boolean } = {}) {
  const keyset = await generateRecoveryKeyset({ modulusLength: 2048 });
  return { keyset, json: exportKeyset(keyset, options.publicOnly ? {} : { includePrivateKey: true, passphrase: options.passphrase }) };
}

describe("generate and export", () => {
  let id: string;

  it("generates an RSA-4096 keyset whose private key is never in the database in clear", async () => {
    ({ id } = await generateRecoveryKeysetNow(so));
    const row = await db.recoveryKeyset.findUniqueOrThrow({ where: { id } });
    expect(row.modulusBits).toBe(4096);
    expect(row.source).toBe("generated");
    expect(row.privateKeySealed).toMatch(/^v1:/);
    for (const [column, value] of Object.entries(row)) expect(String(value), column).not.toMatch(/PRIVATE KEY/);
    const audits = await db.auditEvent.findMany({ where: { objectId: id } });
    expect(audits.map((a) => [a.action, a.actorId])).toEqual([["keyset.generate", so.id]]);
    expect(JSON.stringify(audits)).not.toMatch(/PRIVATE KEY|BEGIN/);

    const k = await listed(id);
    expect(k).toMatchObject({ active: true, privateKeyHeld: true, source: "generated", modulusBits: 4096, retiredAt: null, lastExportedAt: null, pointCount: 0 });
    expect(JSON.stringify(await listRecoveryKeysets(admin))).not.toMatch(/PRIVATE KEY|publicKey|Sealed/);
    expect((await activeRecoveryKeysets()).map((x) => x.id)).toContain(id);
    expect((await activeRecoveryKeysets()).every((x) => !x.hasPrivateKey)).toBe(true);
  }, 60_000);

  it("exports the keyset under the passphrase: the engine opens the file with it, and the private key is the console's", async () => {
    const { json, fileName } = await exportRecoveryKeyset(so, { keysetId: id, passphrase: PASSPHRASE, passphraseConfirm: PASSPHRASE });
    expect(fileName).toBe(`strongroom-recovery-keyset-${id}.json`);
    expect(json).toContain("BEGIN ENCRYPTED PRIVATE KEY");
    expect(json).not.toContain("BEGIN PRIVATE KEY");

    const opened = importKeyset(json, PASSPHRASE);
    expect(opened.id).toBe(id);
    expect(opened.hasPrivateKey).toBe(true);
    const held = keysetFromRow(await db.recoveryKeyset.findUniqueOrThrow({ where: { id } }), { withPrivateKey: true });
    expect(opened.privateKey()!.export({ type: "pkcs8", format: "der" }).equals(held.privateKey()!.export({ type: "pkcs8", format: "der" }))).toBe(true);
    expect(createPublicKey(opened.privateKey()!).equals(held.publicKey)).toBe(true);
    expect(() => importKeyset(json, "not the passphrase at all")).toThrow(WrongKeyError);
    expect(() => importKeyset(json)).toThrow(WrongKeyError);

    const k = await listed(id);
    expect(k.lastExportedAt).not.toBeNull();
    expect(k.lastExportedBy).toEqual({ name: so.name, email: so.email });
    const audit = await db.auditEvent.findFirstOrThrow({ where: { objectId: id, action: "keyset.export" } });
    expect(audit.actorId).toBe(so.id);
    expect(JSON.stringify(audit)).not.toContain(PASSPHRASE);
    expect(JSON.stringify(await db.recoveryKeyset.findUniqueOrThrow({ where: { id } }))).not.toContain(PASSPHRASE);
  });

  it("refuses a passphrase confirmation that differs, or a short passphrase, changing nothing", async () => {
    const row = await db.recoveryKeyset.findUniqueOrThrow({ where: { id } });
    const before = await dbState();
    const differ = await expectAppError(exportRecoveryKeyset(so, { keysetId: id, passphrase: PASSPHRASE, passphraseConfirm: `${PASSPHRASE}x` }), "INVALID_INPUT");
    expect(differ.fieldErrors?.passphraseConfirm?.[0]).toMatch(/differ/);
    expect(differ.message).not.toContain(PASSPHRASE);
    const short = await expectAppError(exportRecoveryKeyset(so, { keysetId: id, passphrase: "short", passphraseConfirm: "short" }), "INVALID_INPUT");
    expect(short.fieldErrors?.passphrase?.[0]).toMatch(/at least 12/);
    await expectAppError(exportRecoveryKeyset(so, { keysetId: "0".repeat(32), passphrase: PASSPHRASE, passphraseConfirm: PASSPHRASE }), "NOT_FOUND");
    await expectAppError(exportRecoveryKeyset(so, { keysetId: "../../etc", passphrase: PASSPHRASE, passphraseConfirm: PASSPHRASE }), "INVALID_INPUT");
    expect(await dbState()).toEqual(before);
    expect(await db.recoveryKeyset.findUniqueOrThrow({ where: { id } })).toEqual(row);
  });

  it("retires a keyset once: it no longer wraps new points but stays listed and exportable", async () => {
    const { id: other } = await generateRecoveryKeysetNow(so);
    const r = await retireRecoveryKeyset(so, { keysetId: other });
    expect(r.activeLeft).toBeGreaterThanOrEqual(1);
    expect(await listed(other)).toMatchObject({ active: false, privateKeyHeld: true });
    expect((await activeRecoveryKeysets()).map((x) => x.id)).not.toContain(other);
    const before = await dbState();
    await expectAppError(retireRecoveryKeyset(so, { keysetId: other }), "CONFLICT");
    expect(await dbState()).toEqual(before);
    const { json } = await exportRecoveryKeyset(so, { keysetId: other, passphrase: PASSPHRASE, passphraseConfirm: PASSPHRASE });
    expect(importKeyset(json, PASSPHRASE).id).toBe(other);
  }, 60_000);
});

describe("import", () => {
  it("imports a keyset with its private key (sealed) and refuses it a second time, changing nothing", async () => {
    const { keyset, json } = await foreignKeyset({ passphrase: PASSPHRASE });
    const r = await importRecoveryKeyset(so, { json, passphrase: PASSPHRASE });
    expect(r).toMatchObject({ id: keyset.id, privateKeyHeld: true });
    const row = await db.recoveryKeyset.findUniqueOrThrow({ where: { id: keyset.id } });
    expect(row.source).toBe("imported");
    expect(row.privateKeySealed).toMatch(/^v1:/);
    for (const [column, value] of Object.entries(row)) expect(String(value), column).not.toMatch(/PRIVATE KEY/);
    expect(JSON.stringify(await db.auditEvent.findMany({ where: { objectId: keyset.id } }))).not.toContain(PASSPHRASE);
    expect(await listed(keyset.id)).toMatchObject({ active: true, privateKeyHeld: true, source: "imported", modulusBits: 2048 });

    const before = await dbState();
    const rowBefore = await db.recoveryKeyset.findMany({ orderBy: { id: "asc" } });
    const dup = await expectAppError(importRecoveryKeyset(so, { json, passphrase: PASSPHRASE }), "CONFLICT");
    expect(dup.message).toMatch(/already/);
    expect(dup.fieldErrors?.json?.[0]).toMatch(/already listed/);
    // The same keyset as a public-only file is the same keyset.
    await expectAppError(importRecoveryKeyset(so, { json: exportKeyset(keyset.publicOnly()) }), "CONFLICT");
    expect(await dbState()).toEqual(before);
    expect(await db.recoveryKeyset.findMany({ orderBy: { id: "asc" } })).toEqual(rowBefore);
  });

  it("refuses garbage, a wrong or missing passphrase and a tampered file with field errors, changing nothing", async () => {
    const { keyset, json } = await foreignKeyset({ passphrase: PASSPHRASE });
    const doc = JSON.parse(json) as Record<string, unknown>;
    const other = await foreignKeyset({ publicOnly: true });
    const before = await dbState();
    const rowsBefore = await db.recoveryKeyset.count();
    const garbage = [
      "",
      "not json at all",
      "null",
      "[1,2,3]",
      JSON.stringify({ format: "something-else", version: 1, publicKeyPem: "x" }),
      JSON.stringify({ ...doc, version: 2 }),
      JSON.stringify({ ...doc, publicKeyPem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" }),
      JSON.stringify({ ...doc, keysetId: other.keyset.id }), // id of another key
      JSON.stringify({ ...doc, publicKeyPem: JSON.parse(other.json).publicKeyPem }), // private key of another keyset
      "x".repeat(40_000),
    ];
    for (const g of garbage) {
      const e = await expectAppError(importRecoveryKeyset(so, { json: g, passphrase: PASSPHRASE }), "INVALID_INPUT");
      expect(e.fieldErrors?.json?.length ?? e.fieldErrors?.passphrase?.length, `field error for ${g.slice(0, 60)}`).toBeTruthy();
      expect(e.message).not.toContain(PASSPHRASE);
    }
    const wrong = await expectAppError(importRecoveryKeyset(so, { json, passphrase: "definitely the wrong one" }), "INVALID_INPUT");
    expect(wrong.fieldErrors?.passphrase?.[0]).toMatch(/Wrong passphrase/);
    const missing = await expectAppError(importRecoveryKeyset(so, { json }), "INVALID_INPUT");
    expect(missing.fieldErrors?.passphrase?.[0]).toMatch(/enter the passphrase/);
    expect(await dbState()).toEqual(before);
    expect(await db.recoveryKeyset.count()).toBe(rowsBefore);
    expect(await db.recoveryKeyset.findUnique({ where: { id: keyset.id } })).toBeNull();
  });

  it("imports a public-only keyset: it wraps new points, the console holds no private key and cannot export it", async () => {
    const { keyset, json } = await foreignKeyset({ publicOnly: true });
    const r = await importRecoveryKeyset(so, { json });
    expect(r.privateKeyHeld).toBe(false);
    expect(await db.recoveryKeyset.findUniqueOrThrow({ where: { id: keyset.id } })).toMatchObject({ privateKeySealed: null, source: "imported" });
    expect(await listed(keyset.id)).toMatchObject({ active: true, privateKeyHeld: false });
    expect((await activeRecoveryKeysets()).map((x) => x.id)).toContain(keyset.id);
    const before = await dbState();
    const e = await expectAppError(exportRecoveryKeyset(so, { keysetId: keyset.id, passphrase: PASSPHRASE, passphraseConfirm: PASSPHRASE }), "CONFLICT");
    expect(e.message).toMatch(/public key/);
    expect(await dbState()).toEqual(before);
    await retireRecoveryKeyset(so, { keysetId: keyset.id });
  });
});

describe("a backup session", () => {
  it("wraps the new point's keys for every active keyset: the point opens with the exported keyset alone, without the password", async () => {
    await retireAll();
    const { id } = await generateRecoveryKeysetNow(so);
    const { json } = await exportRecoveryKeyset(so, { keysetId: id, passphrase: PASSPHRASE, passphraseConfirm: PASSPHRASE });

    const repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("repo"), path: path.join(tmp, "repo") })).id;
    const vm = await db.vm.findFirstOrThrow({ where: { encrypted: true, powerState: "poweredOn", keyProvider: { kind: "NATIVE" } }, orderBy: { name: "asc" } });
    await runGuestWrites(admin, { vmId: vm.id, percent: 5 });
    const password = "the password that will be lost 42";
    const job = await createBackupJob(admin, {
      name: uniqueEmail("job"),
      selection: [{ kind: "vm", id: vm.id, label: vm.name }],
      repositoryId,
      retentionPoints: 3,
      proxyMode: "automatic",
      failoverToNetwork: true,
      encryptionMode: "password",
      password,
      passwordConfirm: password,
      schedule: { kind: "manual" },
    });
    const { sessionId } = await runBackupJobNow(admin, { jobId: job.id });
    await db.jobSession.update({ where: { id: sessionId }, data: { state: "running", startedAt: new Date() } });
    await runBackupSession(sessionId);
    const s = await getJobSession(admin, { sessionId });
    expect(s.state, [s.error, ...s.progress.vms.map((v) => v.error)].join(" | ")).toBe("success");
    expect(s.log.some((l) => l.level === "info" && l.text.includes(`Recovery keyset(s) ${id}`))).toBe(true);
    expect(s.log.some((l) => /No recovery keyset/.test(l.text))).toBe(false);

    const [point] = await listRestorePoints(admin, { jobId: job.id });
    expect(point.keyIds).toContain(`keyset:${id}`);
    expect(point.keyIds.some((k) => k.startsWith("password:"))).toBe(true);
    expect((await listed(id)).pointCount).toBe(1);

    // The Security Officer's file, opened with the passphrase, opens the point: no password, no console.
    const keyset = importKeyset(json, PASSPHRASE);
    const repoRow = await db.backupRepository.findUniqueOrThrow({ where: { id: repositoryId } });
    const repo = await openRepository(new FilesystemStore(repoRow.path));
    const byKeyset = await repo.readPoint(point.id, new KeyRing().addRecoveryKeyset(keyset));
    const byPassword = await repo.readPoint(point.id, new KeyRing().addPassword(password));
    const disk = byKeyset.disks.find((d) => d.dataBlocks > 0)!;
    const index = [...byKeyset.blockMap(disk.diskId).keys()][0];
    expect((await byKeyset.readBlock(disk.diskId, index)).equals(await byPassword.readBlock(disk.diskId, index))).toBe(true);
    // Its public half alone (what the backup side keeps) opens nothing.
    await expect(repo.readPoint(point.id, new KeyRing().addRecoveryKeyset(keyset.publicOnly()))).rejects.toThrow();

    // Without any active keyset the session says what that means.
    await retireAll();
    const { sessionId: second } = await runBackupJobNow(admin, { jobId: job.id });
    await db.jobSession.update({ where: { id: second }, data: { state: "running", startedAt: new Date() } });
    await runBackupSession(second);
    const s2 = await getJobSession(admin, { sessionId: second });
    expect(s2.state).toBe("success");
    expect(s2.log.some((l) => l.level === "warning" && l.text.startsWith("No recovery keyset: a lost password would mean lost backups."))).toBe(true);
    const newest = (await listRestorePoints(admin, { jobId: job.id }))[0];
    expect(newest.keyIds.some((k) => k.startsWith("keyset:"))).toBe(false);
  }, 120_000);
});

describe("the policy and its maintenance", () => {
  it("stores the policy (default enabled, 30 / 365 days) and refuses retention shorter than rotation", async () => {
    await db.consoleSetting.deleteMany({ where: { key: "recovery-keysets" } });
    expect((await listRecoveryKeysets(admin)).policy).toEqual({ enabled: true, rotateDays: 30, retentionDays: 365 });
    expect(await setRecoveryKeysetPolicy(so, { enabled: "true", rotateDays: "7", retentionDays: "90" })).toEqual({ enabled: true, rotateDays: 7, retentionDays: 90 });
    expect((await listRecoveryKeysets(admin)).policy).toEqual({ enabled: true, rotateDays: 7, retentionDays: 90 });
    const before = await dbState();
    const bad = await expectAppError(setRecoveryKeysetPolicy(so, { enabled: true, rotateDays: 30, retentionDays: 10 }), "INVALID_INPUT");
    expect(bad.fieldErrors?.retentionDays?.[0]).toMatch(/retention/);
    await expectAppError(setRecoveryKeysetPolicy(so, { enabled: true, rotateDays: 0, retentionDays: 10 }), "INVALID_INPUT");
    await expectAppError(setRecoveryKeysetPolicy(so, { enabled: true, rotateDays: 30, retentionDays: 3651 }), "INVALID_INPUT");
    expect(await dbState()).toEqual(before);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "keyset.policy" }, orderBy: { seq: "desc" } });
    expect(JSON.parse(audit.details)).toMatchObject({ after: { rotateDays: 7, retentionDays: 90 } });
  });

  it("does nothing while the policy is off, even without any keyset", async () => {
    await retireAll();
    await setRecoveryKeysetPolicy(so, { enabled: false, rotateDays: 30, retentionDays: 365 });
    const count = await db.recoveryKeyset.count();
    expect(await maintainRecoveryKeysets(new Date())).toEqual({ generated: null, retired: [] });
    expect(await db.recoveryKeyset.count()).toBe(count);
  });

  it("generates when none is active, not again while fresh, then a new one after rotateDays and retires those past retentionDays (never the newest)", async () => {
    await retireAll();
    await setRecoveryKeysetPolicy(so, { enabled: true, rotateDays: 30, retentionDays: 365 });
    const t0 = new Date();

    const first = await maintainRecoveryKeysets(t0);
    expect(first.generated).toMatch(/^[0-9a-f]{32}$/);
    expect(first.retired).toEqual([]);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { objectId: first.generated!, action: "keyset.generate" } });
    expect(audit.actorId).toBeNull();
    expect(JSON.parse(audit.details)).toMatchObject({ scheduled: true });
    expect(await listed(first.generated!)).toMatchObject({ active: true, privateKeyHeld: true, source: "generated" });

    const count = await db.recoveryKeyset.count();
    const before = await dbState();
    expect(await maintainRecoveryKeysets(t0)).toEqual({ generated: null, retired: [] });
    expect(await maintainRecoveryKeysets(new Date(t0.getTime() + 29 * DAY_MS))).toEqual({ generated: null, retired: [] });
    expect(await db.recoveryKeyset.count()).toBe(count);
    expect(await dbState()).toEqual(before);

    // 31 days on: a new keyset; the first is not past retention, so both stay active.
    const t31 = new Date(t0.getTime() + 31 * DAY_MS);
    const second = await maintainRecoveryKeysets(t31);
    expect(second.generated).toBeTruthy();
    expect(second.retired).toEqual([]);
    expect((await activeRecoveryKeysets()).map((k) => k.id)).toEqual([second.generated, first.generated]);

    // 400 days on: a new one, and both older ones (400 and 369 days old) retired.
    const t400 = new Date(t0.getTime() + 400 * DAY_MS);
    const third = await maintainRecoveryKeysets(t400);
    expect(third.generated).toBeTruthy();
    expect(third.retired.sort()).toEqual([first.generated, second.generated].sort());
    expect((await activeRecoveryKeysets()).map((k) => k.id)).toEqual([third.generated]);
    const retireAudits = await db.auditEvent.findMany({ where: { action: "keyset.retire", objectId: { in: third.retired } } });
    expect(retireAudits).toHaveLength(2);
    expect(retireAudits.every((a) => a.actorId === null && JSON.parse(a.details).scheduled === true)).toBe(true);
    expect(await maintainRecoveryKeysets(t400)).toEqual({ generated: null, retired: [] });

    // The newest is kept whatever its age when the policy cannot replace it (generation is what retires it).
    await setRecoveryKeysetPolicy(so, { enabled: false, rotateDays: 30, retentionDays: 365 });
    expect(await maintainRecoveryKeysets(new Date(t0.getTime() + 2000 * DAY_MS))).toEqual({ generated: null, retired: [] });
    expect((await activeRecoveryKeysets()).map((k) => k.id)).toEqual([third.generated]);
    await setRecoveryKeysetPolicy(so, { enabled: true, rotateDays: 30, retentionDays: 365 });
  }, 120_000);
});
