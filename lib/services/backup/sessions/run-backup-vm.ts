import "server-only";
import { db } from "@/lib/db/client";
import { isTransientDbError, withTransientRetry } from "@/lib/db/transient-error";
import { backupVm, type VmBackupResult } from "@/lib/engine/pipeline/backup-vm";
import type { BackupEvent } from "@/lib/engine/pipeline/events";
import type { ClaimedJob } from "@/lib/jobs/queue";
import { vmPayload } from "@/lib/jobs/kinds";
import { processWorkerId } from "@/lib/jobs/process-id";
import { proxyTaskGate } from "@/lib/jobs/proxy-tasks";
import { SessionEventWriter } from "@/lib/jobs/session-events";
import { holderText, waitAndClaimSourceVm } from "@/lib/services/jobs/claim-source-vm";
import { VM_DONE, type VmRunProgress, type VmRunStatus } from "@/lib/jobs/session-progress";
import { currentWorker } from "@/lib/jobs/engine";
import { keyProviderReachable, selectedVmInclude } from "@/lib/services/backup/job-context";
import { parseIds } from "@/lib/services/backup/job-dto";
import { backupHost } from "@/lib/services/inventory/platform";
import { z } from "zod";
import { withBackupSessionContext, type BackupSessionContext } from "./backup-session-context";
import { finishBackupSession } from "./finish-backup-session";

// One VM of a backup session (the "backup-vm" kind), on whichever worker claimed it. The VM row is
// claimed with its attempt number: a worker that took over from a dead one bumps it, and every
// later write of the old holder is fenced out, so one VM is never backed up twice at the same
// time. Stop requests and the fence are looked at every second; either aborts the read within a
// block, and an aborted VM's partial data never becomes a restore point (BKP-6).

const WATCH_MS = 1_000;
const changeIdsSchema = z.record(z.string(), z.string());

