import "server-only";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { failbackVm, type FailbackDestination, type FailbackEvent } from "@/lib/engine/pipeline/failback-vm";
import type { ReplicaKeyMode } from "@/lib/engine/pipeline/replicate-vm";
import { sessionPayload } from "@/lib/jobs/kinds";
import { processWorkerId } from "@/lib/jobs/process-id";
import { proxyTaskGate } from "@/lib/jobs/proxy-tasks";
import type { ClaimedJob } from "@/lib/jobs/queue";
import { SessionEventWriter } from "@/lib/jobs/session-events";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import type { ReplicaVmInput } from "@/lib/schemas/replication";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { candidateProxies, keyProviderNames } from "@/lib/services/backup/job-context";
import { FAILBACK_ACTION_LABELS, failbackRefusal, type FailbackAction } from "@/lib/services/failover/failover-rules";
import { failbackHosts } from "@/lib/services/inventory/platform";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import type { StoredFailbackDestination } from "./failback-destination";

// The "failback" job (FBK-1): one action on one replica, as its FailoverItem says, each step told
// in the session log. The state rule runs again here before anything is changed.
//  - failback: the replica (production at the DR site) is powered off, so nothing it writes after
//    the read is lost; failbackVm ships it to the destination (the original: only the changes;
//    a restored VM: the blocks that differ; a new VM: a full copy), per-disk progress in the
//    session; the failed-back VM is powered on at production → Failback (not committed yet).
//    A failure powers the replica on again: it stays production, state Failover.
//  - commit-failback: production is the source again → Ready. The original: the replica is
//    reverted to its failover point (the newest) and keeps the change ids that point was copied
//    up to, so the next replication run ships only the original's changes since (the failback's
//    writes among them: failback-vm.ts). A restored or new VM has no CBT history in common: the
//    replica (equal to it as failed back) gets a point, the job's source VM becomes that VM, and
//    the next run ships every block it holds ("*"), zeros included, over that point.
//  - undo-failback: the failed-back VM is powered off (a new one deleted), the replica powered on
//    again → Failover.

class Refused extends Error {}
type Say = (text: string, level?: "info" | "warning" | "error") => void;

