import "server-only";
import { db } from "@/lib/db/client";
import { enqueue } from "@/lib/jobs";
import type { ClaimedJob } from "@/lib/jobs/queue";
import { sessionPayload } from "@/lib/jobs/kinds";
import { SessionEventWriter } from "@/lib/jobs/session-events";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import { processWorkerId } from "@/lib/jobs/process-id";
import { resolveSelection, type SelectedVm } from "@/lib/services/backup/job-context";
import { parseSelection } from "@/lib/services/backup/job-dto";
import { protectionPlanFor } from "@/lib/services/backup/job-keys";
import { activeRecoveryKeysets } from "@/lib/services/recovery/runner-keysets";
import { finishBackupSession } from "./finish-backup-session";
import os from "node:os";
import { KeyRing } from "@/lib/engine";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";
import { reportCatalogue } from "@/lib/services/backup/repository-maintenance";

// The first step of a backup job's session (the "backup-session" kind): which VMs the job's
// selection names today, and whether the job's keys open — a KMS that does not answer refuses the
// whole session before anything is read. Then one "backup-vm" job per VM, queued in the same
// transaction that records the session's VMs, so any worker may take any VM (BKP-5, TRN-6).

export async function prepareBackupSession(job: ClaimedJob): Promise<void> {
  const { sessionId } = sessionPayload.parse(job.payload);
  const session = await db.jobSession.findUnique({ where: { id: sessionId }, include: { job: { include: { repository: true } }, _count: { select: { vms: true } } } });
  if (!session || !session.job) return;
  // A retry after the VMs were queued has nothing left to do here; VMs finish the session.
  if (session._count.vms > 0 || (session.state !== "queued" && session.state !== "running")) return;
  const workerId = processWorkerId();
  const claimed = await db.jobSession.updateMany({ where: { id: sessionId, state: { in: ["queued", "running"] } }, data: { state: "running", startedAt: session.startedAt ?? new Date(), workerId, heartbeatAt: new Date() } });
  if (claimed.count !== 1) return;
  const log = new SessionEventWriter(sessionId, workerId);
  const jobRow = session.job;
  log.say(`Job ${jobRow.name} started (${session.trigger === "schedule" ? "scheduled" : "run now"}).`);

  const fail = async (error: string, vms: SelectedVm[] = []) => {
    await db.sessionVm.createMany({ data: vms.map((vm, i) => ({ sessionId, position: i, vmExternalId: vm.externalId, name: vm.name, state: "skipped", progress: JSON.stringify({ ...emptyVmProgress(vm), status: "skipped" }) })) });
    await log.flush();
    await finishBackupSession(sessionId, { forceFailed: error });
  };

  if (session.stopRequested) return fail("stopped before it started");
  const { vms } = await resolveSelection(parseSelection(jobRow.selection));
  if (vms.length === 0) return fail("the job's selection holds no VM today; edit the job's VMs");
  log.say(`${vms.length} VM(s) to back up to repository ${jobRow.repository.name}: ${vms.map((v) => v.name).join(", ")}.`);

  // Keys, before anything is read. A password job waiting for approval has no key yet.
  if (jobRow.pendingApprovalId && jobRow.encryptionMode !== "kms" && !jobRow.passwordKeyHeader) {
    return fail(`the job's encryption waits for a Security Officer's approval (request ${jobRow.pendingApprovalId}); nothing was read`, vms);
  }
  let protection: Awaited<ReturnType<typeof protectionPlanFor>> | undefined;
  try {
    protection = await protectionPlanFor(jobRow);
    if (protection.plan.kms) {
      const v = await protection.plan.kms.wrapper.latestVersion(protection.plan.kms.kmsKeyId);
      log.say(`Backup encryption: KMS key ${v.kmsKeyId} version ${v.keyVersion} of ${v.kmsId} (the newest version is used, so a key the KMS administrator rotated is picked up at once).`);
    } else if (jobRow.encryptionMode === "off") {
      log.say("Backup encryption is OFF: points are sealed under a key only this console holds, and data read from encrypted VMs is stored without a key of your own.", "warning");
    } else {
      log.say(`Backup encryption: password (user key ${protection.plan.password!.key.idHex}).`);
    }
    const keysets = await activeRecoveryKeysets();
    if (keysets.length) log.say(`Recovery keyset(s) ${keysets.map((k) => k.id).join(", ")} also wrap the new points' keys, so a lost password or KMS key can be recovered by a Security Officer.`);
    else log.say(`No recovery keyset: a lost ${jobRow.encryptionMode === "kms" ? "KMS key" : "password"} would mean lost backups. A Security Officer can generate one under Recovery keysets.`, "warning");
    // The catalogue set straight against the folder before anything is written: points whose
    // file is gone, a folder put back from a copy, point files without a row (adopted).
    let repository;
    try {
      repository = await openCataloguedRepository(jobRow.repository, `strongroom/${os.hostname()}/${process.pid}/session-${sessionId}`);
    } catch (e) {
      return await fail(e instanceof Error ? e.message : String(e), vms);
    }
    await reportCatalogue(jobRow.repository, repository, KeyRing.fromPlan(protection.plan), sessionId, log);
  } catch (e) {
    return fail(
      `the job did not start: ${jobRow.encryptionMode === "kms" ? "the KMS holding the job's key cannot be reached" : "the job's key cannot be opened"} (${e instanceof Error ? e.message : String(e)}). No VM was read and earlier restore points are untouched; fix the key provider and run the job again`,
      vms,
    );
  } finally {
    await protection?.close().catch(() => undefined);
  }

  await log.flush();
  await db.$transaction(async (tx) => {
    await tx.sessionVm.createMany({ data: vms.map((vm, i) => ({ sessionId, position: i, vmExternalId: vm.externalId, name: vm.name, progress: JSON.stringify(emptyVmProgress(vm)) })) });
    for (const vm of vms) await enqueue(tx, { kind: "backup-vm", payload: { sessionId, vmExternalId: vm.externalId }, singletonKey: `backup-vm:${sessionId}:${vm.externalId}`, retryLimit: 3 });
  });
}

export function emptyVmProgress(vm: { externalId: string; id: string; name: string; encrypted: boolean; disks: Array<{ deviceKey: number; label: string; encrypted: boolean }> }): VmRunProgress {
  return {
    vmExternalId: vm.externalId,
    vmId: vm.id,
    name: vm.name,
    encrypted: vm.encrypted,
    status: "pending",
    incremental: null,
    pointId: null,
    keyIds: [],
    error: null,
    warnings: [],
    startedAt: null,
    endedAt: null,
    disks: vm.disks.map((d) => ({ deviceKey: d.deviceKey, label: d.label, encrypted: d.encrypted, bytesToRead: 0, bytesRead: 0, bytesTransferred: 0, rate: 0, done: false, proxy: null, mode: null, reason: null })),
  };
}
