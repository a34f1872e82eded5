import "server-only";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { sessionPayload } from "@/lib/jobs/kinds";
import { processWorkerId } from "@/lib/jobs/process-id";
import type { ClaimedJob } from "@/lib/jobs/queue";
import { SessionEventWriter } from "@/lib/jobs/session-events";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import { HostError } from "@/lib/platform/errors";
import type { NetworkChoice } from "@/lib/platform/network-mapping";
import type { ReplicaVmInput } from "@/lib/schemas/replication";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { failoverHost } from "@/lib/services/inventory/platform";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import { planFailover } from "./check-failover";
import { syncReplica } from "./sync-replica";
import { FAILOVER_ACTION_LABELS, failoverRefusal, type FailoverAction } from "./failover-rules";

// The "failover" job (FOV-1): one action on one replica, as its FailoverItem says, with the
// session log telling each step. The state rule and (for failover now) the whole pre-failover
// check run again here before anything is changed; a failure leaves the replica in its state.
//  - failover: revert to the point (newer points go), connect the networks, power on → Failover.
//  - planned: a sync while the source runs, the source powered off, a final sync, then failover
//    to the final sync's point (nothing the source wrote is lost); a failure powers the source on again.
//  - undo: power off, revert to the failover point (the guest's writes are gone) → Ready.
//  - permanent: remove every point of the running replica (committed), drop the source VM from
//    the replication job → PermanentFailover.

class Refused extends Error {}


export async function runFailover(job: ClaimedJob): Promise<void> {
  const { sessionId } = sessionPayload.parse(job.payload);
  const item = await db.failoverItem.findUnique({ where: { sessionId }, include: { replica: true } });
  const session = await db.jobSession.findUnique({ where: { id: sessionId } });
  const row = await db.sessionVm.findFirst({ where: { sessionId } });
  if (!item || !session || !row || session.state !== "running" || !["pending", "running"].includes(row.state)) return;
  const workerId = processWorkerId();
  const won = await db.sessionVm.updateMany({ where: { id: row.id, attempt: row.attempt }, data: { state: "running", attempt: row.attempt + 1, workerId, heartbeatAt: new Date(), startedAt: row.startedAt ?? new Date() } });
  if (won.count !== 1) return;
  const action = item.action as FailoverAction;
  const replica = item.replica;
  const vmId = replica.replicaVmExternalId!;
  const log = new SessionEventWriter(sessionId, workerId);
  const say = (text: string, level: "info" | "warning" | "error" = "info") => log.say(text, level, vmId);
  const started = performance.now();
  let error: string | null = null;
  let details: Record<string, unknown> = {};
  say(`${FAILOVER_ACTION_LABELS[action]} of ${replica.replicaVmName} (replica of ${replica.sourceVmName}) started.`);
  try {
    const refusal = failoverRefusal(action, (await db.replica.findUniqueOrThrow({ where: { id: replica.id } })).state, replica.replicaVmName);
    if (refusal) throw new Refused(refusal);
    if (action === "failover") details = await failoverNow(sessionId, item.replicaId, item.snapshotId!, JSON.parse(item.networks) as NetworkChoice[], say, started);
    else if (action === "planned") details = await planned(sessionId, session.requestedById, item.replicaId, JSON.parse(item.networks) as NetworkChoice[], say, started);
    else if (action === "undo") details = await undo(item.replicaId, say);
    else details = await makePermanent(item.replicaId, say);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    say(e instanceof Refused ? error : `${FAILOVER_ACTION_LABELS[action]} failed: ${error}`, "error");
  }
  const seconds = (performance.now() - started) / 1000;
  const status = error ? "failed" : "success";
  const progress: VmRunProgress = { ...(JSON.parse(row.progress) as VmRunProgress), status, error, startedAt: (row.startedAt ?? new Date()).toISOString(), endedAt: new Date().toISOString() };
  await db.sessionVm.update({ where: { id: row.id }, data: { state: status, progress: JSON.stringify(progress), endedAt: new Date() } });
  log.say(error ? `Finished: Failed in ${seconds.toFixed(1)} s — ${replica.replicaVmName} is left ${stateAfterFailure(action)}.` : `Finished: Success in ${seconds.toFixed(1)} s.`, error ? "error" : "info");
  await log.flush();
  await db.jobSession.update({ where: { id: sessionId }, data: { state: status, error, endedAt: new Date() } });
  await recordAuditEvent({
    actor: null,
    action: `failover.${action}`,
    objectType: "replica",
    objectId: replica.id,
    outcome: error ? "failure" : "success",
    details: { session: sessionId, replica: replica.replicaVmName, replicaVm: vmId, source: replica.sourceVmExternalId, job: replica.jobId, point: item.snapshotId, error, seconds: Number(seconds.toFixed(2)), ...details },
  });
  await syncInventoryFromPlatform().catch(() => undefined);
}

