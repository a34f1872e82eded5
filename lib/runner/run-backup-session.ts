import "server-only";
import { db } from "@/lib/db/client";
import { EngineError, KeyRing, type Repository } from "@/lib/engine";
import { backupVm, type VmBackupResult } from "@/lib/engine/pipeline/backup-vm";
import type { CandidateProxy } from "@/lib/engine/pipeline/proxy-selection";
import type { PlatformVm } from "@/lib/platform/connector";
import { nextRunAfter } from "@/lib/backup/schedule";
import { candidateProxies, keyProviderNames, keyProviderReachable, resolveSelection } from "@/lib/services/backup/job-context";
import { parseIds, parseSchedule, parseSelection } from "@/lib/services/backup/job-dto";
import { protectionPlanFor } from "@/lib/services/backup/job-keys";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";
import { describeMaintenance, reportCatalogue } from "@/lib/services/backup/repository-maintenance";
import { activeRecoveryKeysets } from "@/lib/services/recovery/runner-keysets";
import { backupHost, platform } from "@/lib/services/inventory/platform";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { SessionRecorder } from "./session-recorder";
import type { VmRunProgress } from "./session-progress";
import { z } from "zod";

// One backup job session, start to end (BKP-1…6): the runner calls this for a session it has
// claimed (state "running"). VMs run one after the other; a failed VM never fails the others
// (BKP-5). Before any VM is read, the job's keys are checked: a KMS that does not answer refuses
// the whole session with a clear message and nothing is read (KEY-5).

/** Proxy tasks running now in this process (TRN-6 task limits), by proxy external id. */
export const activeProxyTasks = new Map<string, number>();

const changeIdsSchema = z.record(z.string(), z.string());

