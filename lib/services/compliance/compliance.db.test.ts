// The compliance analyzer (SEC-5) on the database: for each check a failing state made through the
// services (or, where no service exists, straight in the database), then its fix, and the check
// turning to pass. Other test files share this database, so checks that look at many objects are
// judged on the loaded data narrowed to this file's objects; global ones (four-eyes, keysets) are
// set and restored here. Runs are stored with their results, audited, and returned as a trend.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { generateRecoveryKeyset } from "@/lib/engine";
import { approveWithPassword } from "@/lib/testing/approve";
import { makeActor, TEST_PASSWORD, uniqueEmail } from "@/lib/testing/factories";
import { readFourEyes, writeFourEyes, type FourEyes } from "../approvals/four-eyes-state";
import { createBackupRepository } from "../backup/create-repository";
import { createBackupJob, updateBackupJob } from "../backup/save-backup-job";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { keysetRowData } from "../recovery/keyset-store";
import { evaluateCompliance, type ComplianceData } from "@/lib/compliance/compliance-checks";
import { CHECK_IDS, type CheckId } from "@/lib/compliance/compliance-types";
import { getComplianceOverview } from "./get-compliance-overview";
import { loadComplianceData } from "./load-compliance-data";
import { runComplianceChecks, runDailyCompliance } from "./run-compliance";

const PASSWORD = "a compliance test password";
let admin: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;
let repositoryId: string;
let fourEyesBefore: FourEyes;
const retiredHere: string[] = [];
const keysetsMadeHere: string[] = [];

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  viewer = await makeActor("BACKUP_VIEWER");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-compliance-"));
  repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("compliance-repo"), path: path.join(tmp, "repo") })).id;
  fourEyesBefore = await readFourEyes();
  await writeFourEyes(db, { ...fourEyesBefore, enabled: false });
}, 60_000);