function stateAfterFailure(action: FailoverAction): string {
  return action === "failover" || action === "planned" ? "Ready (powered off)" : "failed over";
}

async function planned(sessionId: string, requestedById: string | null, replicaId: string, networks: NetworkChoice[], say: (t: string, l?: "info" | "warning" | "error") => void, started: number): Promise<Record<string, unknown>> {
  const replica = await db.replica.findUniqueOrThrow({ where: { id: replicaId }, include: { job: { select: { id: true, name: true } } } });
  const host = failoverHost();
  const source = (await host.inventory()).vms.find((v) => v.externalId === replica.sourceVmExternalId);
  if (!source) throw new Refused(`${replica.sourceVmName} is not in the inventory (the production site may be down): nothing was changed; use failover now instead.`);
  const sync = async (why: string) => {
    const r = await syncReplica({ jobId: replica.job.id, jobName: replica.job.name, sourceVm: source, replicaVmName: replica.replicaVmName, requestedById, why });
    const vm = await db.sessionVm.findFirst({ where: { sessionId: r.sessionId }, select: { state: true, progress: true } });
    const ok = vm && ["success", "warning"].includes(vm.state);
    return { ...r, ok, error: ok ? null : ((vm && (JSON.parse(vm.progress) as VmRunProgress).error) ?? r.error ?? `the replication ended ${r.state}`) };
  };
  say(`Sync 1 of 2 while ${source.name} runs…`);
  const first = await sync("planned failover: sync while the source runs");
  if (!first.ok) throw new Error(`the first sync failed (${first.error}); nothing else was changed and ${source.name} keeps running`);
  say(`Sync 1 done (session ${first.sessionId}).`);
  let poweredOff = false;
  try {
    if ((await host.vmRuntime(source.externalId)).powerState === "poweredOn") {
      await host.powerOff(source.externalId);
      poweredOff = true;
      say(`${source.name} powered off at the production site: nothing it writes can be lost now.`);
    } else say(`${source.name} was already powered off.`, "warning");
    say("Final sync (the source is off)…");
    const last = await sync("planned failover: final sync, the source powered off");
    if (!last.ok) throw new Error(`the final sync failed (${last.error})`);
    say(`Final sync done (session ${last.sessionId}): the replica holds everything ${source.name} wrote.`);
    const newest = await db.replicaPoint.findFirst({ where: { replicaId }, orderBy: { createdAt: "desc" } });
    if (!newest) throw new Error("the final sync left no replica point");
    const details = await failoverNow(sessionId, replicaId, newest.snapshotId, networks, say, started);
    return { ...details, syncs: [first.sessionId, last.sessionId], sourcePoweredOff: poweredOff, dataLost: "none" };
  } catch (e) {
    if (poweredOff) {
      await host.powerOn(source.externalId).then(
        () => say(`${source.name} powered on again at the production site: the planned failover did not complete.`, "warning"),
        (err: unknown) => say(`${source.name} could not be powered on again (${err instanceof Error ? err.message : String(err)}): power it on by hand.`, "error"),
      );
    }
    throw e;
  }
}