export async function runBackupSession(sessionId: string): Promise<void> {
  const session = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId }, include: { job: { include: { repository: true } } } });
  const { job } = session;
  const rec = new SessionRecorder(sessionId);
  const started = Date.now();
  rec.say(`Job ${job.name} started (${session.trigger === "schedule" ? "scheduled" : "run now"}).`);

  const finish = async (state: "success" | "warning" | "failed" | "stopped", error: string | null) => {
    rec.say(
      state === "success" ? `Finished: Success in ${seconds(started)}.` : state === "stopped" ? `Stopped by a user after ${seconds(started)}.` : `Finished: ${state === "warning" ? "Warning" : "Failed"} in ${seconds(started)}${error ? ` — ${error}` : ""}.`,
      state === "failed" ? "error" : state === "success" ? "info" : "warning",
    );
    await rec.flush({ state, endedAt: new Date(), error });
    const schedule = parseSchedule(job.schedule);
    await db.backupJob.update({ where: { id: job.id }, data: { nextRunAt: nextRunAfter(schedule, new Date()) } }).catch(() => undefined);
    await recordAuditEvent({ actor: null, action: "job.session", objectType: "backup-job", objectId: job.id, outcome: state === "failed" ? "failure" : "success", details: { session: sessionId, state, error } });
  };

  // 1. Which VMs, as the platform reports them now.
  const { vms: selected } = await resolveSelection(parseSelection(job.selection));
  if (selected.length === 0) return finish("failed", "the job's selection holds no VM today; edit the job's VMs");
  let platformVms: Map<string, PlatformVm>;
  try {
    const inv = await platform().inventory();
    platformVms = new Map(inv.vms.map((v) => [`${v.siteExternalId}/${v.externalId}`, v]));
  } catch (e) {
    return finish("failed", `the platform did not answer (${messageOf(e)}); nothing was read`);
  }
  for (const vm of selected) {
    rec.progress.vms.push(emptyVm(vm.externalId, vm.id, vm.name, vm.encrypted, vm.disks));
  }
  rec.say(`${selected.length} VM(s) to back up to repository ${job.repository.name}: ${selected.map((v) => v.name).join(", ")}.`);

  // 2. Keys, before anything is read (KEY-4/5). A KMS that does not answer refuses the start.
  if (job.pendingApprovalId && job.encryptionMode !== "kms" && !job.passwordKeyHeader) {
    for (const vm of rec.progress.vms) vm.status = "skipped";
    return finish("failed", `the job's encryption waits for a Security Officer's approval (request ${job.pendingApprovalId}); nothing was read`);
  }
  let protection: Awaited<ReturnType<typeof protectionPlanFor>>;
  try {
    protection = await protectionPlanFor(job);
    if (protection.plan.kms) {
      const v = await protection.plan.kms.wrapper.latestVersion(protection.plan.kms.kmsKeyId);
      rec.say(`Backup encryption: KMS key ${v.kmsKeyId} version ${v.keyVersion} of ${v.kmsId} (the newest version is used, KEY-5).`);
    } else {
      rec.say(job.encryptionMode === "off" ? "Backup encryption is OFF: points are sealed under a console key only (TRN-7)." : `Backup encryption: password (user key ${protection.plan.password!.key.idHex}).`, job.encryptionMode === "off" ? "warning" : "info");
    }
    // KEY-6: every active recovery keyset also wraps the new points' keys.
    protection.plan.recoveryKeysets = await activeRecoveryKeysets();
    const keysetIds = protection.plan.recoveryKeysets.map((k) => k.id);
    if (keysetIds.length) rec.say(`Recovery keyset(s) ${keysetIds.join(", ")} also wrap the new points' keys (KEY-6).`);
    else rec.say(`No recovery keyset: a lost ${job.encryptionMode === "kms" ? "KMS key" : "password"} would mean lost backups (KEY-6).`, "warning");
  } catch (e) {
    await protection!?.close().catch(() => undefined);
    for (const vm of rec.progress.vms) vm.status = "skipped";
    return finish("failed", `the job did not start: ${job.encryptionMode === "kms" ? "the KMS holding the job's key cannot be reached" : "the job's key cannot be opened"} (${messageOf(e)}). No VM was read and earlier restore points are untouched; fix the key provider and run the job again`);
  }

  let repository: Repository;
  try {
    repository = await openCataloguedRepository(job.repository, `strongroom/${process.pid}/job-${job.id}`);
  } catch (e) {
    await protection.close().catch(() => undefined);
    for (const vm of rec.progress.vms) vm.status = "skipped";
    return finish("failed", messageOf(e));
  }

  // 3. The VMs, one after the other.
  const keyRing = KeyRing.fromPlan(protection.plan);
  await reportCatalogue(job.repository, repository, keyRing, sessionId, rec);
  let retentionSkipped = false;
  const names = await keyProviderNames();
  let stopped = false;
  try {
    for (let i = 0; i < selected.length; i++) {
      const vm = selected[i];
      const progress = rec.progress.vms[i];
      if ((await db.jobSession.findUnique({ where: { id: sessionId }, select: { stopRequested: true } }))?.stopRequested) {
        stopped = true;
        for (const rest of rec.progress.vms.slice(i)) rest.status = "skipped";
        rec.say(`Stop requested: ${selected.length - i} VM(s) not started.`, "warning");
        break;
      }
      const pvm = platformVms.get(`${vm.site.externalId}/${vm.externalId}`);
      progress.status = "running";
      progress.startedAt = new Date().toISOString();
      rec.touch();
      if (!pvm) {
        endVm(progress, { status: "failed", error: "the VM is no longer in the platform's inventory" });
        rec.say(`${vm.name}: no longer in the inventory; skipped.`, "error");
        continue;
      }
      const hadChain = (await db.jobVmState.count({ where: { jobId: job.id, vmExternalId: pvm.externalId } })) > 0;
      const result = await backupOneVm({ job, repository, pvm, progress, rec, keyRing, protection: protection.plan, names, reachable: keyProviderReachable(vm) });
      if (result.pointId) progress.incremental = hadChain;
      if (result.pointId) {
        // Prove the new point opens with the job's own keys before calling it done.
        try {
          const opened = await repository.readPoint(result.pointId, keyRing);
          rec.say(`${pvm.name}: restore point ${result.pointId} opens with ${(result.keyIds ?? []).join(", ")} (${opened.disks.length} disk(s)).`);
        } catch (e) {
          result.status = "failed";
          result.error = `the new restore point does not open with the job's keys: ${messageOf(e)}`;
          rec.say(`${pvm.name}: ${result.error}`, "error");
        }
      }
      endVm(progress, result);
      if (result.pointId) {
        await db.$transaction([
          db.restorePoint.create({
            data: {
              id: result.pointId,
              repositoryId: job.repositoryId,
              jobId: job.id,
              sessionId,
              chainId: result.chainId!,
              vmExternalId: pvm.externalId,
              vmName: pvm.name,
              createdAt: new Date(),
              incremental: progress.incremental ?? false,
              vmEncrypted: pvm.encrypted,
              keyIds: JSON.stringify(result.keyIds ?? []),
              diskCount: result.disks.length,
              bytesStored: BigInt(result.disks.reduce((s, d) => s + d.result.bytesTransferred, 0)),
            },
          }),
          db.jobVmState.upsert({
            where: { jobId_vmExternalId: { jobId: job.id, vmExternalId: pvm.externalId } },
            create: { jobId: job.id, vmExternalId: pvm.externalId, chainId: result.chainId!, changeIds: JSON.stringify(result.changeIds), lastPointId: result.pointId },
            update: { chainId: result.chainId!, changeIds: JSON.stringify(result.changeIds), lastPointId: result.pointId },
          }),
        ]);
        if (!(await applyRetention(repository, job, result.chainId!, rec))) retentionSkipped = true;
      }
      await rec.flush();
    }
  } finally {
    await protection.close().catch(() => undefined);
  }

  const states = rec.progress.vms.map((v) => v.status);
  const failed = states.filter((s) => s === "failed").length;
  if (stopped) return finish("stopped", null);
  if (failed) return finish("failed", `${failed} of ${states.length} VM(s) failed`);
  return finish(states.includes("warning") || retentionSkipped ? "warning" : "success", retentionSkipped ? "retention did not run; older restore points beyond the job's retention are still kept" : null);
}

