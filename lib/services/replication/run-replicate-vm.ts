import "server-only";
import os from "node:os";
import { db } from "@/lib/db/client";
import { replicateVm, type ReplicaKeyMode, type ReplicaState, type ReplicationEvent, type ReplicationResult } from "@/lib/engine/pipeline/replicate-vm";
import { currentWorker } from "@/lib/jobs/engine";
import { vmPayload } from "@/lib/jobs/kinds";
import { processWorkerId } from "@/lib/jobs/process-id";
import { proxyTaskGate } from "@/lib/jobs/proxy-tasks";
import type { ClaimedJob } from "@/lib/jobs/queue";
import { SessionEventWriter } from "@/lib/jobs/session-events";
import { holderText, waitAndClaimSourceVm } from "@/lib/services/jobs/claim-source-vm";
import { VM_DONE, type VmRunProgress, type VmRunStatus } from "@/lib/jobs/session-progress";
import type { ReplicaVmInput } from "@/lib/schemas/replication";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { candidateProxies, keyProviderNames } from "@/lib/services/backup/job-context";
import { platform, replicationHosts } from "@/lib/services/inventory/platform";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import type { OpenedRestorePoint } from "@/lib/services/restore/open-restore-point";
import { placementOf } from "./check-replication-job";
import { finishReplicationSession } from "./finish-replication-session";
import { openSeedPoint } from "./seed-point";
import { targetKeyProviderProblem } from "./target-key-provider";

// One VM of a replication session (the "replicate-vm" kind), on whichever worker claims it: the
// same claim with an attempt number, fence and heartbeat as a restore VM (run-restore-vm.ts).
// Proxies of both sites come from the same KMS-aware selection as backup (TRN-5). A completed run
// stores the engine's new ReplicaState on the Replica and a ReplicaPoint (with the replica's key
// id and key mode); points the engine removed for keep-count go too. A failed or cut-off run
// keeps the previous state: the replica's last point is intact and the next run resumes from it.

const WATCH_MS = 1_000;