afterAll(async () => {
  await writeFourEyes(db, fourEyesBefore);
  if (retiredHere.length) await db.recoveryKeyset.updateMany({ where: { id: { in: retiredHere } }, data: { retiredAt: null } });
  if (keysetsMadeHere.length) await db.recoveryKeyset.updateMany({ where: { id: { in: keysetsMadeHere } }, data: { retiredAt: new Date() } });
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** One check on the console's whole data. */
async function stored(id: CheckId) {
  const run = await runComplianceChecks(admin);
  return run.results.find((r) => r.id === id)!;
}

/** One check on the loaded data narrowed to this file's objects (other files' leftovers would otherwise decide it). */
async function narrowed(id: CheckId, narrow: (d: ComplianceData) => Partial<ComplianceData>) {
  const data = await loadComplianceData();
  return evaluateCompliance({ ...data, ...narrow(data) }).find((r) => r.id === id)!;
}

async function encryptedVm() {
  return db.vm.findFirstOrThrow({ where: { encrypted: true, keyProvider: { kind: "NATIVE" } }, orderBy: { name: "asc" }, select: { id: true, name: true } });
}

const jobInput = (vm: { id: string; name: string }, over: Record<string, unknown> = {}) => ({
  name: uniqueEmail("compliance-job"),
  selection: [{ kind: "vm" as const, id: vm.id, label: vm.name }],
  repositoryId,
  retentionPoints: 3,
  proxyMode: "automatic" as const,
  failoverToNetwork: true,
  encryptionMode: "off" as const,
  schedule: { kind: "manual" as const },
  ...over,
});

describe("backup-encryption and passwords-approved", () => {
  it("a job with encryption off on an encrypted VM fails; with a password it passes; the password passes SEC-3 once a Security Officer approves it", async () => {
    const vm = await encryptedVm();
    const input = jobInput(vm);
    const { id: jobId } = await createBackupJob(admin, input);
    const mine = (d: ComplianceData) => ({ jobs: d.jobs.filter((j) => j.id === jobId) });

    const off = await narrowed("backup-encryption", mine);
    expect(off.status).toBe("fail");
    expect(off.why).toContain(input.name);
    expect(off.why).toContain(vm.name);
    expect(off.fixHref).toBe(`/jobs/${jobId}/edit`);
    // On the whole console too: this job alone makes it fail.
    expect((await stored("backup-encryption")).status).toBe("fail");

    await updateBackupJob(admin, { ...input, jobId, encryptionMode: "password", password: PASSWORD, passwordConfirm: PASSWORD });
    expect((await narrowed("backup-encryption", mine)).status).toBe("pass");

    // SEC-3: set with four-eyes off, the password carries no approval mark.
    const unapproved = await narrowed("passwords-approved", mine);
    expect(unapproved.status).toBe("fail");
    expect(unapproved.why).toContain(input.name);
    expect(unapproved.fixHref).toBe("/approvals");

    // Four-eyes on: a new password becomes a request; approved by a Security Officer, it carries the mark.
    const [so1] = [await makeActor("SECURITY_OFFICER"), await makeActor("SECURITY_OFFICER")];
    await writeFourEyes(db, { enabled: true, expiryHours: 24 });
    const saved = await updateBackupJob(admin, { ...input, jobId, encryptionMode: "password", password: `${PASSWORD} 2`, passwordConfirm: `${PASSWORD} 2` });
    expect(saved.approvalRequestId).toBeDefined();
    const waiting = await narrowed("passwords-approved", mine);
    expect(waiting.status).toBe("fail");
    expect(waiting.why).toContain("waits for a decision");
    expect(waiting.fixHref).toBe("/approvals");
    await approveWithPassword(so1, { requestId: saved.approvalRequestId!, password: TEST_PASSWORD });
    const approved = await narrowed("passwords-approved", mine);
    expect(approved.status, approved.why).toBe("pass");
    await writeFourEyes(db, { enabled: false, expiryHours: 24 });
  });
});

describe("four-eyes", () => {
  it("off fails; on with two active Security Officers passes", async () => {
    await writeFourEyes(db, { enabled: false, expiryHours: 24 });
    const off = await stored("four-eyes");
    expect(off.status).toBe("fail");
    expect(off.why).toContain("Four-eyes approval is off");
    await makeActor("SECURITY_OFFICER");
    await makeActor("SECURITY_OFFICER");
    await writeFourEyes(db, { enabled: true, expiryHours: 24 });
    const on = await stored("four-eyes");
    expect(on.status, on.why).toBe("pass");
    await writeFourEyes(db, { enabled: false, expiryHours: 24 });
  });
});

describe("recovery-keyset", () => {
  it("no active keyset fails; a fresh keyset passes", async () => {
    const active = await db.recoveryKeyset.findMany({ where: { retiredAt: null }, select: { id: true } });
    retiredHere.push(...active.map((k) => k.id));
    await db.recoveryKeyset.updateMany({ where: { id: { in: retiredHere } }, data: { retiredAt: new Date() } });
    const none = await stored("recovery-keyset");
    expect(none.status).toBe("fail");
    expect(none.why).toContain("No active recovery keyset");
    expect(none.fixHref).toBe("/recovery-keysets");

    const keyset = await generateRecoveryKeyset({ modulusLength: 2048 });
    await db.recoveryKeyset.create({ data: keysetRowData(keyset, "generated") });
    keysetsMadeHere.push(keyset.id);
    const fresh = await stored("recovery-keyset");
    expect(fresh.status, fresh.why).toBe("pass");
    expect(fresh.why).toContain(keyset.id.slice(0, 12));
  });
});

describe("kms-health", () => {
  it("a client certificate ending in 10 days fails; renewed, the cluster passes; unreachable fails again", async () => {
    const name = uniqueEmail("compliance-kms");
    const c = await db.kmsCluster.create({
      data: {
        name,
        servers: JSON.stringify([{ host: "127.0.0.1", port: 1 }]),
        caSealed: "v1:",
        clientCertSealed: "v1:",
        clientKeySealed: "v1:",
        clientCertSubject: "CN=compliance",
        clientCertFingerprint: "00",
        clientCertNotAfter: new Date(Date.now() + 10 * 86_400_000),
        status: "reachable",
        statusCheckedAt: new Date(),
        serverCertNotAfter: new Date(Date.now() + 400 * 86_400_000),
      },
    });
    const mine = (d: ComplianceData) => ({ kmsClusters: d.kmsClusters.filter((k) => k.id === c.id) });
    try {
      const soon = await narrowed("kms-health", mine);
      expect(soon.status).toBe("fail");
      expect(soon.why).toContain(`${name}: the client certificate expires on`);
      expect(soon.fixHref).toBe("/key-providers");
      expect((await stored("kms-health")).status).toBe("fail");

      await db.kmsCluster.update({ where: { id: c.id }, data: { clientCertNotAfter: new Date(Date.now() + 365 * 86_400_000) } });
      expect((await narrowed("kms-health", mine)).status).toBe("pass");

      await db.kmsCluster.update({ where: { id: c.id }, data: { status: "unreachable", unreachableSince: new Date(), lastError: "connection refused" } });
      const down = await narrowed("kms-health", mine);
      expect(down.status).toBe("fail");
      expect(down.why).toContain("unreachable since");
      expect(down.why).toContain("connection refused");
    } finally {
      await db.kmsCluster.delete({ where: { id: c.id } });
    }
  });
});

describe("nbdssl-for-encrypted", () => {
  it("a last session that read an encrypted disk over plain NBD fails; the next session over NBDSSL passes", async () => {
    const vm = await encryptedVm();
    const { id: jobId } = await createBackupJob(admin, jobInput(vm, { encryptionMode: "password", password: PASSWORD, passwordConfirm: PASSWORD }));
    const disk = (mode: string) => ({ vms: [{ name: vm.name, disks: [{ deviceKey: 2000, label: "Hard disk 1", encrypted: true, mode, proxy: "prod-proxy-nbd-01" }] }] });
    await db.jobSession.create({ data: { jobId, state: "success", trigger: "manual", queuedAt: new Date(Date.now() - 60_000), endedAt: new Date(), progress: JSON.stringify(disk("Network (NBD)")) } });
    const mine = (d: ComplianceData) => ({ jobs: d.jobs.filter((j) => j.id === jobId) });
    const nbd = await narrowed("nbdssl-for-encrypted", mine);
    expect(nbd.status).toBe("fail");
    expect(nbd.why).toContain(`${vm.name} / Hard disk 1 via prod-proxy-nbd-01`);

    await db.jobSession.create({ data: { jobId, state: "success", trigger: "manual", endedAt: new Date(), progress: JSON.stringify(disk("Network with TLS (NBDSSL)")) } });
    const ssl = await narrowed("nbdssl-for-encrypted", mine);
    expect(ssl.status, ssl.why).toBe("pass");
  });
});

describe("hotadd-kms-match", () => {
  it("catches the lab's deliberate mistake: a Globex proxy encrypted with Acme's key provider", async () => {
    const r = await stored("hotadd-kms-match");
    expect(r.status).toBe("fail");
    expect(r.why).toMatch(/proxy-globex-02 at .* is dedicated to Globex.* but encrypted with Acme/);
    expect(r.fixHref).toBe("/proxies");
  });
});

describe("immutable-copy and metadata-protected", () => {
  it("an immutable repository without points fails, with one point passes; a world-readable .vbm fails, made private passes", async () => {
    const folder = path.join(tmp, "vault");
    fs.mkdirSync(path.join(folder, "chains"), { recursive: true, mode: 0o750 });
    const repo = await db.backupRepository.create({ data: { name: uniqueEmail("vault"), path: folder, engineId: "00", blockSize: 1_048_576, immutabilityDays: 7 } });
    const mine = (d: ComplianceData) => ({ repositories: d.repositories.filter((r) => r.id === repo.id), metadata: d.metadata.filter((m) => m.repositoryId === repo.id) });

    const empty = await narrowed("immutable-copy", mine);
    expect(empty.status).toBe("fail");
    expect(empty.why).toContain(`${repo.name}, 7 days`);
    expect((await narrowed("metadata-protected", mine)).status).toBe("na");

    await db.restorePoint.create({
      data: { id: uniqueEmail("point"), repositoryId: repo.id, chainId: "c1", vmExternalId: "vm-x", vmName: "x", createdAt: new Date(), incremental: false, vmEncrypted: true, keyIds: "[]", diskCount: 1 },
    });
    const held = await narrowed("immutable-copy", mine);
    expect(held.status, held.why).toBe("pass");

    const vbm = path.join(folder, "chains", "0123456789abcdef0123456789abcdef.vbm");
    fs.writeFileSync(vbm, "x");
    fs.chmodSync(vbm, 0o644);
    const open = await narrowed("metadata-protected", mine);
    expect(open.status).toBe("fail");
    expect(open.why).toContain("mode 644");
    expect(open.fixHref).toBe(`/repositories/${repo.id}`);
    fs.chmodSync(vbm, 0o640);
    const closed = await narrowed("metadata-protected", mine);
    expect(closed.status, closed.why).toBe("pass");

    // A folder that holds points but is gone cannot be vouched for.
    fs.rmSync(folder, { recursive: true, force: true });
    const gone = await narrowed("metadata-protected", mine);
    expect(gone.status).toBe("fail");
    expect(gone.why).toContain("the folder is missing");
  });
});

describe("runs, trend and the daily run", () => {
  it("every run is stored with its results and counts, audited, and returned newest last in the trend", async () => {
    const a = await runComplianceChecks(admin);
    const b = await runComplianceChecks(admin);
    expect(b.results).toHaveLength(CHECK_IDS.length);
    expect(b.passCount + b.failCount + b.naCount).toBe(CHECK_IDS.length);
    const row = await db.complianceRun.findUniqueOrThrow({ where: { id: b.id } });
    expect(row.trigger).toBe("manual");
    expect(JSON.parse(row.results)).toEqual(b.results);
    const event = await db.auditEvent.findFirstOrThrow({ where: { action: "compliance.run", objectId: b.id } });
    expect(event.actorId).toBe(admin.id);
    expect(JSON.parse(event.details)).toMatchObject({ trigger: "manual", ok: b.passCount, failing: b.failCount, failingChecks: b.results.filter((r) => r.status === "fail").map((r) => r.id) });

    // Every role reads the overview.
    const overview = await getComplianceOverview(viewer);
    expect(overview.latest?.id).toBe(b.id);
    expect(overview.latest?.results.map((r) => r.id)).toEqual(b.results.map((r) => r.id));
    expect(overview.trend.length).toBeLessThanOrEqual(30);
    expect(overview.trend.slice(-2).map((t) => t.id)).toEqual([a.id, b.id]);
    expect(overview.trend.at(-1)).toMatchObject({ passCount: b.passCount, failCount: b.failCount, trigger: "manual" });
  });

  it("the trend keeps the last 30 runs", async () => {
    for (let i = 0; i < 31; i++) await runComplianceChecks(admin);
    const { trend } = await getComplianceOverview(viewer);
    const newest = await db.complianceRun.findMany({ orderBy: [{ at: "desc" }, { id: "desc" }], take: 30, select: { id: true } });
    expect(trend.map((t) => t.id)).toEqual(newest.map((r) => r.id).reverse());
    expect(trend).toHaveLength(30);
    for (let i = 1; i < trend.length; i++) expect(Date.parse(trend[i].at)).toBeGreaterThanOrEqual(Date.parse(trend[i - 1].at));
  });

  it("the daily run runs when the last daily run is 24 h old or more, once, audited without an actor", async () => {
    await db.complianceRun.updateMany({ where: { trigger: "daily" }, data: { at: new Date(Date.now() - 25 * 3_600_000) } });
    const [first, same] = await Promise.all([runDailyCompliance(), runDailyCompliance()]);
    expect(first).not.toBeNull();
    expect(same?.id).toBe(first!.id);
    expect(first!.trigger).toBe("daily");
    expect(await runDailyCompliance(new Date(Date.now() + 3_600_000))).toBeNull();
    const event = await db.auditEvent.findFirstOrThrow({ where: { action: "compliance.run", objectId: first!.id } });
    expect(event.actorId).toBeNull();
    const { nextDailyAt } = await getComplianceOverview(viewer);
    expect(Date.parse(nextDailyAt!)).toBe(Date.parse(first!.at) + 86_400_000);

    await db.complianceRun.update({ where: { id: first!.id }, data: { at: new Date(Date.now() - 24 * 3_600_000 - 1000) } });
    const next = await runDailyCompliance();
    expect(next?.id).not.toBe(first!.id);
  });
});