export async function runFailback(job: ClaimedJob): Promise<void> {
  const { sessionId } = sessionPayload.parse(job.payload);
  const item = await db.failoverItem.findUnique({ where: { sessionId }, include: { replica: true } });
  const session = await db.jobSession.findUnique({ where: { id: sessionId } });
  const row = await db.sessionVm.findFirst({ where: { sessionId } });
  if (!item || !session || !row || session.state !== "running" || !["pending", "running"].includes(row.state)) return;
  const workerId = processWorkerId();
  const won = await db.sessionVm.updateMany({ where: { id: row.id, attempt: row.attempt }, data: { state: "running", attempt: row.attempt + 1, workerId, heartbeatAt: new Date(), startedAt: row.startedAt ?? new Date() } });
  if (won.count !== 1) return;
  const action = item.action as FailbackAction;
  const replica = item.replica;
  const vmId = replica.replicaVmExternalId!;
  const log = new SessionEventWriter(sessionId, workerId);
  const say: Say = (text, level = "info") => log.say(text, level, vmId);
  const progress: VmRunProgress = { ...(JSON.parse(row.progress) as VmRunProgress), status: "running", startedAt: (row.startedAt ?? new Date()).toISOString() };
  const started = performance.now();
  let error: string | null = null;
  let warned = false;
  let details: Record<string, unknown> = {};
  say(`${FAILBACK_ACTION_LABELS[action]} of ${replica.replicaVmName} (replica of ${replica.sourceVmName}) started.`);
  try {
    const refusal = failbackRefusal(action, (await db.replica.findUniqueOrThrow({ where: { id: replica.id } })).state, replica.replicaVmName);
    if (refusal) throw new Refused(refusal);
    if (action === "failback") {
      const r = await failback(sessionId, item.replicaId, JSON.parse(item.destination ?? "null") as StoredFailbackDestination, progress, log, say, row.id);
      details = r.details;
      warned = r.warned;
    } else if (action === "commit-failback") details = await commit(sessionId, item.replicaId, say);
    else details = await undo(item.replicaId, say);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    say(e instanceof Refused ? error : `${FAILBACK_ACTION_LABELS[action]} failed: ${error}`, "error");
  }
  const seconds = (performance.now() - started) / 1000;
  const status = error ? "failed" : warned ? "warning" : "success";
  Object.assign(progress, { status, error, endedAt: new Date().toISOString() });
  for (const d of progress.disks) d.rate = 0;
  await db.sessionVm.update({ where: { id: row.id }, data: { state: status, progress: JSON.stringify(progress), endedAt: new Date() } });
  log.say(error ? `Finished: Failed in ${seconds.toFixed(1)} s — ${replica.replicaVmName} is left ${action === "failback" ? "failed over (production at the DR site)" : "failed back, not committed"}.` : `Finished: ${status === "warning" ? "Warning" : "Success"} in ${seconds.toFixed(1)} s.`, error ? "error" : "info");
  await log.flush();
  await db.jobSession.update({ where: { id: sessionId }, data: { state: status, error, endedAt: new Date() } });
  await recordAuditEvent({
    actor: null,
    action: `failback.${action}`,
    objectType: "replica",
    objectId: replica.id,
    outcome: error ? "failure" : "success",
    details: { session: sessionId, replica: replica.replicaVmName, replicaVm: vmId, source: replica.sourceVmExternalId, job: replica.jobId, error, seconds: Number(seconds.toFixed(2)), ...details },
  });
  await syncInventoryFromPlatform().catch(() => undefined);
}

