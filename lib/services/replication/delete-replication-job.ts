import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db, type DbTx } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { replicationHosts } from "@/lib/services/inventory/platform";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import { activeReplicationSession } from "./run-replication-job";

// Deletes a replication job (job:manage): refused while one of its sessions is queued or running
// (stop it first). The job goes with its Replica rows, their points and its sessions; pending
// approval requests about it are cancelled. The replica VMs at the target are KEPT — they are
// whole VMs, possibly the only copy at the DR site — unless the caller asks to delete them too:
// then each is deleted through the platform connector (deleteVm) first — never a replica in
// failover, which may be running as the VM at the DR site — and a replica the platform refuses to
// delete keeps the job in place, with the replicas already deleted forgotten, so nothing points at
// a VM that no longer exists. Audited.

export const deleteReplicationJobSchema = z.object({
  jobId: z.string().trim().min(1).max(64),
  deleteReplicaVms: z.union([z.boolean(), z.enum(["true", "false", "on"]).transform((v) => v !== "false")]).default(false),
});

export interface DeleteReplicationJobResult {
  name: string;
  /** Replica VMs deleted at the target. */
  deletedVms: string[];
  /** Replica VMs left at the target. */
  keptVms: string[];
}

export async function deleteReplicationJob(actor: Actor, raw: z.input<typeof deleteReplicationJobSchema>): Promise<DeleteReplicationJobResult> {
  authorize(actor, "job:manage");
  const { jobId, deleteReplicaVms } = parseInput(deleteReplicationJobSchema, raw);
  const job = await db.replicationJob.findUnique({ where: { id: jobId }, include: { replicas: { select: { id: true, replicaVmExternalId: true, replicaVmName: true, state: true } } } });
  if (!job) throw new AppError("NOT_FOUND", "This replication job does not exist (it may have been removed).");
  const refuseBusy = async (tx: DbTx) => {
    const active = await activeReplicationSession(tx, jobId);
    if (active) throw new AppError("CONFLICT", `Replication job ${job.name} is ${active.state}: stop its session first (Sessions), then delete the job.`);
  };
  await refuseBusy(db);
  const withVm = job.replicas.filter((r) => r.replicaVmExternalId);
  const live = withVm.find((r) => r.state !== "Ready");
  if (deleteReplicaVms && live) {
    throw new AppError("CONFLICT", `The replica ${live.replicaVmName} is failed over (it may be running as the VM at the DR site): it is not deleted with the job. Finish or undo the failover first, or delete the job and keep its replicas.`);
  }
  const deletedVms: string[] = [];
  const deletedIds: string[] = [];
  if (deleteReplicaVms) {
    const { target } = replicationHosts();
    for (const r of withVm) {
      try {
        await target.deleteVm(r.replicaVmExternalId!);
      } catch (e) {
        // Forget the ones already gone (and their points), keep the job: the caller can try again.
        if (deletedIds.length) {
          await db.replicaPoint.deleteMany({ where: { replicaId: { in: deletedIds } } });
          await db.replica.updateMany({ where: { id: { in: deletedIds } }, data: { replicaVmExternalId: null, lastPointId: null, lastChangeIds: "[]", keyId: null } });
        }
        const message = `The replica ${r.replicaVmName} could not be deleted at the target: ${e instanceof Error ? e.message : String(e)}. The job was not deleted${deletedVms.length ? ` (the replicas ${deletedVms.join(", ")} were)` : ""}. Fix it, or delete the job and keep its replicas.`;
        await recordAuditEvent({ actor, action: "replication-job.delete", objectType: "replication-job", objectId: jobId, outcome: "failure", details: { name: job.name, deletedVms, failedVm: r.replicaVmExternalId, error: message } });
        throw new AppError("CONFLICT", message);
      }
      deletedVms.push(r.replicaVmName);
      deletedIds.push(r.id);
    }
    await syncInventoryFromPlatform().catch(() => undefined);
  }
  const keptVms = deleteReplicaVms ? [] : withVm.map((r) => `${r.replicaVmName} (${r.replicaVmExternalId})`);
  await serializableTransaction(async (tx) => {
    await refuseBusy(tx);
    await tx.approvalRequest.updateMany({ where: { objectType: "replication-job", objectId: jobId, state: "pending" }, data: { state: "cancelled", decidedAt: new Date() } });
    await tx.replicationJob.delete({ where: { id: jobId } });
    await recordAuditEvent(
      { actor, action: "replication-job.delete", objectType: "replication-job", objectId: jobId, outcome: "success", details: { name: job.name, replicas: job.replicas.length, deleteReplicaVms, deletedVms, replicaVmsKeptAtTarget: keptVms } },
      tx,
    );
  });
  return { name: job.name, deletedVms, keptVms };
}
