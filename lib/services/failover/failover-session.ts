import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { enqueue } from "@/lib/jobs";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import type { NetworkChoice } from "@/lib/platform/network-mapping";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { FAILOVER_ACTION_LABELS, failoverRefusal, type FailoverAction } from "./failover-rules";

// One failover action as a job (FOV-1): a session of kind "failover" on the replica's replication
// job (so a replication run and a failover of the same job never overlap: either refuses while the
// other is queued or running), one session VM (the replica), a FailoverItem saying what to do,
// and the "failover" queue job — in one transaction with the audit record (SEC-4). The state rule
// is checked again inside the transaction, so two clicks cannot both pass it.

export interface FailoverRequest {
  action: FailoverAction;
  replicaId: string;
  /** The point failed over to; for undo, the failover point. */
  snapshotId: string | null;
  networks: NetworkChoice[];
  reason: string;
}

export async function enqueueFailoverSession(actor: Actor, r: FailoverRequest): Promise<{ sessionId: string }> {
  return serializableTransaction(async (tx) => {
    const replica = await tx.replica.findUnique({ where: { id: r.replicaId }, include: { job: { select: { id: true, name: true } } } });
    if (!replica) throw new AppError("NOT_FOUND", "This replica does not exist (its job may have been removed).");
    const refusal = failoverRefusal(r.action, replica.state, replica.replicaVmName);
    if (refusal) throw new AppError("CONFLICT", refusal);
    if (!replica.replicaVmExternalId) throw new AppError("CONFLICT", `${replica.replicaVmName} has no replica VM yet: run its replication job first.`);
    const busy = await tx.jobSession.findFirst({ where: { replicationJobId: replica.jobId, state: { in: ["queued", "running"] } }, select: { title: true, state: true } });
    if (busy) throw new AppError("CONFLICT", `${busy.title} is ${busy.state} on replication job ${replica.job.name}: wait for it to end, then try again.`);
    const label = FAILOVER_ACTION_LABELS[r.action];
    const s = await tx.jobSession.create({
      data: { kind: "failover", subject: `replication-job:${replica.jobId}`, title: `${label}: ${replica.replicaVmName}`, replicationJobId: replica.jobId, state: "running", startedAt: new Date(), trigger: "manual", requestedById: actor.id, reason: r.reason },
    });
    const progress: VmRunProgress = { vmExternalId: replica.replicaVmExternalId, vmId: null, name: `${replica.sourceVmName} → ${replica.replicaVmName}`, encrypted: replica.keyMode !== "unencrypted", status: "pending", incremental: null, pointId: r.snapshotId, keyIds: [], error: null, warnings: [], startedAt: null, endedAt: null, disks: [] };
    await tx.sessionVm.create({ data: { sessionId: s.id, position: 0, vmExternalId: replica.replicaVmExternalId, name: progress.name, progress: JSON.stringify(progress) } });
    await tx.failoverItem.create({ data: { sessionId: s.id, replicaId: replica.id, action: r.action, snapshotId: r.snapshotId, networks: JSON.stringify(r.networks) } });
    await enqueue(tx, { kind: "failover", payload: { sessionId: s.id }, singletonKey: `failover:${s.id}` });
    await recordAuditEvent(
      { actor, action: `failover.${r.action}.start`, objectType: "replica", objectId: replica.id, outcome: "success", details: { session: s.id, replica: replica.replicaVmName, replicaVm: replica.replicaVmExternalId, source: replica.sourceVmExternalId, job: replica.jobId, point: r.snapshotId, reason: r.reason } },
      tx,
    );
    return { sessionId: s.id };
  });
}