export async function runReplicateVm(job: ClaimedJob): Promise<void> {
  const { sessionId, vmExternalId } = vmPayload.parse(job.payload);
  const row = await db.sessionVm.findUnique({ where: { sessionId_vmExternalId: { sessionId, vmExternalId } }, include: { session: { select: { state: true, stopRequested: true, replicationJobId: true } } } });
  if (!row || !row.session.replicationJobId) return;
  const rjob = await db.replicationJob.findUnique({ where: { id: row.session.replicationJobId } });
  const replica = await db.replica.findUnique({ where: { jobId_sourceVmExternalId: { jobId: row.session.replicationJobId, sourceVmExternalId: vmExternalId } } });
  if (!rjob || !replica) return;
  const workerId = processWorkerId();
  const log = new SessionEventWriter(sessionId, workerId);
  const progress = JSON.parse(row.progress) as VmRunProgress;
  if (VM_DONE.includes(row.state as VmRunStatus)) return finishReplicationSession(sessionId);
  if (row.session.state !== "running" || row.session.stopRequested) {
    await db.sessionVm.updateMany({ where: { id: row.id, attempt: row.attempt }, data: { state: "skipped", progress: JSON.stringify({ ...progress, status: "skipped" }), endedAt: new Date() } });
    log.say(`${row.name}: not started (the session was stopped).`, "warning", vmExternalId);
    await log.flush();
    return finishReplicationSession(sessionId);
  }
  if (replica.state !== "Ready") {
    // FOV-1: a failed-over replica is in use at the DR site, a permanent one is production: replication never writes to it.
    await db.sessionVm.updateMany({ where: { id: row.id, attempt: row.attempt }, data: { state: "skipped", progress: JSON.stringify({ ...progress, status: "skipped", error: replicaNotReady(replica.state) }), endedAt: new Date() } });
    log.say(`${row.name}: skipped: ${replicaNotReady(replica.state)}`, "warning", vmExternalId);
    await log.flush();
    return finishReplicationSession(sessionId);
  }
  const attempt = row.attempt + 1;
  // One backup or replication of a source VM at a time (decision 0007): this VM waits for another's.
  const claim = await waitAndClaimSourceVm({
    row,
    vmExternalId,
    blockers: ["backup", "replication"],
    data: { state: "running", attempt, workerId, startedAt: row.startedAt },
    signal: job.signal,
    stopped: async () => (await db.jobSession.findUnique({ where: { id: sessionId }, select: { stopRequested: true } }))?.stopRequested ?? true,
    onWait: async (h) => {
      log.event({ type: "waiting", level: "warning", vmExternalId, text: `${row.name}: waiting — the source VM is being read by ${holderText(h)}; this replication starts when that one ends.`, data: { holder: h.sessionId } });
      await log.flush();
    },
  });
  if (claim === "stopped") {
    await db.sessionVm.updateMany({ where: { id: row.id, attempt: row.attempt }, data: { state: "skipped", progress: JSON.stringify({ ...progress, status: "skipped" }), endedAt: new Date() } });
    log.say(`${row.name}: not started (the session was stopped while it waited).`, "warning", vmExternalId);
    await log.flush();
    return finishReplicationSession(sessionId);
  }
  if (claim !== "claimed") return;
  const fence = { id: row.id, attempt };
  if (row.state === "running" && row.workerId && row.workerId !== workerId) {
    log.event({ type: "taken-over", level: "warning", vmExternalId, text: `${row.name}: worker ${row.workerId} stopped answering; the replication resumes on worker ${workerId} from the replica's last point.`, data: { from: row.workerId, to: workerId, attempt } });
  }
  const untrack = currentWorker()?.track(`${sessionId}:${vmExternalId}`, { kind: "replicate-vm", sessionId, vmExternalId });
  const controller = new AbortController();
  const abortWith = (why: string) => controller.abort(new Error(why));
  job.signal.addEventListener("abort", () => abortWith("this worker lost the VM to another worker"), { once: true });
  let stopRequested = false;
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

  const last: ReplicaState | null = replica.replicaVmExternalId ? { replicaVmExternalId: replica.replicaVmExternalId, pointId: replica.lastPointId, disks: JSON.parse(replica.lastChangeIds) as ReplicaState["disks"] } : null;
  let result: ReplicationResult | undefined;
  let seed: OpenedRestorePoint | undefined;
  let error: string | null = null;
  try {
    await save();
    const vm = (await platform().inventory()).vms.find((v) => v.externalId === vmExternalId);
    if (!vm) throw new Error(`${replica.sourceVmName} no longer exists at the source site (it was deleted or unregistered since the job was made): remove it from the job`);
    // The replica's keys must be reachable at the target before anything is created or written (REP-2, VME-3).
    const keyed = rjob.keyMode === "re-key" || (rjob.keyMode === "shared" && vm.encrypted);
    const kpProblem = keyed && rjob.targetKeyProviderExternalId ? await targetKeyProviderProblem(rjob.targetSiteExternalId, rjob.targetKeyProviderExternalId) : null;
    if (kpProblem) throw new Error(`${kpProblem} Nothing was written`);
    const placements = JSON.parse(rjob.placements) as Record<string, ReplicaVmInput>;
    const placement = placementOf({ targetSiteExternalId: rjob.targetSiteExternalId, targetHostExternalId: rjob.targetHostExternalId, keyMode: rjob.keyMode as ReplicaKeyMode, targetKeyProviderExternalId: rjob.targetKeyProviderExternalId }, placements[vmExternalId]);
    const [proxies, names] = await Promise.all([candidateProxies(), keyProviderNames()]);
    const manual = rjob.proxyMode === "manual" ? new Set(JSON.parse(rjob.proxyIds) as string[]) : null;
    const chosen = manual ? proxies.filter((p) => manual.has(p.id)).map((p) => p.externalId) : ("automatic" as const);
    const selection = { proxies: chosen, failoverToNetwork: true, keyProviderNames: names };
    log.say(
      last?.pointId
        ? `${row.name}: incremental run from the replica's last point ${last.pointId}.`
        : rjob.seedFromRepositoryId
          ? `${row.name}: first run: the replica is created and seeded from the VM's newest restore point in the seed repository.`
          : `${row.name}: first run: the replica is created and every disk copied.`,
      "info",
      vmExternalId,
    );
    // Seeding (REP-1): a first run writes the replica from the VM's newest point in the seed
    // repository and ships only what changed since; a point that cannot be used refuses the run here.
    if (!last?.pointId && rjob.seedFromRepositoryId) {
      seed = await openSeedPoint(rjob.seedFromRepositoryId, vm, `strongroom/${os.hostname()}/${process.pid}/replication-${sessionId}`).catch((e: unknown) => {
        throw new Error(`${e instanceof Error ? e.message : String(e)} Nothing was written`);
      });
      log.say(`${row.name}: the replica is seeded from restore point ${seed.row.id} of ${seed.row.createdAt.toISOString()}; only the blocks changed since are shipped.`, "info", vmExternalId);
    }
    const { source, target } = replicationHosts();
    result = await replicateVm({
      source,
      sourceVm: vm,
      target,
      placement,
      keyMode: rjob.keyMode as ReplicaKeyMode,
      last,
      seed: seed?.point,
      keepPoints: rjob.keepPoints,
      sourceProxies: proxies.filter((p) => p.siteExternalId === vm.siteExternalId),
      targetProxies: proxies.filter((p) => p.siteExternalId === rjob.targetSiteExternalId),
      sourceSelection: selection,
      targetSelection: selection,
      tasks: proxyTaskGate({ sessionId, workerId }),
      signal: controller.signal,
      progressIntervalMs: 250,
      // Kept at once: a retry after a crash finds the half-made VM and makes it again.
      onReplicaCreated: async (created) => {
        if (!last?.pointId) await db.replica.update({ where: { id: replica.id }, data: { replicaVmExternalId: created.externalId, lastPointId: null, lastChangeIds: "[]" } });
      },
      onEvent: (e: ReplicationEvent) => onEvent(e, progress, log),
    });
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  } finally {
    clearInterval(watch);
    untrack?.();
    await seed?.close().catch(() => undefined);
  }
  if (controller.signal.aborted && !stopRequested && (!result || result.status === "failed")) {
    // Fenced out: the new holder reports this VM and resumes from the last point.
    await log.flush();
    throw new Error(`${row.name}: ${String((controller.signal.reason as Error)?.message ?? "aborted")}`);
  }
  let status: VmRunStatus = result ? result.status : "failed";
  error = result?.error ?? error;
  if (stopRequested && status === "failed") {
    status = "skipped";
    error = "stopped by a user while it ran; the replica keeps its last point";
  }
  const warnings = result?.warnings ?? [];
  const ok = result && result.state && result.point;
  const pointRows = ok ? await storePoint(replica.id, rjob.keyMode, result!, sessionId, !last?.pointId) : null;
  await db.replica.update({
    where: { id: replica.id },
    data: {
      lastRunAt: new Date(),
      lastRunStatus: status === "skipped" ? "failed" : status,
      lastRunError: error,
      warnings: JSON.stringify(warnings),
      // A failed run keeps the previous state; a failed first run has no replica VM any more.
      ...(ok
        ? { replicaVmExternalId: result!.state!.replicaVmExternalId, lastPointId: result!.state!.pointId, lastChangeIds: JSON.stringify(result!.state!.disks), keyId: result!.replicaKeyId }
        : !last?.pointId
          ? { replicaVmExternalId: result?.replicaVmExternalId ?? null, lastPointId: null, lastChangeIds: "[]" }
          : {}),
    },
  });
  Object.assign(progress, { status, error, warnings, pointId: result?.point?.id ?? null, keyIds: result?.replicaKeyId ? [result.replicaKeyId] : [], incremental: result ? result.disks.every((d) => d.incremental) && result.disks.length > 0 : null, endedAt: new Date().toISOString() });
  for (const d of progress.disks) d.rate = 0;
  if (error) log.say(`${row.name}: ${error}${last?.pointId ? "; the replica keeps its last point" : ""}`, status === "failed" ? "error" : "warning", vmExternalId);
  else log.say(`${row.name}: replica point ${result!.point!.id} created${pointRows?.removed ? `, ${pointRows.removed} old point(s) removed` : ""}.`, status === "warning" ? "warning" : "info", vmExternalId);
  await save({ state: status, endedAt: new Date() });
  await recordAuditEvent({
    actor: null,
    action: "replication.vm",
    objectType: "vm",
    objectId: vmExternalId,
    outcome: status === "failed" ? "failure" : "success",
    details: { session: sessionId, job: rjob.id, replica: result?.replicaVmExternalId ?? null, point: result?.point?.id ?? null, state: status, error, keyMode: rjob.keyMode, keyUsed: result?.replicaKeyId ?? null },
  });
  await log.flush();
  await syncInventoryFromPlatform().catch(() => undefined);
  await finishReplicationSession(sessionId);
}