async function failback(sessionId: string, replicaId: string, stored: StoredFailbackDestination, progress: VmRunProgress, log: SessionEventWriter, say: Say, sessionVmId: string): Promise<{ details: Record<string, unknown>; warned: boolean }> {
  const replica = await db.replica.findUniqueOrThrow({ where: { id: replicaId }, include: { job: true } });
  if (!stored) throw new Refused("The failback session has no destination: start the failback again.");
  if (!replica.failoverPointId) throw new Refused(`${replica.replicaVmName} does not record the point it was failed over to: it cannot be failed back.`);
  const hosts = failbackHosts();
  const replicaVmId = replica.replicaVmExternalId!;
  const inv = await hosts.destination.inventory();
  const replicaVm = inv.vms.find((v) => v.externalId === replicaVmId);
  if (!replicaVm) throw new Refused(`The replica VM ${replica.replicaVmName} is not at the DR site any more: nothing was changed.`);
  const failoverPoint = (await hosts.replica.listSnapshots(replicaVmId)).find((p) => p.id === replica.failoverPointId);
  if (!failoverPoint) throw new Refused(`${replica.replicaVmName} no longer has its failover point ${replica.failoverPointId}: nothing was changed.`);
  let destination: FailbackDestination;
  if (stored.kind === "new-vm") destination = { kind: "new-vm", placement: stored.placement };
  else {
    const vm = inv.vms.find((v) => v.externalId === stored.vmExternalId);
    if (!vm) throw new Refused(`The VM ${stored.vmExternalId} is not at the production site any more: nothing was changed; fail back to a new location.`);
    if (stored.kind === "restored-vm") destination = { kind: "restored-vm", vm };
    else {
      // The state the failover point replicated: the original's change ids of that run (failback-vm.ts).
      const point = await db.replicaPoint.findUnique({ where: { replicaId_snapshotId: { replicaId, snapshotId: replica.failoverPointId } } });
      const changeIds = point?.sourceChangeIds ? (JSON.parse(point.sourceChangeIds) as Array<{ deviceKey: number; changeId: string }>) : null;
      destination = { kind: "original", vm, changeIds: changeIds && changeIds.length ? changeIds : null };
    }
  }
  progress.disks = replicaVm.disks.map((d) => ({ deviceKey: d.deviceKey, label: d.label, encrypted: d.encrypted, bytesToRead: d.capacityBytes, bytesRead: 0, bytesTransferred: 0, rate: 0, done: false, proxy: null, mode: null, reason: null }));
  // The replica is production until the failback completes: powered off now, so it is read whole and nothing written after is lost.
  let replicaWasOn = false;
  if ((await hosts.replica.vmRuntime(replicaVmId)).powerState !== "poweredOff") {
    await hosts.replica.powerOff(replicaVmId);
    replicaWasOn = true;
    say(`${replica.replicaVmName} powered off at the DR site: everything it wrote is failed back.`);
  }
  const [proxies, names] = await Promise.all([candidateProxies(), keyProviderNames()]);
  const manual = replica.job.proxyMode === "manual" ? new Set(JSON.parse(replica.job.proxyIds) as string[]) : null;
  const selection = { proxies: manual ? proxies.filter((p) => manual.has(p.id)).map((p) => p.externalId) : ("automatic" as const), failoverToNetwork: true, keyProviderNames: names };
  const destinationSite = stored.kind === "new-vm" ? stored.placement.siteExternalId : destination.kind !== "new-vm" ? destination.vm.siteExternalId : "";
  let lastSave = 0;
  const saveProgress = async (force = false) => {
    if (!force && Date.now() - lastSave < 500) return;
    lastSave = Date.now();
    await db.sessionVm.update({ where: { id: sessionVmId }, data: { progress: JSON.stringify(progress), heartbeatAt: new Date() } });
  };
  const result = await failbackVm({
    replicaHost: hosts.replica,
    replicaVm,
    failoverPoint,
    destinationHost: hosts.destination,
    destination,
    keyMode: replica.keyMode as ReplicaKeyMode,
    replicaProxies: proxies.filter((p) => p.siteExternalId === replicaVm.siteExternalId),
    destinationProxies: proxies.filter((p) => p.siteExternalId === destinationSite),
    replicaSelection: selection,
    destinationSelection: selection,
    tasks: proxyTaskGate({ sessionId, workerId: processWorkerId() }),
    progressIntervalMs: 250,
    onEvent: (e) => {
      onEvent(e, progress, log, replicaVmId);
      if (e.type === "disk-progress" || e.type === "disk-done") void saveProgress(e.type === "disk-done").catch(() => undefined);
    },
  });
  await saveProgress(true);
  if (result.status === "failed") {
    if (replicaWasOn) {
      await hosts.replica.powerOn(replicaVmId).then(
        () => say(`${replica.replicaVmName} powered on again at the DR site: it stays production.`, "warning"),
        (err: unknown) => say(`${replica.replicaVmName} could not be powered on again (${err instanceof Error ? err.message : String(err)}): power it on by hand.`, "error"),
      );
    }
    throw new Error(result.error ?? "the failback did not complete");
  }
  const backVmId = result.vmExternalId!;
  const changesOnly = result.disks.every((d) => d.changesOnly);
  say(`${result.blocksShipped} block(s) shipped${changesOnly ? " (changes only)" : stored.kind === "new-vm" ? " (a full copy)" : ""}; ${result.keyId ? `the failed-back VM is keyed with ${result.keyId}${result.keyProviderExternalId ? ` of ${result.keyProviderExternalId}` : ""}` : "the failed-back VM is unencrypted, as its source was"}.`);
  await hosts.destination.powerOn(backVmId);
  say(`The failed-back VM (${backVmId}) powered on at the production site. Commit the failback to make it production for good, or undo it.`);
  await db.replica.update({ where: { id: replicaId }, data: { state: "Failback", failbackVmExternalId: backVmId, failbackKind: stored.kind, failbackAt: new Date(), failbackSessionId: sessionId } });
  return {
    warned: result.status === "warning",
    details: { destination: stored.kind, failedBackVm: backVmId, blocksShipped: result.blocksShipped, changesOnly, keyProvider: result.keyProviderExternalId, keyId: result.keyId, disks: result.disks.map((d) => ({ deviceKey: d.deviceKey, blocksShipped: d.blocksShipped, changesOnly: d.changesOnly })) },
  };
}