interface OneVm {
  job: { id: string; proxyMode: string; proxyIds: string; failoverToNetwork: boolean };
  repository: Repository;
  pvm: PlatformVm;
  progress: VmRunProgress;
  rec: SessionRecorder;
  keyRing: KeyRing;
  protection: Awaited<ReturnType<typeof protectionPlanFor>>["plan"];
  names: Record<string, string>;
  reachable: boolean;
}

async function backupOneVm(o: OneVm): Promise<VmBackupResult> {
  const { pvm, progress, rec } = o;
  const state = await db.jobVmState.findUnique({ where: { jobId_vmExternalId: { jobId: o.job.id, vmExternalId: pvm.externalId } } });
  const previous = state ? changeIdsSchema.safeParse(JSON.parse(state.changeIds)) : null;
  const proxies = await candidateProxies(activeProxyTasks);
  const manual = o.job.proxyMode === "manual" ? new Set(parseIds(o.job.proxyIds)) : null;
  const chosen = manual ? proxies.filter((p) => manual.has(p.id)).map((p) => p.externalId) : "automatic";
  const held: CandidateProxy[] = [];
  try {
    return await backupVm({
      host: backupHost(),
      repository: o.repository,
      vm: pvm,
      proxies,
      selection: { proxies: chosen, failoverToNetwork: o.job.failoverToNetwork, keyProviderReachable: o.reachable, keyProviderNames: o.names },
      protection: o.protection,
      keyRing: o.keyRing,
      chainId: state?.chainId,
      previousChangeIds: previous?.success ? Object.fromEntries(Object.entries(previous.data).map(([k, v]) => [Number(k), v])) : undefined,
      progressIntervalMs: 250,
      onProgress: (p) => {
        const disk = progress.disks.find((d) => d.deviceKey === p.deviceKey);
        if (!disk) return;
        Object.assign(disk, { bytesToRead: p.bytesToRead, bytesRead: p.bytesRead, bytesTransferred: p.bytesTransferred, rate: p.rate, done: p.done });
        rec.touch();
      },
      onLog: (line) => {
        // "web-01 / Hard disk 1: proxy-02 in HotAdd mode…" — the chosen proxy and why, per disk.
        for (const d of progress.disks) {
          const prefix = `${pvm.name} / ${d.label}: `;
          if (line.startsWith(prefix) && / in .* mode/.test(line) && !d.mode) {
            const m = /^(\S+) in (.+?) mode/.exec(line.slice(prefix.length));
            if (m) {
              d.proxy = m[1];
              d.mode = m[2];
              d.reason = line.slice(prefix.length);
              const proxy = proxies.find((p) => p.name === m[1]);
              if (proxy) {
                activeProxyTasks.set(proxy.externalId, (activeProxyTasks.get(proxy.externalId) ?? 0) + 1);
                held.push(proxy);
              }
            }
          }
        }
        rec.say(line, line.startsWith("Error") ? "error" : line.startsWith("Warning") ? "warning" : "info");
      },
    });
  } catch (e) {
    return { vmExternalId: pvm.externalId, vmName: pvm.name, status: "failed", disks: [], changeIds: {}, warnings: [], error: messageOf(e), log: [] };
  } finally {
    for (const p of held) activeProxyTasks.set(p.externalId, Math.max(0, (activeProxyTasks.get(p.externalId) ?? 1) - 1));
  }
}