function replicaNotReady(state: string): string {
  if (state === "Failover") return "the replica is failed over (in use at the DR site); undo the failover or make it permanent, then replication runs again";
  if (state === "PermanentFailover") return "the replica was made the production VM by a permanent failover; replication does not touch it";
  if (state === "Failback") return "the replica is failed back but the failback is not committed; commit it (replication then resumes from production) or undo it";
  return `the replica is ${state}; replication runs again once it is Ready`;
}

async function storePoint(replicaId: string, keyMode: string, r: ReplicationResult, sessionId: string, firstOfChain: boolean): Promise<{ removed: number }> {
  // A first point of a chain (a new replica after the job's keys or placement changed): the
  // previous replica VM was deleted with its points by this run, so their rows go too.
  if (firstOfChain) await db.replicaPoint.deleteMany({ where: { replicaId } });
  await db.replicaPoint.create({ data: { replicaId, snapshotId: r.point!.id, keyIds: JSON.stringify(r.replicaKeyId ? [r.replicaKeyId] : []), keyMode, sessionId, sourceChangeIds: JSON.stringify(r.state!.disks) } });
  const removed = r.removedPoints.length ? await db.replicaPoint.deleteMany({ where: { replicaId, snapshotId: { in: r.removedPoints } } }) : { count: 0 };
  return { removed: removed.count };
}

function onEvent(e: ReplicationEvent, progress: VmRunProgress, log: SessionEventWriter): void {
  if (e.type === "disk-planned" && e.side === "source") {
    const disk = progress.disks.find((d) => d.deviceKey === e.deviceKey);
    if (disk) Object.assign(disk, { proxy: e.proxyName, mode: e.mode, reason: e.reason });
  }
  if (e.type === "disk-progress") {
    const disk = progress.disks.find((d) => d.deviceKey === e.deviceKey);
    if (disk) Object.assign(disk, { bytesToRead: e.bytesToRead, bytesRead: e.bytesRead, bytesTransferred: e.bytesWritten, done: e.done });
    return; // progress goes to the VM row, not the log
  }
  const level = e.type === "warning" || e.type === "waiting" || (e.type === "check" && !e.ok) ? "warning" : e.type === "done" && e.status === "failed" ? "error" : "info";
  const text = e.type === "task-start" || e.type === "task-end" ? "" : e.text;
  log.event({ type: e.type, level, vmExternalId: progress.vmExternalId, text, data: e });
}
