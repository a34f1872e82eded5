import "server-only";
import os from "node:os";
import { db } from "@/lib/db/client";
import { planVmRestore, type VmRestoreChoices } from "@/lib/engine/pipeline/restore-plan";
import { restoreVm, type RestoreEvent, type VmRestoreResult } from "@/lib/engine/pipeline/restore-vm";
import { restoreDisks } from "@/lib/engine/pipeline/restore-disks";
import { rollbackVm } from "@/lib/engine/pipeline/rollback-vm";
import { z } from "zod";
import { currentWorker } from "@/lib/jobs/engine";
import { vmPayload } from "@/lib/jobs/kinds";
import { processWorkerId } from "@/lib/jobs/process-id";
import { proxyTaskGate } from "@/lib/jobs/proxy-tasks";
import type { ClaimedJob } from "@/lib/jobs/queue";
import { SessionEventWriter } from "@/lib/jobs/session-events";
import { VM_DONE, type VmRunProgress, type VmRunStatus } from "@/lib/jobs/session-progress";
import { diskRestoreItemSchema, restoreVmSchema } from "@/lib/schemas/restore";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { candidateProxies, keyProviderNames } from "@/lib/services/backup/job-context";
import { platform, restoreHost } from "@/lib/services/inventory/platform";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import { planDiskRestore, pointDisksOf } from "./disk-restore-plan";
import { finishRestoreSession } from "./finish-restore-session";
import { openRestorePoint } from "./open-restore-point";

// One VM of a restore session (the "restore-vm" kind), on whichever worker claims it. Claimed with
// its attempt number like a backup VM: a worker that takes over from a dead one bumps it and first
// deletes the VM the dead attempt created (its disks may be half-written) — a restore is never
// half-succeeded. Stop requests and the fence are looked at every second; either aborts the writes
// and the engine deletes the new VM. The original VM is never touched by a new-location restore.

const WATCH_MS = 1_000;

