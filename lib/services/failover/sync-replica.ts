import "server-only";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { enqueue } from "@/lib/jobs";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import type { PlatformVm } from "@/lib/platform/connector";

// One replication of one replica, run from inside a planned failover (FOV-1): a replication
// session of the replica's job with just this VM, handled by the ordinary "replicate-vm" job, and
// waited for. The failover session already holds the job (no other run starts meanwhile).

const POLL_MS = 200;

export async function syncReplica(o: { jobId: string; jobName: string; sourceVm: PlatformVm; replicaVmName: string; requestedById: string | null; why: string; timeoutMs?: number }): Promise<{ sessionId: string; state: string; error: string | null }> {
  const sessionId = await serializableTransaction(async (tx) => {
    const s = await tx.jobSession.create({
      data: { kind: "replication", subject: `replication-job:${o.jobId}`, title: `Replication ${o.jobName} (${o.why})`, replicationJobId: o.jobId, state: "running", startedAt: new Date(), trigger: "manual", requestedById: o.requestedById },
    });
    const vm = o.sourceVm;
    const progress: VmRunProgress = {
      vmExternalId: vm.externalId,
      vmId: null,
      name: `${vm.name} → ${o.replicaVmName}`,
      encrypted: vm.encrypted,
      status: "pending",
      incremental: null,
      pointId: null,
      keyIds: [],
      error: null,
      warnings: [],
      startedAt: null,
      endedAt: null,
      disks: vm.disks.map((d) => ({ deviceKey: d.deviceKey, label: d.label, encrypted: d.encrypted, bytesToRead: d.capacityBytes, bytesRead: 0, bytesTransferred: 0, rate: 0, done: false, proxy: null, mode: null, reason: null })),
    };
    await tx.sessionVm.create({ data: { sessionId: s.id, position: 0, vmExternalId: vm.externalId, name: progress.name, progress: JSON.stringify(progress) } });
    await enqueue(tx, { kind: "replicate-vm", payload: { sessionId: s.id, vmExternalId: vm.externalId }, singletonKey: `replicate-vm:${s.id}:${vm.externalId}` });
    return s.id;
  });
  const end = Date.now() + (o.timeoutMs ?? 6 * 3600_000);
  for (;;) {
    const s = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId }, select: { state: true, error: true } });
    if (!["queued", "running"].includes(s.state)) return { sessionId, state: s.state, error: s.error };
    if (Date.now() > end) return { sessionId, state: "failed", error: "the sync did not end in time" };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
