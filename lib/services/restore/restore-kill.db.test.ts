// A restore killed -9 mid-way (issue 10, RST-1): a worker process writing a new-location restore of
// an encrypted VM dies with SIGKILL in the middle of a disk. The original VM is untouched (its
// disks hash as before), the session ends reported — taken over by another worker and finished
// bit for bit, or Failed with the reason — never a half-written VM left registered, never Success
// with wrong data, and the VM the dead attempt created is gone.
//
// Writes are slowed with the lab's simulated link speed (STRONGROOM_LAB_WRITE_MIB_PER_SECOND) on
// the victim only, so it is still writing when it is killed. Worker processes need PostgreSQL.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PgBoss } from "pg-boss";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { db } from "@/lib/db/client";
import { jobQueue } from "@/lib/jobs";
import { PROXY_TASK_LEASE_MS } from "@/lib/jobs/proxy-tasks";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import type { PlatformVm } from "@/lib/platform/connector";
import { killChild, startWorker, stopAllChildren, waitFor, type ChildHandle } from "@/lib/testing/child-processes";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { encryptedTwoDiskVm, sessionOf, type UndoVm } from "@/lib/testing/restore-fixtures";
import { ensureJobEngine, runBackupSession } from "@/lib/testing/run-jobs";
import { createBackupRepository } from "../backup/create-repository";
import { getJobSession } from "../backup/get-job-session";
import { listRestorePoints } from "../backup/list-restore-points";
import { runBackupJobNow } from "../backup/run-backup-job";
import { createBackupJob } from "../backup/save-backup-job";
import { backupHost, platform, restoreHost } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { JOB_HANDLERS } from "../job-handlers";
import { runGuestWrites } from "../vms/run-guest-writes";
import { startRestore } from "./start-restore";

const PG = inject("strongroomTestProvider") === "postgresql";
const PASSWORD = "correct-horse-battery-staple-42";

let admin: Awaited<ReturnType<typeof makeActor>>;
let operator: Awaited<ReturnType<typeof makeActor>>;
let tmp: string;
let source: PlatformVm;
let pointId: string;
let undo: UndoVm | undefined;
let restoredVm: string | null = null;

/** This test process runs backups for the fixture but must leave restores to the worker processes. */
const boss = () => (jobQueue() as unknown as { boss: PgBoss }).boss;