export async function runBackupVm(job: ClaimedJob): Promise<void> {
  const { sessionId, vmExternalId } = vmPayload.parse(job.payload);
  const row = await db.sessionVm.findUnique({ where: { sessionId_vmExternalId: { sessionId, vmExternalId } }, include: { session: { select: { state: true, stopRequested: true, jobId: true } } } });
  if (!row || !row.session.jobId) return;
  const workerId = processWorkerId();
  const log = new SessionEventWriter(sessionId, workerId);
  const progress = JSON.parse(row.progress) as VmRunProgress;
  if (VM_DONE.includes(row.state as VmRunStatus)) return finishBackupSession(sessionId);
  if (row.session.state !== "running" || row.session.stopRequested) {
    await db.sessionVm.updateMany({ where: { id: row.id, attempt: row.attempt }, data: { state: "skipped", progress: JSON.stringify({ ...progress, status: "skipped" }), endedAt: new Date() } });
    log.say(`${row.name}: not started (the session was stopped).`, "warning", vmExternalId);
    await log.flush();
    return finishBackupSession(sessionId);
  }

  // Claim the VM for this attempt; a VM that was running belonged to a worker that died.
  const attempt = row.attempt + 1;
  // A replication of the same VM reads it through the same backup snapshot: wait for it (decision 0007).
  const claim = await waitAndClaimSourceVm({
    row,
    vmExternalId,
    blockers: ["replication"],
    data: { state: "running", attempt, workerId, startedAt: row.startedAt },
    signal: job.signal,
    stopped: async () => (await db.jobSession.findUnique({ where: { id: sessionId }, select: { stopRequested: true } }))?.stopRequested ?? true,
    onWait: async (h) => {
      log.event({ type: "waiting", level: "warning", vmExternalId, text: `${row.name}: waiting — the VM is being read by ${holderText(h)}; this backup starts when that one ends.`, data: { holder: h.sessionId } });
      await log.flush();
    },
  });
  if (claim === "stopped") {
    await db.sessionVm.updateMany({ where: { id: row.id, attempt: row.attempt }, data: { state: "skipped", progress: JSON.stringify({ ...progress, status: "skipped" }), endedAt: new Date() } });
    log.say(`${row.name}: not started (the session was stopped while it waited).`, "warning", vmExternalId);
    await log.flush();
    return finishBackupSession(sessionId);
  }
  if (claim !== "claimed") return;
  if (row.state === "running" && row.workerId && row.workerId !== workerId) {
    log.event({ type: "taken-over", level: "warning", vmExternalId, text: `${row.name}: worker ${row.workerId} stopped answering; this VM starts again on worker ${workerId}. Its unfinished data never became a restore point.`, data: { from: row.workerId, to: workerId, attempt } });
  }
  const fence = { id: row.id, attempt };
  const untrack = currentWorker()?.track(`${sessionId}:${vmExternalId}`, { kind: "backup-vm", sessionId, vmExternalId });
  const controller = new AbortController();
  const abortWith = (why: string) => controller.abort(new Error(why));
  job.signal.addEventListener("abort", () => abortWith("this worker lost the VM to another worker"), { once: true });
  let stopRequested = false;
  let dirty = true;
  for (const d of progress.disks) Object.assign(d, { rate: 0, done: false, bytesRead: 0, bytesTransferred: 0, proxy: null, mode: null, reason: null });
  Object.assign(progress, { status: "running", startedAt: new Date().toISOString(), error: null, warnings: [], pointId: null });
  const save = async (extra: Record<string, unknown> = {}) => {
    dirty = false;
    const r = await db.sessionVm.updateMany({ where: fence, data: { progress: JSON.stringify(progress), heartbeatAt: new Date(), ...extra } });
    if (r.count === 0) abortWith("another worker holds this VM now");
    return r.count === 1;
  };
  const watch = setInterval(() => {
    void (async () => {
      const s = await db.jobSession.findUnique({ where: { id: sessionId }, select: { stopRequested: true } });
      if (s?.stopRequested && !stopRequested) {
        stopRequested = true;
        abortWith("stopped by a user");
      }
      await save();
    })().catch(() => undefined);
  }, WATCH_MS);
  watch.unref();

  let result: VmBackupResult | undefined;
  try {
    await save();
    await withBackupSessionContext(sessionId, row.session.jobId, async (c) => {
      result = await backupOne(c, { sessionId, workerId, progress, log, signal: controller.signal, markDirty: () => (dirty = true) });
      if (result.pointId && !controller.signal.aborted) await recordPoint(c, sessionId, result, progress, log, fence);
    });
  } catch (e) {
    result = { vmExternalId, vmName: row.name, status: "failed", disks: [], changeIds: {}, warnings: [], error: e instanceof Error ? e.message : String(e), cause: e, log: [] };
  } finally {
    clearInterval(watch);
    untrack?.();
  }
  const r = result!;
  let status: VmRunStatus = r.status;
  let error = r.error ?? null;
  if (stopRequested && !r.pointId) {
    status = "skipped";
    error = "stopped by a user while it ran; its partial data never became a restore point";
  } else if (controller.signal.aborted && !stopRequested && !r.pointId) {
    // Fenced out or the queue took the job back: the new holder reports this VM.
    await log.flush();
    throw new Error(`${row.name}: ${String((controller.signal.reason as Error)?.message ?? "aborted")}`);
  } else if (status === "failed" && !r.pointId && isTransientDbError(r.cause) && job.attempt < job.retryLimit) {
    // The database, not the VM, failed (it was unreachable, out of connections, busy): nothing of
    // this try became a point (BKP-6), so the queue runs the VM again after its back-off instead
    // of the session reporting it failed. The row goes back to pending for the next try when the
    // database takes the write (else the next try finds it running, under this attempt's fence).
    log.say(`${row.name}: the database failed while this VM was backed up (${error}); it is tried again (try ${job.attempt + 2} of ${job.retryLimit + 1}). Nothing of this try became a restore point.`, "warning", vmExternalId);
    await log.flush();
    Object.assign(progress, { status: "pending", error: null });
    await db.sessionVm.updateMany({ where: fence, data: { state: "pending", workerId: null, progress: JSON.stringify(progress) } }).catch(() => undefined);
    throw new Error(`${row.name}: a transient database error; the queue tries it again: ${error}`, { cause: r.cause });
  }
  Object.assign(progress, { status, error, pointId: r.pointId ?? null, keyIds: r.keyIds ?? [], warnings: r.warnings, endedAt: new Date().toISOString() });
  for (const d of progress.disks) d.rate = 0;
  if (error) log.say(`${row.name}: ${error}`, status === "failed" ? "error" : "warning", vmExternalId);
  void dirty;
  // The VM's outcome must land, above all once its point is catalogued: a passing outage is waited out.
  await withTransientRetry(() => save({ state: status, endedAt: new Date() }));
  await log.flush();
  await finishBackupSession(sessionId);
}

interface OneVm {
  sessionId: string;
  workerId: string;
  progress: VmRunProgress;
  log: SessionEventWriter;
  signal: AbortSignal;
  markDirty(): void;
}

