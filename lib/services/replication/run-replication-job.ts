import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import type { DbTx } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { enqueue } from "@/lib/jobs";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import { replicationJobIdSchema, type StoredReplicaVm } from "@/lib/schemas/replication";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "@/lib/services/inventory/platform";
import type { InventorySnapshot } from "@/lib/platform/connector";
import type { ReplicationJob } from "@/prisma/generated/sqlite/client";

// Runs a replication job now (REP-1): a session of kind "replication" with one "replicate-vm" job
// per VM, each VM's Replica row made on its first run, all in one transaction with the audit
// record. The handler (run-replicate-vm.ts) does the copying.

export async function runReplicationJobNow(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "job:manage");
  const { jobId } = parseInput(replicationJobIdSchema, raw);
  const inventory = await platform().inventory();
  return serializableTransaction(async (tx) => {
    const job = await tx.replicationJob.findUnique({ where: { id: jobId } });
    if (!job) throw new AppError("NOT_FOUND", "This replication job does not exist (it may have been removed).");
    const active = await activeReplicationSession(tx, jobId);
    if (active) throw new AppError("CONFLICT", `Replication job ${job.name} is already ${active.state}. Open its session to follow it.`);
    const sessionId = await queueReplicationSession(tx, job, inventory, { trigger: "manual", requestedById: actor.id });
    await recordAuditEvent({ actor, action: "replication-job.run", objectType: "replication-job", objectId: jobId, outcome: "success", details: { name: job.name, session: sessionId, vms: (JSON.parse(job.vmExternalIds) as string[]).length } }, tx);
    return { sessionId };
  });
}

/** The job's queued or running session, if any: a job has one session at a time. */
export function activeReplicationSession(tx: DbTx, jobId: string): Promise<{ id: string; state: string } | null> {
  return tx.jobSession.findFirst({ where: { replicationJobId: jobId, state: { in: ["queued", "running"] } }, select: { id: true, state: true } });
}

/**
 * In the caller's transaction (Run now, the scheduler): a "replication" session with one
 * "replicate-vm" job per VM, each VM's Replica row made on its first run.
 */
export async function queueReplicationSession(tx: DbTx, job: ReplicationJob, inventory: InventorySnapshot, o: { trigger: "manual" | "schedule"; requestedById: string | null }): Promise<string> {
  const jobId = job.id;
  const placements = JSON.parse(job.placements) as Record<string, StoredReplicaVm>;
  const vmIds = JSON.parse(job.vmExternalIds) as string[];
  const s = await tx.jobSession.create({
    data: { kind: "replication", subject: `replication-job:${jobId}`, title: `Replication ${job.name}`, replicationJobId: jobId, state: "running", startedAt: new Date(), trigger: o.trigger, requestedById: o.requestedById },
  });
  for (const [i, vmExternalId] of vmIds.entries()) {
    const vm = inventory.vms.find((v) => v.externalId === vmExternalId);
    const p = placements[vmExternalId];
    // A VM deleted since the job was made keeps the name it had then (its run fails and says so).
    const sourceName = vm?.name ?? p.sourceVmName ?? vmExternalId;
    const name = `${sourceName} → ${p.name}`;
    const progress: VmRunProgress = {
      vmExternalId,
      vmId: null,
      name,
      encrypted: vm?.encrypted ?? false,
      status: "pending",
      incremental: null,
      pointId: null,
      keyIds: [],
      error: null,
      warnings: [],
      startedAt: null,
      endedAt: null,
      disks: (vm?.disks ?? []).map((d) => ({ deviceKey: d.deviceKey, label: d.label, encrypted: d.encrypted, bytesToRead: d.capacityBytes, bytesRead: 0, bytesTransferred: 0, rate: 0, done: false, proxy: null, mode: null, reason: null })),
    };
    await tx.sessionVm.create({ data: { sessionId: s.id, position: i, vmExternalId, name, progress: JSON.stringify(progress) } });
    await tx.replica.upsert({
      where: { jobId_sourceVmExternalId: { jobId, sourceVmExternalId: vmExternalId } },
      create: { jobId, sourceVmExternalId: vmExternalId, sourceVmName: sourceName, sourceEncrypted: vm?.encrypted ?? false, replicaVmName: p.name, keyMode: job.keyMode },
      update: {},
    });
    await enqueue(tx, { kind: "replicate-vm", payload: { sessionId: s.id, vmExternalId }, singletonKey: `replicate-vm:${s.id}:${vmExternalId}` });
  }
  return s.id;
}