async function failoverNow(sessionId: string, replicaId: string, snapshotId: string, networks: NetworkChoice[], say: (t: string, l?: "info" | "warning" | "error") => void, started: number): Promise<Record<string, unknown>> {
  const point = await db.replicaPoint.findUnique({ where: { replicaId_snapshotId: { replicaId, snapshotId } } });
  if (!point) throw new Refused(`The point ${snapshotId} no longer exists on this replica: choose another point.`);
  say("Pre-failover check, again before anything changes…");
  const plan = await planFailover(replicaId, point.id);
  for (const n of plan.notes) say(`Check: ${n}`);
  if (!plan.go) {
    for (const r of plan.reasons) say(`Check: ${r}`, "error");
    throw new Refused(`The pre-failover check says no-go: ${plan.reasons.join(" ")} Nothing was changed.`);
  }
  say("Check: go.");
  const host = failoverHost();
  const vmId = plan.replicaVmExternalId!;
  await host.revertToSnapshot(vmId, snapshotId);
  say(`Reverted ${plan.replicaVmName} to its point of ${point.createdAt.toISOString()} (${snapshotId}).`);
  if (plan.newerSnapshotIds.length) {
    // The platform removed the newer points; the next replication resumes from this one, incrementally from the source change
    // ids it was copied up to. A point from before those were kept gives none: the next run copies every written block.
    await db.replicaPoint.deleteMany({ where: { replicaId, snapshotId: { in: plan.newerSnapshotIds } } });
    await db.replica.update({ where: { id: replicaId }, data: { lastPointId: snapshotId, lastChangeIds: point.sourceChangeIds ?? "[]" } });
    if (!point.sourceChangeIds) say("This point does not record the source's change ids: the next replication copies every written block.", "warning");
    say(`${plan.newerSnapshotIds.length} newer point(s) removed.`, "warning");
  }
  const vm = await host.vmRuntime(vmId);
  if (vm.nics.length) {
    await host.setNetworks(vmId, networks);
    say(`Networks connected as the job maps them (${networks.filter((n) => n.networkExternalId).length} of ${vm.nics.length} adapter(s) connected).`);
  }
  try {
    await host.powerOn(vmId);
  } catch (e) {
    if (e instanceof HostError && e.code === "KeyProviderUnavailable") throw new Error(`the DR site could not get the replica's keys to power it on (${e.message}); it stays at the point, powered off`);
    throw e;
  }
  const toPoweredOn = (performance.now() - started) / 1000;
  say(`${plan.replicaVmName} powered on at the DR site ${toPoweredOn.toFixed(1)} s after the action. The source VM is left as it is.`);
  await db.replica.update({ where: { id: replicaId }, data: { state: "Failover", failoverPointId: snapshotId, failoverAt: new Date(), failoverSessionId: sessionId } });
  return { secondsToPoweredOn: Number(toPoweredOn.toFixed(2)), newerPointsRemoved: plan.newerSnapshotIds.length };
}

async function undo(replicaId: string, say: (t: string, l?: "info" | "warning" | "error") => void): Promise<Record<string, unknown>> {
  const replica = await db.replica.findUniqueOrThrow({ where: { id: replicaId } });
  const host = failoverHost();
  const vmId = replica.replicaVmExternalId!;
  if (!replica.failoverPointId) throw new Refused(`${replica.replicaVmName} does not record the point it was failed over to: revert it by hand at the DR site.`);
  if ((await host.vmRuntime(vmId)).powerState !== "poweredOff") {
    await host.powerOff(vmId);
    say(`${replica.replicaVmName} powered off.`);
  }
  await host.revertToSnapshot(vmId, replica.failoverPointId);
  say(`Reverted to the failover point ${replica.failoverPointId}: everything written on ${replica.replicaVmName} since the failover is discarded.`);
  await db.replica.update({ where: { id: replicaId }, data: { state: "Ready", failoverPointId: null, failoverAt: null, failoverSessionId: null } });
  say(`${replica.replicaVmName} is Ready: replication may run again.`);
  return { revertedTo: replica.failoverPointId };
}

async function makePermanent(replicaId: string, say: (t: string, l?: "info" | "warning" | "error") => void): Promise<Record<string, unknown>> {
  const replica = await db.replica.findUniqueOrThrow({ where: { id: replicaId } });
  const host = failoverHost();
  const vmId = replica.replicaVmExternalId!;
  const points = await host.listSnapshots(vmId);
  // Oldest first: each removal then only drops an undo extent, nothing is merged.
  for (const p of points) await host.removeSnapshot(vmId, p.id);
  say(`${points.length} replica point(s) of ${replica.replicaVmName} committed: the VM keeps running on what it holds now.`);
  await serializableTransaction(async (tx) => {
    const job = await tx.replicationJob.findUniqueOrThrow({ where: { id: replica.jobId } });
    const vmIds = (JSON.parse(job.vmExternalIds) as string[]).filter((id) => id !== replica.sourceVmExternalId);
    const placements = JSON.parse(job.placements) as Record<string, ReplicaVmInput>;
    delete placements[replica.sourceVmExternalId];
    await tx.replicationJob.update({ where: { id: job.id }, data: { vmExternalIds: JSON.stringify(vmIds), placements: JSON.stringify(placements) } });
    await tx.replicaPoint.deleteMany({ where: { replicaId } });
    await tx.replica.update({ where: { id: replicaId }, data: { state: "PermanentFailover", lastPointId: null, lastChangeIds: "[]", failoverPointId: null } });
  });
  say(`${replica.sourceVmName} is no longer in the replication job: ${replica.replicaVmName} is the production VM now, and replication never touches it again.`);
  return { pointsCommitted: points.length };
}