async function backupOne(c: BackupSessionContext, o: OneVm): Promise<VmBackupResult> {
  const { progress, log } = o;
  const vmRow = progress.vmId ? await db.vm.findUnique({ where: { id: progress.vmId }, include: selectedVmInclude }) : null;
  const pvm = vmRow ? [...c.vms.values()].find((v) => v.externalId === vmRow.externalId && v.siteExternalId === vmRow.site.externalId) : undefined;
  if (!vmRow || !pvm) return { vmExternalId: progress.vmExternalId, vmName: progress.name, status: "failed", disks: [], changeIds: {}, warnings: [], error: "the VM is no longer in the platform's inventory", log: [] };
  const state = await db.jobVmState.findUnique({ where: { jobId_vmExternalId: { jobId: c.job.id, vmExternalId: pvm.externalId } } });
  const previous = state ? changeIdsSchema.safeParse(JSON.parse(state.changeIds)) : null;
  progress.incremental = state !== null;
  const manual = c.job.proxyMode === "manual" ? new Set(parseIds(c.job.proxyIds)) : null;
  return backupVm({
    host: backupHost(),
    repository: c.repository,
    vm: pvm,
    proxies: c.proxies,
    tasks: proxyTaskGate({ sessionId: o.sessionId, workerId: o.workerId }),
    signal: o.signal,
    selection: { proxies: manual ? c.proxies.filter((p) => manual.has(p.id)).map((p) => p.externalId) : "automatic", failoverToNetwork: c.job.failoverToNetwork, keyProviderReachable: keyProviderReachable(vmRow), keyProviderNames: c.names },
    protection: c.protection,
    keyRing: c.keyRing,
    chainId: state?.chainId,
    previousChangeIds: previous?.success ? Object.fromEntries(Object.entries(previous.data).map(([k, v]) => [Number(k), v])) : undefined,
    progressIntervalMs: 250,
    onProgress: (p) => {
      const disk = progress.disks.find((d) => d.deviceKey === p.deviceKey);
      if (!disk) return;
      Object.assign(disk, { bytesToRead: p.bytesToRead, bytesRead: p.bytesRead, bytesTransferred: p.bytesTransferred, rate: p.rate, done: p.done });
      o.markDirty();
    },
    onEvent: (e: BackupEvent) => {
      if (e.type === "disk-planned") {
        const disk = progress.disks.find((d) => d.deviceKey === e.deviceKey);
        if (disk) Object.assign(disk, { proxy: e.proxyName, mode: e.mode, reason: e.reason });
      }
      if (e.type === "disk-progress" as string) return;
      const level = e.type === "warning" || e.type === "waiting" ? "warning" : e.type === "vm-done" && e.status === "failed" ? "error" : "info";
      // Task slots and the VM's end are recorded for accounting; the log lines come from onLog.
      log.event({ type: e.type, level, vmExternalId: e.vmExternalId, text: e.type === "waiting" ? e.text : "", data: e });
    },
    onLog: (line) => log.say(line, line.startsWith("Error") ? "error" : line.startsWith("Warning") ? "warning" : "info", pvm.externalId),
  });
}

/** Proves the new point opens with the job's own keys, then catalogues it — only while this attempt still holds the VM. */
async function recordPoint(c: BackupSessionContext, sessionId: string, result: VmBackupResult, progress: VmRunProgress, log: SessionEventWriter, fence: { id: string; attempt: number }): Promise<void> {
  try {
    const opened = await c.repository.readPoint(result.pointId!, c.keyRing);
    log.say(`${result.vmName}: restore point ${result.pointId} opens with ${(result.keyIds ?? []).join(", ")} (${opened.disks.length} disk(s)).`, "info", result.vmExternalId);
  } catch (e) {
    result.status = "failed";
    result.error = `the new restore point does not open with the job's keys: ${e instanceof Error ? e.message : String(e)}`;
    result.pointId = undefined;
    return;
  }
  const vm = c.vms.get(result.vmExternalId);
  // The point file exists now: a passing database outage is waited out rather than leaving it uncatalogued.
  await withTransientRetry(() => db.$transaction(async (tx) => {
    const still = await tx.sessionVm.count({ where: fence });
    if (still !== 1) throw new Error("another worker took this VM over before its point was catalogued");
    // A concurrent session's catalogue check may have adopted the new point file already (it is
    // the truth, and it was committed a moment ago): then this fills in what only the session knows.
    const data = {
        id: result.pointId!,
        repositoryId: c.job.repositoryId,
        jobId: c.job.id,
        sessionId,
        chainId: result.chainId!,
        vmExternalId: result.vmExternalId,
        vmName: result.vmName,
        createdAt: new Date(),
        incremental: progress.incremental ?? false,
        vmEncrypted: vm?.encrypted ?? progress.encrypted,
        keyIds: JSON.stringify(result.keyIds ?? []),
        diskCount: result.disks.length,
        bytesStored: BigInt(result.disks.reduce((s, d) => s + d.result.bytesTransferred, 0)),
      };
    await tx.restorePoint.upsert({ where: { id: data.id }, create: data, update: data });
    await tx.jobVmState.upsert({
      where: { jobId_vmExternalId: { jobId: c.job.id, vmExternalId: result.vmExternalId } },
      create: { jobId: c.job.id, vmExternalId: result.vmExternalId, chainId: result.chainId!, changeIds: JSON.stringify(result.changeIds), lastPointId: result.pointId },
      update: { chainId: result.chainId!, changeIds: JSON.stringify(result.changeIds), lastPointId: result.pointId },
    });
  }));
}