export async function runRestoreVm(job: ClaimedJob): Promise<void> {
  const { sessionId, vmExternalId } = vmPayload.parse(job.payload);
  const key = { sessionId_vmExternalId: { sessionId, vmExternalId } };
  const row = await db.sessionVm.findUnique({ where: key, include: { session: { select: { state: true, stopRequested: true, requestedById: true } } } });
  const item = await db.restoreItem.findUnique({ where: key });
  if (!row || !item) return;
  const workerId = processWorkerId();
  const log = new SessionEventWriter(sessionId, workerId);
  const progress = JSON.parse(row.progress) as VmRunProgress;
  if (VM_DONE.includes(row.state as VmRunStatus)) return finishRestoreSession(sessionId);
  if (row.session.state !== "running" || row.session.stopRequested) {
    await db.sessionVm.updateMany({ where: { id: row.id, attempt: row.attempt }, data: { state: "skipped", progress: JSON.stringify({ ...progress, status: "skipped" }), endedAt: new Date() } });
    log.say(`${row.name}: not started (the session was stopped).`, "warning", vmExternalId);
    await log.flush();
    return finishRestoreSession(sessionId);
  }
  const attempt = row.attempt + 1;
  const won = await db.sessionVm.updateMany({ where: { id: row.id, attempt: row.attempt }, data: { state: "running", attempt, workerId, heartbeatAt: new Date(), startedAt: row.startedAt ?? new Date() } });
  if (won.count !== 1) return;
  const fence = { id: row.id, attempt };
  if (row.state === "running" && row.workerId && row.workerId !== workerId) {
    log.event({ type: "taken-over", level: "warning", vmExternalId, text: `${row.name}: worker ${row.workerId} stopped answering; the restore starts again on worker ${workerId}.`, data: { from: row.workerId, to: workerId, attempt } });
  }
  const untrack = currentWorker()?.track(`${sessionId}:${vmExternalId}`, { kind: "restore-vm", sessionId, vmExternalId });
  const controller = new AbortController();
  const abortWith = (why: string) => controller.abort(new Error(why));
  job.signal.addEventListener("abort", () => abortWith("this worker lost the VM to another worker"), { once: true });
  let stopRequested = false;
  for (const d of progress.disks) Object.assign(d, { rate: 0, done: false, bytesRead: 0, bytesTransferred: 0, proxy: null, mode: null, reason: null });
  Object.assign(progress, { status: "running", startedAt: new Date().toISOString(), error: null, warnings: [] });
  const save = async (extra: Record<string, unknown> = {}) => {
    const r = await db.sessionVm.updateMany({ where: fence, data: { progress: JSON.stringify(progress), heartbeatAt: new Date(), ...extra } });
    if (r.count === 0) abortWith("another worker holds this VM now");
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

  let result: VmRestoreResult | undefined;
  let error: string | null = null;
  try {
    await save();
    result = await restoreOne({ sessionId, workerId, item, progress, log, signal: controller.signal, onCreated: (vmId) => db.restoreItem.update({ where: { id: item.id }, data: { targetVmExternalId: vmId } }).then(() => undefined) });
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  } finally {
    clearInterval(watch);
    untrack?.();
  }
  if (!result && controller.signal.aborted && !stopRequested) {
    await log.flush();
    throw new Error(`${row.name}: ${String((controller.signal.reason as Error)?.message ?? "aborted")}`);
  }
  if (result && controller.signal.aborted && !stopRequested && result.status === "failed") {
    // Fenced out: the new holder reports this VM (and cleans up after it).
    await log.flush();
    throw new Error(`${row.name}: ${String((controller.signal.reason as Error)?.message ?? "aborted")}`);
  }
  let status: VmRunStatus = result ? result.status : "failed";
  error = result?.error ?? error;
  if (stopRequested && status === "failed") {
    status = "skipped";
    error = "stopped by a user while it ran; the VM it had started to create was deleted";
  }
  Object.assign(progress, { status, error, warnings: result?.warnings ?? [], endedAt: new Date().toISOString() });
  for (const d of progress.disks) d.rate = 0;
  if (error) log.say(`${row.name}: ${error}`, status === "failed" ? "error" : "warning", vmExternalId);
  else log.say(`${row.name}: restored as ${result!.vm!.name} (${result!.vm!.externalId})${result!.poweredOn ? ", powered on" : ""}.`, status === "warning" ? "warning" : "info", vmExternalId);
  await save({ state: status, endedAt: new Date() });
  await db.restoreItem.update({
    where: { id: item.id },
    data: { targetVmExternalId: result?.vm?.externalId ?? null, result: JSON.stringify({ status, error, checks: result?.checks ?? [], poweredOn: result?.poweredOn ?? false, disks: (result?.disks ?? []).map((d) => ({ deviceKey: d.deviceKey, proxy: d.proxyName, mode: d.mode, bytesWritten: d.result.bytesWritten, durationMs: d.result.durationMs })) }) },
  });
  await recordAuditEvent({
    actor: null,
    action: "restore.vm",
    objectType: "vm",
    objectId: vmExternalId,
    outcome: status === "failed" ? "failure" : "success",
    details: { session: sessionId, point: item.pointId, target: result?.vm?.externalId ?? null, name: item.targetVmName, state: status, error, keyUsed: result?.vm?.keyId ?? null },
  });
  await log.flush();
  await syncInventoryFromPlatform().catch(() => undefined);
  await finishRestoreSession(sessionId);
}

interface OneRestore {
  sessionId: string;
  workerId: string;
  item: { id: string; pointId: string; choices: string; powerOn: boolean; targetVmExternalId: string | null };
  progress: VmRunProgress;
  log: SessionEventWriter;
  signal: AbortSignal;
  onCreated(vmExternalId: string): Promise<void>;
}

const inPlaceChoices = z.object({ mode: z.enum(["overwrite", "quick-rollback"]), deviceKeys: z.array(z.number().int()).min(1) });
const diskChoices = z.object({ mode: z.literal("disks"), targetVmExternalId: z.string().min(1), disks: z.array(diskRestoreItemSchema).min(1) });

async function restoreOne(o: OneRestore): Promise<VmRestoreResult> {
  const inPlace = inPlaceChoices.safeParse(JSON.parse(o.item.choices));
  if (inPlace.success) return rollbackOne(o, inPlace.data);
  const disks = diskChoices.safeParse(JSON.parse(o.item.choices));
  if (disks.success) return disksOne(o, disks.data);
  const { progress, log } = o;
  const host = restoreHost();
  // A dead attempt's VM: its disks may be half-written; it goes before anything else.
  if (o.item.targetVmExternalId) {
    const gone = await host.deleteVm(o.item.targetVmExternalId).then(
      () => `the VM ${o.item.targetVmExternalId} an earlier attempt created was deleted`,
      (e: unknown) => ((e as { code?: string }).code === "NotFound" ? null : Promise.reject(e)),
    );
    if (gone) log.say(`${progress.name}: ${gone}; the restore starts from the beginning.`, "warning", progress.vmExternalId);
    await db.restoreItem.update({ where: { id: o.item.id }, data: { targetVmExternalId: null } });
  }
  const choices = restoreVmSchema.parse(JSON.parse(o.item.choices));
  const opened = await openRestorePoint(o.item.pointId, `strongroom/${os.hostname()}/${process.pid}/restore-${o.sessionId}`);
  try {
    const inventory = await platform().inventory();
    const plan = planVmRestore(opened.source, choices as VmRestoreChoices, inventory);
    progress.keyIds = opened.row.keyIds;
    log.say(`${progress.name}: restore point of ${opened.row.createdAt.toISOString()} opened (${opened.row.keyIds.join(", ") || "no key ids"}).`, "info", progress.vmExternalId);
    const [proxies, names] = await Promise.all([candidateProxies(), keyProviderNames()]);
    return await restoreVm({
      host,
      point: opened.point,
      plan,
      proxies,
      selection: { proxies: "automatic", failoverToNetwork: true, keyProviderNames: names },
      tasks: proxyTaskGate({ sessionId: o.sessionId, workerId: o.workerId }),
      powerOn: o.item.powerOn,
      signal: o.signal,
      progressIntervalMs: 250,
      onCreated: (vm) => o.onCreated(vm.externalId),
      onProgress: (p) => {
        const disk = progress.disks.find((d) => d.deviceKey === p.deviceKey);
        if (disk) Object.assign(disk, { bytesRead: p.bytesDone, bytesTransferred: p.bytesWritten, rate: p.rate, done: p.done });
      },
      onEvent: (e: RestoreEvent) => {
        if (e.type === "disk-planned") {
          const disk = progress.disks.find((d) => d.deviceKey === e.deviceKey);
          if (disk) Object.assign(disk, { proxy: e.proxyName, mode: e.mode, reason: e.reason });
        }
        const level = e.type === "warning" || e.type === "waiting" || (e.type === "check" && !e.ok) ? "warning" : "info";
        const text = e.type === "task-start" || e.type === "task-end" ? "" : e.text;
        log.event({ type: e.type, level, vmExternalId: progress.vmExternalId, text, data: e });
      },
    });
  } finally {
    await opened.close();
  }
}

/** A disk restore (RST-7): planned again against the VM as it is now, then the disks attached and written. */
async function disksOne(o: OneRestore, choices: z.infer<typeof diskChoices>): Promise<VmRestoreResult> {
  const { progress, log } = o;
  const failed = (error: string): VmRestoreResult => ({ status: "failed", vm: null, disks: [], checks: [], poweredOn: false, warnings: [], error });
  const opened = await openRestorePoint(o.item.pointId, `strongroom/${os.hostname()}/${process.pid}/restore-${o.sessionId}`);
  try {
    const inventory = await platform().inventory();
    const backedUp = opened.source.vm;
    const plan = planDiskRestore({ pointId: o.item.pointId, targetVmExternalId: choices.targetVmExternalId, disks: choices.disks }, { vmName: opened.row.vmName, tenantExternalId: backedUp.tenantExternalId, disks: pointDisksOf(opened.point, backedUp) }, inventory);
    if (!plan.target || plan.problems.length) return failed(`the disk restore cannot run as it was started: ${plan.problems.map((p) => p.message).join(" ")}`);
    progress.keyIds = opened.row.keyIds;
    log.say(`${progress.name}: restore point of ${opened.row.createdAt.toISOString()} opened; ${plan.attach.length} disk(s) go to ${plan.target.name}.`, "info", progress.vmExternalId);
    const [proxies, names] = await Promise.all([candidateProxies(), keyProviderNames()]);
    const r = await restoreDisks({
      host: restoreHost(),
      point: opened.point,
      vm: plan.target,
      inventory,
      disks: plan.attach,
      proxies,
      selection: { proxies: "automatic", failoverToNetwork: true, keyProviderNames: names },
      tasks: proxyTaskGate({ sessionId: o.sessionId, workerId: o.workerId }),
      powerOn: o.item.powerOn,
      signal: o.signal,
      progressIntervalMs: 250,
      onProgress: (p) => {
        const disk = progress.disks.find((d) => d.deviceKey === p.deviceKey);
        if (disk) Object.assign(disk, { bytesRead: p.bytesDone, bytesTransferred: p.bytesWritten, rate: p.rate, done: p.done });
      },
      onEvent: (e: RestoreEvent) => {
        if (e.type === "disk-planned") {
          const disk = progress.disks.find((d) => d.deviceKey === e.deviceKey);
          if (disk) Object.assign(disk, { proxy: e.proxyName, mode: e.mode, reason: e.reason });
        }
        const level = e.type === "warning" || e.type === "waiting" || (e.type === "check" && !e.ok) ? "warning" : "info";
        log.event({ type: e.type, level, vmExternalId: progress.vmExternalId, text: e.type === "task-start" || e.type === "task-end" ? "" : e.text, data: e });
      },
    });
    return { status: r.status, vm: r.vm, disks: r.disks, checks: r.checks, poweredOn: r.poweredOn, warnings: r.warnings, error: r.error };
  } finally {
    await opened.close();
  }
}

/** An in-place restore: the VM itself, its chosen disks overwritten or rolled back (a retry simply runs again). */
async function rollbackOne(o: OneRestore, choices: z.infer<typeof inPlaceChoices>): Promise<VmRestoreResult> {
  const { progress, log } = o;
  const opened = await openRestorePoint(o.item.pointId, `strongroom/${os.hostname()}/${process.pid}/restore-${o.sessionId}`);
  try {
    const vm = (await platform().inventory()).vms.find((v) => v.externalId === progress.vmExternalId);
    if (!vm) return { status: "failed", vm: null, disks: [], checks: [], poweredOn: false, warnings: [], error: "the VM no longer exists: restore it to a new location instead" };
    log.say(`${vm.name}: restore point of ${opened.row.createdAt.toISOString()} opened; ${choices.mode === "quick-rollback" ? "rolling back the blocks that changed since" : "overwriting the disks"}.`, "info", vm.externalId);
    const [proxies, names] = await Promise.all([candidateProxies(), keyProviderNames()]);
    const r = await rollbackVm({
      host: restoreHost(),
      point: opened.point,
      vm,
      deviceKeys: choices.deviceKeys,
      mode: choices.mode,
      proxies,
      selection: { proxies: "automatic", failoverToNetwork: true, keyProviderNames: names },
      powerOn: o.item.powerOn,
      signal: o.signal,
      onProgress: (p) => {
        const disk = progress.disks.find((d) => d.deviceKey === p.deviceKey);
        if (disk) Object.assign(disk, { bytesRead: p.bytesDone, bytesTransferred: p.bytesWritten, rate: p.rate, done: p.done });
      },
      onEvent: (e: RestoreEvent) => {
        if (e.type === "disk-planned") {
          const disk = progress.disks.find((d) => d.deviceKey === e.deviceKey);
          if (disk) Object.assign(disk, { proxy: e.proxyName, mode: e.mode, reason: e.reason });
        }
        log.event({ type: e.type, level: e.type === "warning" ? "warning" : "info", vmExternalId: vm.externalId, text: e.type === "task-start" || e.type === "task-end" ? "" : e.text, data: e });
      },
    });
    const checks = r.disks.map((d) => ({ ok: true, text: `${vm.disks.find((x) => x.deviceKey === d.deviceKey)?.label ?? d.deviceKey}: ${d.blocksWritten} block(s) written${d.found === "cbt" ? " (changed since the point, by changed block tracking)" : d.found === "hash" ? " (found different by hash)" : ""}` }));
    return { status: r.status, vm: r.status === "failed" ? null : vm, disks: [], checks, poweredOn: r.poweredOn, warnings: r.warnings, error: r.error };
  } finally {
    await opened.close();
  }
}
