import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { nextRunAfter } from "@/lib/backup/schedule";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { seedDisks } from "@/lib/engine/pipeline/replicate-vm";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { createReplicationJobSchema, type StoredReplicaVm } from "@/lib/schemas/replication";
import { readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { scheduleTimeZone } from "@/lib/services/backup/schedule-time-zone";
import { checkReplicationJob, type CheckedReplicaVm } from "./check-replication-job";
import { openSeedPoint } from "./seed-point";

// Creates a replication job (REP-1): its VMs, the target site and host, where each replica's home
// and disks go, its networks, the key mode and the target key provider, the points to keep, the
// proxies, the schedule and the repository to seed the first runs from. Every choice is checked
// against the platform first (check-replication-job.ts, REP-2…4), and a seed repository must hold
// a point of every VM that opens here (seed-point.ts); a refused job writes nothing. Audited (SEC-4).

export async function createReplicationJob(actor: Actor, raw: unknown): Promise<{ id: string; warnings: string[] }> {
  authorize(actor, "job:manage");
  const input = parseInput(createReplicationJobSchema, raw);
  if (input.proxyMode === "manual") {
    const found = await db.proxy.count({ where: { id: { in: input.proxyIds } } });
    if (found !== new Set(input.proxyIds).size) throw new AppError("INVALID_INPUT", "A chosen proxy no longer exists. Choose the proxies again.", { proxyIds: ["Choose the proxies again"] });
  }
  const checked = await checkReplicationJob(input);
  const warnings = checked.flatMap((c) => c.warnings);
  if (input.seedFromRepositoryId) await checkSeeds(input.seedFromRepositoryId, checked);
  return serializableTransaction(async (tx) => {
    // SEC-2: under four-eyes, unencrypted replicas of encrypted VMs need a Security Officer. A new job
    // cannot wait for one (nothing exists to approve yet): it is refused with the way that can.
    const plain = input.keyMode === "unencrypted" ? checked.filter((c) => c.vm.encrypted).map((c) => c.vm.name) : [];
    if (plain.length && (await readFourEyes(tx)).enabled) {
      throw new AppError(
        "CONFLICT",
        `Four-eyes approval is on: an unencrypted replica of an encrypted VM (${plain.join(", ")}) needs another Security Officer's approval. Create the job with shared keys or a new key at the target; changing it to unencrypted afterwards goes to the Security Officers for approval.`,
        { keyMode: ["Needs a Security Officer's approval: choose shared keys or a new key"] },
      );
    }
    if (await tx.replicationJob.findUnique({ where: { name: input.name }, select: { id: true } })) {
      throw new AppError("CONFLICT", `A replication job named ${input.name} exists.`, { name: ["This name is in use"] });
    }
    const job = await tx.replicationJob.create({
      data: {
        name: input.name,
        description: input.description,
        enabled: input.enabled,
        vmExternalIds: JSON.stringify(input.vms.map((v) => v.vmExternalId)),
        targetSiteExternalId: input.targetSiteExternalId,
        targetHostExternalId: input.targetHostExternalId,
        placements: JSON.stringify(Object.fromEntries(checked.map((c): [string, StoredReplicaVm] => [c.vm.externalId, { ...c.input, sourceVmName: c.vm.name }]))),
        keyMode: input.keyMode,
        targetKeyProviderExternalId: input.keyMode === "unencrypted" ? null : input.targetKeyProviderExternalId,
        refuseUnencrypted: input.refuseUnencrypted,
        keepPoints: input.keepPoints,
        seedFromRepositoryId: input.seedFromRepositoryId,
        proxyMode: input.proxyMode,
        proxyIds: JSON.stringify(input.proxyMode === "manual" ? input.proxyIds : []),
        schedule: JSON.stringify(input.schedule),
        nextRunAt: input.enabled ? nextRunAfter(input.schedule, new Date(), scheduleTimeZone()) : null,
        createdById: actor.id,
      },
    });
    await recordAuditEvent(
      {
        actor,
        action: "replication-job.create",
        objectType: "replication-job",
        objectId: job.id,
        outcome: "success",
        details: {
          name: input.name,
          vms: checked.map((c) => c.vm.name).join(", "),
          target: `${input.targetSiteExternalId}/${input.targetHostExternalId}`,
          keys: input.keyMode,
          keyProvider: job.targetKeyProviderExternalId,
          refuseUnencrypted: input.refuseUnencrypted,
          keepPoints: input.keepPoints,
          seedFrom: input.seedFromRepositoryId,
        },
      },
      tx,
    );
    return { id: job.id, warnings };
  });
}

/** Seeding (REP-1): every VM's newest point in the repository opens here, is its own and fits its disks now. */
/** Each VM's newest point in the seed repository opens and fits its disks (refused with the field otherwise). */
export async function checkSeeds(repositoryId: string, checked: CheckedReplicaVm[]): Promise<void> {
  for (const c of checked) {
    const opened = await openSeedPoint(repositoryId, c.vm, `strongroom/${process.pid}/replication-seed-check`);
    try {
      seedDisks(opened.point, c.vm);
    } catch (e) {
      throw new AppError("CONFLICT", `${c.vm.name} cannot be seeded from its newest restore point: ${e instanceof Error ? e.message : String(e)}.`, { seedFromRepositoryId: [e instanceof Error ? e.message : String(e)] });
    } finally {
      await opened.close();
    }
  }
}
