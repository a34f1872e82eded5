import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { nextRunAfter } from "@/lib/backup/schedule";
import { db, type DbTx } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import type { InventorySnapshot } from "@/lib/platform/connector";
import { createReplicationJobSchema, replicationJobIdSchema, type CreateReplicationJobInput, type StoredReplicaVm } from "@/lib/schemas/replication";
import type { ApprovalPayload } from "@/lib/services/approvals/approval-payload";
import { createApprovalRequest } from "@/lib/services/approvals/create-approval-request";
import { readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { scheduleTimeZone } from "@/lib/services/backup/schedule-time-zone";
import { platform } from "@/lib/services/inventory/platform";
import type { ReplicationJob } from "@/prisma/generated/sqlite/client";
import { checkReplicationJob, type CheckedReplicaVm } from "./check-replication-job";
import { checkSeeds } from "./create-replication-job";
import { chainPlan, changedFields, weakenings, type ChainPlan } from "./replication-job-changes";
import { activeReplicationSession } from "./run-replication-job";

// Edits a replication job (REP-1…4, job:manage). The edit is validated exactly as a new job is
// (createReplicationJobSchema, then check-replication-job.ts against the platform as it is now);
// a refused edit writes nothing. Refused while a session of the job is queued or running (the
// running VMs read the job's settings): stop it or wait for it to end.
//
// Key protection (SEC-2): turning the key mode from re-key to shared keys, no longer refusing
// unencrypted replicas of encrypted VMs, or choosing an unencrypted replica for an encrypted VM,
// while four-eyes approval is on, does not apply: the whole edit becomes a request (kind
// "replication.weaken-keys") holding the validated input (no secret) and the job's updatedAt. The
// job keeps running as it was. Another Security Officer's approval checks the edit again against
// the platform (prepareApproval) and applies it in the approval's transaction — refused if the
// job was changed since the request; rejection or expiry changes nothing.
//
// Chains: a change of the key mode, the target key provider, the target site or host, or a VM's
// placement (name, folder, home, disks, networks) starts a NEW CHAIN for the VMs concerned: the
// existing replica VM was made with the old choices and cannot be turned into the new one. Their
// Replica row keeps pointing at the old replica VM but forgets its chain (no last point), so the
// next run deletes the old replica VM with its points and makes the new one with a full copy —
// as it does for a first run cut off half-way (replicate-vm.ts). Until that run the old replica
// and its points stay as they were (a failover may still use them). The old replica is replaced,
// not kept beside the new one, because at the DR site a replica keeps the source's MAC addresses
// (a failed-over VM keeps its DHCP leases and firewall rules) and two VMs of one site never share
// a MAC. VMs removed from the job lose their Replica row; their replica VMs stay at the target
// (whole VMs, possibly the only copy there) until someone deletes them. Everything else (name,
// schedule, points to keep, proxies, refuse-unencrypted) keeps every chain (replication-job-changes.ts).

export interface UpdateReplicationJobResult {
  id: string;
  warnings: string[];
  /** Set when four-eyes turned the edit into a request; nothing changed yet. */
  approvalRequestId?: string;
  /** Source VMs whose next run starts a new replica (a full copy). */
  newChains: string[];
}

export const REPLICATION_WEAKEN_KIND = "replication.weaken-keys" as const;
type WeakenPayload = ApprovalPayload<typeof REPLICATION_WEAKEN_KIND>;

export async function updateReplicationJob(actor: Actor, jobIdRaw: unknown, raw: unknown): Promise<UpdateReplicationJobResult> {
  authorize(actor, "job:manage");
  const { jobId } = parseInput(replicationJobIdSchema, { jobId: jobIdRaw });
  const input = parseInput(createReplicationJobSchema, raw);
  const current = await db.replicationJob.findUnique({ where: { id: jobId } });
  if (!current) throw new AppError("NOT_FOUND", "This replication job does not exist (it may have been removed).");
  const prepared = await checkUpdate(current, input);
  if (input.seedFromRepositoryId) await checkSeeds(input.seedFromRepositoryId, prepared.checked);
  const guard = (await readFourEyes()).enabled ? prepared.weaker : [];
  const warnings = prepared.checked.flatMap((c) => c.warnings);
  if (guard.length > 0) {
    const request = await serializableTransaction(async (tx) => {
      await refuseBusyOrNameTaken(tx, current, input);
      const payload: WeakenPayload = { jobId, jobUpdatedAt: current.updatedAt.toISOString(), input };
      return createApprovalRequest(tx, actor, {
        kind: REPLICATION_WEAKEN_KIND,
        objectType: "replication-job",
        objectId: jobId,
        summary: [...guard, ...prepared.changes.filter((c) => !guard.some((g) => g.field === c.field))],
        payload,
        requiredPermission: "job:manage",
      });
    });
    warnings.push(`Four-eyes approval is on and this change weakens the replicas' key protection: it applies once another Security Officer approves it (request ${request.id}). Until then the job runs as it was.`);
    return { id: jobId, warnings, approvalRequestId: request.id, newChains: [] };
  }
  await serializableTransaction((tx) => applyReplicationJobUpdate(tx, { jobId, expectedUpdatedAt: current.updatedAt, input, prepared, actor }));
  return { id: jobId, warnings: [...warnings, ...chainWarnings(prepared.plan, current)], newChains: prepared.plan.restarted };
}

/** What an edit was checked into, outside any transaction (the platform is asked). */
export interface PreparedUpdate {
  checked: CheckedReplicaVm[];
  plan: ChainPlan;
  weaker: ReturnType<typeof weakenings>;
  changes: ReturnType<typeof changedFields>;
}

/**
 * The checks of a new job, against the platform as it is now, with the job's own replica VMs left
 * out of the inventory: they are the replicas (kept, or replaced at the next run), not name or MAC
 * clashes.
 */
export async function checkUpdate(current: ReplicationJob, input: CreateReplicationJobInput, inventory?: InventorySnapshot): Promise<PreparedUpdate> {
  if (input.proxyMode === "manual") {
    const found = await db.proxy.count({ where: { id: { in: input.proxyIds } } });
    if (found !== new Set(input.proxyIds).size) throw new AppError("INVALID_INPUT", "A chosen proxy no longer exists. Choose the proxies again.", { proxyIds: ["Choose the proxies again"] });
  }
  const inv = inventory ?? (await platform().inventory());
  const plan = chainPlan(current, input, (id) => inv.vms.find((v) => v.externalId === id)?.name ?? id);
  const replicas = await db.replica.findMany({ where: { jobId: current.id }, select: { sourceVmExternalId: true, replicaVmExternalId: true, replicaVmName: true, state: true } });
  // A failed-over replica runs as the VM at the DR site: it is never replaced nor dropped by an edit.
  const busy = replicas.find((r) => r.state !== "Ready" && (plan.restarted.includes(r.sourceVmExternalId) || plan.removed.includes(r.sourceVmExternalId)));
  if (busy) {
    throw new AppError(
      "CONFLICT",
      `The replica ${busy.replicaVmName} is in ${busy.state === "PermanentFailover" ? "permanent failover" : busy.state.toLowerCase()}: this change would ${plan.removed.includes(busy.sourceVmExternalId) ? "drop it from the job" : "replace it at the next run"}. Finish or undo the failover first, or leave its placement and the job's keys as they are.`,
    );
  }
  const own = new Map(replicas.filter((r) => r.replicaVmExternalId).map((r) => [r.sourceVmExternalId, r.replicaVmExternalId!]));
  // The job's own replica VMs are its replicas, not name clashes, for the checks of a new job.
  const mine = new Set(own.values());
  const checked = await checkReplicationJob(input, { ...inv, vms: inv.vms.filter((v) => !mine.has(v.externalId)) });
  const encrypted = new Map(checked.map((c) => [c.vm.externalId, c.vm.encrypted]));
  const names = new Map(inv.vms.map((v) => [v.externalId, v.name]));
  return {
    checked,
    plan,
    weaker: weakenings(current, input, (id) => encrypted.get(id) ?? false, (id) => names.get(id) ?? id),
    changes: changedFields(current, input, (id) => names.get(id) ?? id),
  };
}

async function refuseBusyOrNameTaken(tx: DbTx, current: ReplicationJob, input: CreateReplicationJobInput): Promise<void> {
  const active = await activeReplicationSession(tx, current.id);
  if (active) throw new AppError("CONFLICT", `Replication job ${current.name} is ${active.state}: stop its session or wait for it to end, then save again.`);
  const other = await tx.replicationJob.findUnique({ where: { name: input.name }, select: { id: true } });
  if (other && other.id !== current.id) throw new AppError("CONFLICT", `A replication job named ${input.name} exists.`, { name: ["This name is in use"] });
}

/**
 * In the caller's transaction (the edit itself, or the approval of its request): writes the job,
 * starts the new chains, drops the Replica rows of removed VMs, audited with what changed.
 */
export async function applyReplicationJobUpdate(
  tx: DbTx,
  o: { jobId: string; expectedUpdatedAt: Date; input: CreateReplicationJobInput; prepared: PreparedUpdate; actor: Pick<Actor, "id" | "email" | "sourceIp">; approval?: { requestId: string; requestedById: string } },
): Promise<void> {
  const { input, prepared } = o;
  const job = await tx.replicationJob.findUnique({ where: { id: o.jobId } });
  if (!job) throw new AppError("CONFLICT", "The replication job of this change no longer exists.");
  if (job.updatedAt.getTime() !== o.expectedUpdatedAt.getTime()) {
    throw new AppError("CONFLICT", `Replication job ${job.name} was changed after this edit was made; nothing was applied. ${o.approval ? "Reject the request; the requester can ask again." : "Reload it and make the change again."}`);
  }
  await refuseBusyOrNameTaken(tx, job, input);
  const { checked, plan } = prepared;
  await tx.replicationJob.update({
    where: { id: job.id },
    data: {
      name: input.name,
      description: input.description,
      enabled: input.enabled,
      vmExternalIds: JSON.stringify(input.vms.map((v) => v.vmExternalId)),
      targetSiteExternalId: input.targetSiteExternalId,
      targetHostExternalId: input.targetHostExternalId,
      placements: JSON.stringify(Object.fromEntries(checked.map((c): [string, StoredReplicaVm] => [c.vm.externalId, { ...c.input, sourceVmName: c.vm.name }]))),
      seedFromRepositoryId: input.seedFromRepositoryId,
      keyMode: input.keyMode,
      targetKeyProviderExternalId: input.keyMode === "unencrypted" ? null : input.targetKeyProviderExternalId,
      refuseUnencrypted: input.refuseUnencrypted,
      keepPoints: input.keepPoints,
      proxyMode: input.proxyMode,
      proxyIds: JSON.stringify(input.proxyMode === "manual" ? input.proxyIds : []),
      schedule: JSON.stringify(input.schedule),
      nextRunAt: input.enabled ? nextRunAfter(input.schedule, new Date(), scheduleTimeZone()) : null,
    },
  });
  const replicas = await tx.replica.findMany({ where: { jobId: job.id }, select: { id: true, sourceVmExternalId: true, replicaVmExternalId: true, replicaVmName: true } });
  const kept: string[] = [];
  const replaced: string[] = [];
  for (const r of replicas) {
    const restart = plan.restarted.includes(r.sourceVmExternalId);
    if (!restart && !plan.removed.includes(r.sourceVmExternalId)) continue;
    if (r.replicaVmExternalId) (restart ? replaced : kept).push(`${r.replicaVmName} (${r.replicaVmExternalId})`);
    if (!restart) {
      await tx.replica.delete({ where: { id: r.id } });
      continue;
    }
    const v = input.vms.find((x) => x.vmExternalId === r.sourceVmExternalId)!;
    // The old replica VM stays referenced without a last point: the next run replaces it.
    await tx.replica.update({
      where: { id: r.id },
      data: {
        replicaVmName: v.name,
        keyMode: input.keyMode,
        lastPointId: null,
        lastChangeIds: "[]",
        warnings: JSON.stringify(r.replicaVmExternalId ? [`A new replica is made at the next run (${plan.why}): the current replica ${r.replicaVmName} and its points are deleted then, and every disk is copied again.`] : []),
      },
    });
  }
  await recordAuditEvent(
    {
      actor: o.actor,
      action: "replication-job.update",
      objectType: "replication-job",
      objectId: job.id,
      outcome: "success",
      details: {
        name: input.name,
        changes: prepared.changes,
        newChains: plan.restarted,
        ...(plan.why ? { newChainsBecause: plan.why } : {}),
        removedVms: plan.removed,
        replicaVmsKeptAtTarget: kept,
        replicaVmsReplacedAtNextRun: replaced,
        ...(o.approval ? { request: o.approval.requestId, requestedBy: o.approval.requestedById } : {}),
      },
    },
    tx,
  );
}

function chainWarnings(plan: ChainPlan, current: ReplicationJob): string[] {
  const out: string[] = [];
  if (plan.restarted.length) out.push(`${plan.restarted.length} VM(s) get a new replica at the next run, because ${plan.why}: their current replica and its points are deleted then, and every disk is copied again (a full copy).`);
  if (plan.removed.length) out.push(`${plan.removed.length} VM(s) left the job; their replica VMs stay at the target until you delete them.`);
  if (!current.enabled && plan.restarted.length) out.push("The job is disabled: the current replicas stay until it runs again (Run now, or enable it).");
  return out;
}

// ─────────────── four-eyes: the approval of a "replication.weaken-keys" request ───────────────

export interface CheckedReplicationRequest {
  requestId: string;
  payloadHash: string;
  prepared: PreparedUpdate;
}

/** Before the approval's transaction: the edit checked again against the platform as it is now. */
export async function recheckReplicationRequest(request: { id: string; payloadHash: string }, payload: WeakenPayload): Promise<CheckedReplicationRequest> {
  const current = await db.replicationJob.findUnique({ where: { id: payload.jobId } });
  if (!current) throw new AppError("CONFLICT", "The replication job of this request no longer exists; nothing was changed. Reject the request.");
  try {
    return { requestId: request.id, payloadHash: request.payloadHash, prepared: await checkUpdate(current, payload.input) };
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    throw new AppError("CONFLICT", `This change can no longer be applied as requested, so it was not approved and nothing changed: ${e.message} Reject the request; the requester can ask again.`);
  }
}

/** In the approval's transaction: applies exactly the requested edit, checked again just before. */
export async function applyApprovedReplicationUpdate(
  tx: DbTx,
  request: { id: string; payloadHash: string; requestedById: string },
  payload: WeakenPayload,
  approver: Pick<Actor, "id" | "email" | "sourceIp">,
  rechecked: CheckedReplicationRequest | undefined,
): Promise<void> {
  if (!rechecked || rechecked.requestId !== request.id || rechecked.payloadHash !== request.payloadHash) {
    throw new AppError("CONFLICT", "This change was not checked again before approval; nothing was applied. Try Approve again.");
  }
  await applyReplicationJobUpdate(tx, {
    jobId: payload.jobId,
    expectedUpdatedAt: new Date(payload.jobUpdatedAt),
    input: payload.input,
    prepared: rechecked.prepared,
    actor: approver,
    approval: { requestId: request.id, requestedById: request.requestedById },
  });
}