async function commit(sessionId: string, replicaId: string, say: Say): Promise<Record<string, unknown>> {
  const replica = await db.replica.findUniqueOrThrow({ where: { id: replicaId } });
  const hosts = failbackHosts();
  const replicaVmId = replica.replicaVmExternalId!;
  const backVmId = replica.failbackVmExternalId;
  if (!backVmId || !replica.failoverPointId) throw new Refused(`${replica.replicaVmName} does not record where it was failed back to: nothing was changed.`);
  const inv = await hosts.destination.inventory();
  const back = inv.vms.find((v) => v.externalId === backVmId);
  if (!back) throw new Refused(`The failed-back VM ${backVmId} is not at the production site any more: undo the failback instead.`);
  if ((await hosts.replica.vmRuntime(replicaVmId)).powerState !== "poweredOff") {
    await hosts.replica.powerOff(replicaVmId);
    say(`${replica.replicaVmName} powered off at the DR site.`);
  }
  if (replica.failbackKind === "original") {
    const points = await hosts.replica.listSnapshots(replicaVmId);
    if (points.at(-1)?.id !== replica.failoverPointId) throw new Refused(`${replica.replicaVmName}'s newest point is not its failover point: nothing was changed.`);
    await hosts.replica.revertToSnapshot(replicaVmId, replica.failoverPointId);
    const point = await db.replicaPoint.findUnique({ where: { replicaId_snapshotId: { replicaId, snapshotId: replica.failoverPointId } } });
    const ids = point?.sourceChangeIds ? (JSON.parse(point.sourceChangeIds) as Array<{ deviceKey: number; changeId: string }>) : [];
    // Unknown ids: every block the original holds is shipped over the point, zeros included.
    const lastChangeIds = back.disks.map((d) => ({ deviceKey: d.deviceKey, changeId: ids.find((x) => x.deviceKey === d.deviceKey)?.changeId ?? "*" }));
    await db.replica.update({ where: { id: replicaId }, data: { ...cleared, lastPointId: replica.failoverPointId, lastChangeIds: JSON.stringify(lastChangeIds) } });
    say(`${replica.replicaVmName} reverted to its failover point: the next replication ships only what ${back.name} changed since that point was made (the failback's writes among them).`);
    say(`${back.name} is production again; ${replica.replicaVmName} is Ready.`);
    return { committed: back.externalId, destination: "original", resumeFrom: replica.failoverPointId };
  }
  // A restored or new VM: the replica as failed back (powered off since) becomes a point; the next run
  // ships every block the new source holds over it, zeros included.
  const point = await hosts.replica.createSnapshot(replicaVmId, `Failback commit ${new Date().toISOString()}`);
  const lastChangeIds = back.disks.map((d) => ({ deviceKey: d.deviceKey, changeId: "*" }));
  await serializableTransaction(async (tx) => {
    const job = await tx.replicationJob.findUniqueOrThrow({ where: { id: replica.jobId } });
    const vmIds = (JSON.parse(job.vmExternalIds) as string[]).map((id) => (id === replica.sourceVmExternalId ? back.externalId : id));
    const placements = JSON.parse(job.placements) as Record<string, ReplicaVmInput & { sourceVmName?: string }>;
    const entry = placements[replica.sourceVmExternalId];
    delete placements[replica.sourceVmExternalId];
    if (entry) placements[back.externalId] = { ...entry, vmExternalId: back.externalId, sourceVmName: back.name };
    await tx.replicationJob.update({ where: { id: job.id }, data: { vmExternalIds: JSON.stringify(vmIds), placements: JSON.stringify(placements) } });
    await tx.replicaPoint.create({ data: { replicaId, snapshotId: point.id, keyIds: JSON.stringify(replica.keyId ? [replica.keyId] : []), keyMode: replica.keyMode, sessionId, sourceChangeIds: JSON.stringify(lastChangeIds) } });
    await tx.replica.update({ where: { id: replicaId }, data: { ...cleared, sourceVmExternalId: back.externalId, sourceVmName: back.name, sourceEncrypted: back.encrypted, lastPointId: point.id, lastChangeIds: JSON.stringify(lastChangeIds) } });
  });
  say(`${back.name} is the replication job's source VM now, in place of ${replica.sourceVmName}; ${replica.replicaVmName} kept as failed back (point ${point.id}) and Ready.`);
  say(`${back.name} shares no change history with the replica: the next replication ships every block it holds.`, "warning");
  return { committed: back.externalId, destination: replica.failbackKind, newSource: back.externalId, previousSource: replica.sourceVmExternalId, point: point.id };
}

