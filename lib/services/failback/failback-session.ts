import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { enqueue } from "@/lib/jobs";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { FAILBACK_ACTION_LABELS, failbackRefusal, type FailbackAction } from "@/lib/services/failover/failover-rules";
import type { StoredFailbackDestination } from "./failback-destination";

// One failback action as a job (FBK-1): a session of kind "failback" on the replica's replication
// job (so no replication run or failover of that job overlaps it), one session VM (the replica), a
// FailoverItem saying what to do (with the checked destination), and the "failback" queue job — in
// one transaction with the audit record (SEC-4). The state rule is checked again inside the
// transaction, so two clicks cannot both pass it.

export interface FailbackRequest {
  action: FailbackAction;
  replicaId: string;
  destination: StoredFailbackDestination | null;
  reason: string;
}

export async function enqueueFailbackSession(actor: Actor, r: FailbackRequest): Promise<{ sessionId: string }> {
  return serializableTransaction(async (tx) => {
    const replica = await tx.replica.findUnique({ where: { id: r.replicaId }, include: { job: { select: { id: true, name: true } } } });
    if (!replica) throw new AppError("NOT_FOUND", "This replica does not exist (its job may have been removed).");
    const refusal = failbackRefusal(r.action, replica.state, replica.replicaVmName);
    if (refusal) throw new AppError("CONFLICT", refusal);
    if (!replica.replicaVmExternalId) throw new AppError("CONFLICT", `${replica.replicaVmName} has no replica VM.`);
    const busy = await tx.jobSession.findFirst({ where: { replicationJobId: replica.jobId, state: { in: ["queued", "running"] } }, select: { title: true, state: true } });
    if (busy) throw new AppError("CONFLICT", `${busy.title} is ${busy.state} on replication job ${replica.job.name}: wait for it to end, then try again.`);
    const label = FAILBACK_ACTION_LABELS[r.action];
    const s = await tx.jobSession.create({
      data: { kind: "failback", subject: `replication-job:${replica.jobId}`, title: `${label}: ${replica.replicaVmName}`, replicationJobId: replica.jobId, state: "running", startedAt: new Date(), trigger: "manual", requestedById: actor.id, reason: r.reason },
    });
    const progress: VmRunProgress = { vmExternalId: replica.replicaVmExternalId, vmId: null, name: `${replica.replicaVmName} → ${replica.sourceVmName}`, encrypted: replica.keyMode !== "unencrypted", status: "pending", incremental: null, pointId: replica.failoverPointId, keyIds: [], error: null, warnings: [], startedAt: null, endedAt: null, disks: [] };
    await tx.sessionVm.create({ data: { sessionId: s.id, position: 0, vmExternalId: replica.replicaVmExternalId, name: progress.name, progress: JSON.stringify(progress) } });
    await tx.failoverItem.create({ data: { sessionId: s.id, replicaId: replica.id, action: r.action, snapshotId: replica.failoverPointId, destination: r.destination ? JSON.stringify(r.destination) : null } });
    await enqueue(tx, { kind: "failback", payload: { sessionId: s.id }, singletonKey: `failback:${s.id}` });
    await recordAuditEvent(
      { actor, action: `failback.${r.action}.start`, objectType: "replica", objectId: replica.id, outcome: "success", details: { session: s.id, replica: replica.replicaVmName, replicaVm: replica.replicaVmExternalId, source: replica.sourceVmExternalId, job: replica.jobId, destination: r.destination, reason: r.reason } },
      tx,
    );
    return { sessionId: s.id };
  });
}