beforeAll(async () => {
  if (!PG) return;
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  operator = await makeActor("RESTORE_OPERATOR");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-restore-kill-"));
  const repositoryId = (await createBackupRepository(admin, { name: uniqueEmail("kill-repo"), path: path.join(tmp, "repo") })).id;
  await ensureJobEngine();
  await boss().offWork("restore-vm");
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  const vmRow = await db.vm.findFirstOrThrow({ where: { externalId: source.externalId } });
  await runGuestWrites(admin, { vmId: vmRow.id, percent: 100 });
  const job = await createBackupJob(admin, {
    name: uniqueEmail("kill-job"),
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
  const s = await runBackupSession(sessionId, 180_000);
  expect(s.state, (await getJobSession(admin, { sessionId })).progress.vms.map((v) => v.error).join()).toBe("success");
  pointId = (await listRestorePoints(admin, { vmId: vmRow.id }))[0].id;
  await platform().powerOff(source.externalId);
  source = (await platform().inventory()).vms.find((v) => v.externalId === source.externalId)!;
}, 240_000);

afterEach(async () => stopAllChildren(), 60_000);

afterAll(async () => {
  if (!PG) return;
  await stopAllChildren();
  if (restoredVm) await restoreHost().deleteVm(restoredVm).catch(() => undefined);
  // Give this process its restores back, as the engine registered them (lib/jobs/engine.ts).
  const h = JOB_HANDLERS["restore-vm"]!;
  await jobQueue().work("restore-vm", { concurrency: h.concurrency }, (job) => h.handler(job));
  await undo?.().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

async function diskHashes(vmId: string, areasOf?: Map<number, Array<{ start: number; length: number }>>) {
  const host = backupHost();
  const proxy = { kind: "physical" as const, transportModes: ["nbdssl" as const], keyProviderExternalId: null, privileges: ["Cryptographer.Access" as const], name: "check" };
  const out = new Map<number, { hash: string; areas: Array<{ start: number; length: number }> }>();
  try {
    for (const d of source.disks) {
      const disk = await host.openDiskForBackup({ vmExternalId: vmId, deviceKey: d.deviceKey, mode: "nbdssl", proxy });
      try {
        const all = await host.queryChangedAreas({ vmExternalId: vmId, deviceKey: d.deviceKey, changeId: "*" });
        const h = createHash("sha256");
        for (const a of areasOf?.get(d.deviceKey) ?? all) h.update(await disk.reader.read(a.start, a.length));
        out.set(d.deviceKey, { hash: h.digest("hex"), areas: all });
      } finally {
        await disk.reader.close();
      }
    }
  } finally {
    await host.releaseSnapshot(vmId);
  }
  return out;
}

async function story(sessionId: string, children: ChildHandle[]) {
  const vms = await db.sessionVm.findMany({ where: { sessionId }, select: { state: true, workerId: true, attempt: true, progress: true } });
  const events = await db.sessionEvent.findMany({ where: { sessionId }, orderBy: { id: "asc" }, select: { type: true, workerId: true, text: true } });
  const tails = children.map((c) => `--- ${c.label} (pid ${c.pid}):\n${c.output().slice(-1500)}`).join("\n");
  return `${JSON.stringify({ vms: vms.map((v) => ({ ...v, progress: JSON.parse(v.progress) })), events: events.slice(-30) }, null, 1)}\n${tails}`;
}

describe("a restore whose worker is killed -9 mid-write", () => {
  it.skipIf(!PG)(
    "leaves the original untouched, is taken over (or fails with the reason), and leaves no half-written VM [PostgreSQL only: worker processes]",
    async () => {
      const before = await diskHashes(source.externalId);
      const inv = await platform().inventory();
      const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === source.siteExternalId && p.encryption)!.externalId;
      const encDs = inv.datastores.filter((d) => d.siteExternalId === source.siteExternalId && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0].externalId;
      const name = `kill${Math.random().toString(36).slice(2, 10)}`;
      const choices = {
        pointId,
        siteExternalId: source.siteExternalId,
        hostExternalId: source.hostExternalId,
        name,
        folder: "/Restored",
        home: { datastoreExternalId: encDs, storagePolicyExternalId: encPolicy },
        disks: source.disks.map((d) => ({ deviceKey: d.deviceKey, encrypted: true, datastoreExternalId: encDs, storagePolicyExternalId: encPolicy })),
        keys: { kind: "same-key" as const },
        networks: source.nics.map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: n.networkExternalId as string | null })),
        powerOn: false,
      };
      // 16 MiB of data per disk at 0.5 MiB/s: the victim writes for about a minute.
      const victim = await startWorker("victim", { STRONGROOM_LAB_WRITE_MIB_PER_SECOND: "0.5", STRONGROOM_WORKER_CONCURRENCY: "2" });
      const sessionId = sessionOf(await startRestore(operator, { vms: [choices], reason: "kill -9 drill" }));
      const writing = await waitFor(
        "the victim writing a disk of the restored VM",
        async () => {
          const row = await db.sessionVm.findFirst({ where: { sessionId, state: "running", workerId: victim.workerId } });
          const item = await db.restoreItem.findFirst({ where: { sessionId } });
          if (!row || !item?.targetVmExternalId) return null;
          const p = JSON.parse(row.progress) as VmRunProgress;
          return p.disks.some((d) => d.bytesTransferred > 0) && !p.disks.every((d) => d.done) ? { row, deadVm: item.targetVmExternalId } : null;
        },
        { timeoutMs: 120_000, intervalMs: 250, describe: () => story(sessionId, [victim]) },
      );
      const taker = await startWorker("taker", { STRONGROOM_WORKER_CONCURRENCY: "2" });
      const killedAt = Date.now();
      await killChild(victim);
      // Killed while still writing: its row was left running, attempt 1, not every disk done.
      const left = await db.sessionVm.findUniqueOrThrow({ where: { id: writing.row.id } });
      const leftProgress = JSON.parse(left.progress) as VmRunProgress;
      expect(left, `the victim finished before it was killed (slow its writes down)\n${await story(sessionId, [victim, taker])}`).toMatchObject({ state: "running", workerId: victim.workerId, attempt: 1 });
      expect(leftProgress.disks.every((d) => d.done)).toBe(false);

      const ended = await waitFor(
        `session ${sessionId} to end`,
        async () => {
          const s = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId } });
          return s.state !== "queued" && s.state !== "running" ? s : null;
        },
        { timeoutMs: 300_000, intervalMs: 500, describe: () => story(sessionId, [victim, taker]) },
      );
      const told = await story(sessionId, [victim, taker]);
      const row = await db.sessionVm.findUniqueOrThrow({ where: { id: writing.row.id } });
      const item = await db.restoreItem.findFirstOrThrow({ where: { sessionId } });
      const named = (await platform().inventory()).vms.filter((v) => v.name === name);
      // The dead attempt's VM is gone, whatever the outcome.
      expect((await platform().inventory()).vms.some((v) => v.externalId === writing.deadVm), told).toBe(false);
      expect(["success", "failed"], told).toContain(ended.state);
      if (ended.state === "success") {
        // Taken over: a second attempt on the taker, which deleted the dead attempt's VM first.
        expect(row, told).toMatchObject({ state: "success", attempt: 2, workerId: taker.workerId });
        expect(await db.sessionEvent.count({ where: { sessionId, type: "taken-over" } }), told).toBe(1);
        expect((await db.sessionEvent.findMany({ where: { sessionId } })).some((e) => e.text.includes(`the VM ${writing.deadVm} an earlier attempt created was deleted`)), told).toBe(true);
        expect(named.map((v) => v.externalId), told).toEqual([item.targetVmExternalId]);
        restoredVm = item.targetVmExternalId;
        expect(restoredVm).not.toBe(writing.deadVm);
        // Bit for bit: a success is never wrong data.
        const after = await diskHashes(restoredVm!, new Map([...before].map(([k, v]) => [k, v.areas])));
        for (const d of source.disks) expect(after.get(d.deviceKey)!.hash, `${d.label}\n${told}`).toBe(before.get(d.deviceKey)!.hash);
      } else {
        // Reported with its reason, and nothing left registered under the restore's name.
        expect(ended.error, told).toBeTruthy();
        expect((JSON.parse(row.progress) as VmRunProgress).error, told).toBeTruthy();
        expect(named, told).toEqual([]);
      }
      // The original VM is untouched by a new-location restore.
      const now = await diskHashes(source.externalId);
      for (const d of source.disks) expect(now.get(d.deviceKey)!.hash, d.label).toBe(before.get(d.deviceKey)!.hash);
      // Every proxy slot was given back, but the dead victim's: its lease runs out and the next taker takes it back (TRN-6).
      const slots = await db.proxyTask.findMany({ where: { sessionId } });
      expect(slots.filter((t) => t.workerId !== victim.workerId), told).toEqual([]);
      for (const t of slots) expect(t.leaseUntil.getTime(), told).toBeLessThanOrEqual(killedAt + PROXY_TASK_LEASE_MS + 1_000);
      console.info(`[restore-kill] the session ended ${ended.state}${ended.error ? ` (${ended.error})` : ""}; attempt ${row.attempt} on ${row.workerId === taker.workerId ? "the taker" : row.workerId}`);
    },
    600_000,
  );
});