const cleared = { state: "Ready", failoverPointId: null, failoverAt: null, failoverSessionId: null, failbackVmExternalId: null, failbackKind: null, failbackAt: null, failbackSessionId: null };

async function undo(replicaId: string, say: Say): Promise<Record<string, unknown>> {
  const replica = await db.replica.findUniqueOrThrow({ where: { id: replicaId } });
  const hosts = failbackHosts();
  const replicaVmId = replica.replicaVmExternalId!;
  const backVmId = replica.failbackVmExternalId;
  let deleted = false;
  if (backVmId) {
    const rt = await hosts.destination.vmRuntime(backVmId).catch(() => null);
    if (rt && rt.powerState !== "poweredOff") {
      await hosts.destination.powerOff(backVmId);
      say(`The failed-back VM ${backVmId} powered off at the production site.`);
    }
    if (rt && replica.failbackKind === "new-vm") {
      await hosts.destination.deleteVm(backVmId);
      deleted = true;
      say(`The VM the failback made (${backVmId}) is deleted.`);
    }
  }
  if ((await hosts.replica.vmRuntime(replicaVmId)).powerState === "poweredOff") {
    await hosts.replica.powerOn(replicaVmId);
    say(`${replica.replicaVmName} powered on again at the DR site: it is production again.`);
  }
  await db.replica.update({ where: { id: replicaId }, data: { state: "Failover", failbackVmExternalId: null, failbackKind: null, failbackAt: null, failbackSessionId: null } });
  say(`${replica.replicaVmName} is failed over again; fail it back again when production is ready.`);
  return { failedBackVm: backVmId, deleted };
}

function onEvent(e: FailbackEvent, progress: VmRunProgress, log: SessionEventWriter, replicaVmId: string): void {
  if (e.type === "disk-planned" && e.side === "replica") {
    const disk = progress.disks.find((d) => d.deviceKey === e.deviceKey);
    if (disk) Object.assign(disk, { proxy: e.proxyName, mode: e.mode, reason: e.reason });
  }
  if (e.type === "disk-progress") {
    const disk = progress.disks.find((d) => d.deviceKey === e.deviceKey);
    if (disk) Object.assign(disk, { bytesToRead: e.bytesToRead, bytesRead: e.bytesRead, bytesTransferred: e.bytesWritten, done: e.done });
    return;
  }
  if (e.type === "disk-done") {
    const disk = progress.disks.find((d) => d.deviceKey === e.deviceKey);
    if (disk) disk.done = true;
  }
  if (e.type === "warning") progress.warnings.push(e.text);
  const level = e.type === "warning" || e.type === "waiting" || (e.type === "check" && !e.ok) ? "warning" : e.type === "done" && e.status === "failed" ? "error" : "info";
  const text = e.type === "task-start" || e.type === "task-end" ? "" : e.text;
  log.event({ type: e.type, level, vmExternalId: replicaVmId, text, data: e });
}