/** True when retention ran; false (logged as a warning) when it could not. */
async function applyRetention(repository: Repository, job: { retentionPoints: number }, chainId: string, rec: SessionRecorder): Promise<boolean> {
  try {
    const report = await repository.applyRetention({ keep: job.retentionPoints, chainId });
    for (const line of describeMaintenance(report)) rec.say(line);
    if (report.deletedPoints.length) {
      await db.restorePoint.updateMany({ where: { id: { in: report.deletedPoints } }, data: { status: "removed" } });
      rec.say(`Retention (${job.retentionPoints} points): removed ${report.deletedPoints.length} older restore point(s) no kept point depends on.`);
    }
    for (const h of report.heldPoints) rec.say(`Retention: point ${h.pointId} is immutable until ${h.immutableUntil.toISOString()}; it is kept until then (BKP-8).`);
  } catch (e) {
    rec.say(`Retention did not run: ${messageOf(e)}. The new restore point is safe; retention runs again next time.`, "warning");
    return false;
  }
  return true;
}

function emptyVm(externalId: string, id: string, name: string, encrypted: boolean, disks: Array<{ deviceKey: number; label: string; encrypted: boolean }>): VmRunProgress {
  return {
    vmExternalId: externalId,
    vmId: id,
    name,
    encrypted,
    status: "pending",
    incremental: null,
    pointId: null,
    keyIds: [],
    error: null,
    warnings: [],
    startedAt: null,
    endedAt: null,
    disks: disks.map((d) => ({ deviceKey: d.deviceKey, label: d.label, encrypted: d.encrypted, bytesToRead: 0, bytesRead: 0, bytesTransferred: 0, rate: 0, done: false, proxy: null, mode: null, reason: null })),
  };
}

function endVm(p: VmRunProgress, r: Partial<VmBackupResult> & { status: VmBackupResult["status"] }): void {
  p.status = r.status;
  p.error = r.error ?? null;
  p.pointId = r.pointId ?? null;
  p.keyIds = r.keyIds ?? [];
  p.warnings = r.warnings ?? [];
  p.endedAt = new Date().toISOString();
  for (const d of p.disks) d.rate = 0;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

function messageOf(e: unknown): string {
  if (e instanceof EngineError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
