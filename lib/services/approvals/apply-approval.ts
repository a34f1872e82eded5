import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { db, type DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { keepOneActiveAdmin } from "@/lib/services/users/user-guards";
import { deleteRestorePointNow } from "@/lib/services/backup/delete-restore-point";
import { payloadSchemas, type ApprovalKind } from "./approval-payload";
import { keepTwoSecurityOfficers, readFourEyes, writeFourEyes } from "./four-eyes-state";
import { applySecurityOfficerChange } from "./apply-security-officer-change";
import { recheckRestoreRequest, startApprovedRestore, type CheckedRestoreRequest } from "@/lib/services/restore/restore-approval";
import { applyApprovedReplicationUpdate, recheckReplicationRequest, type CheckedReplicationRequest } from "@/lib/services/replication/update-replication-job";

/** What a request's approval worked out before its transaction (work that is not database work). */
export interface PreparedApproval {
  restore?: CheckedRestoreRequest;
  replication?: CheckedReplicationRequest;
}

/**
 * Before the approval's transaction, for the kinds that need it: a restore request is checked
 * again against the platform as it is now (RST-6, SEC-2), which opens the restore point and so
 * cannot run in a transaction that may run again; so is a replication job edit (its placements
 * and keys against the target site's inventory). Skipped for a request this approver cannot
 * decide anyway (their own, or no longer pending): the transaction refuses those with the reason.
 */
export async function prepareApproval(approverId: string, requestId: string): Promise<PreparedApproval> {
  const r = await db.approvalRequest.findUnique({ where: { id: requestId } });
  if (!r || r.state !== "pending" || r.requestedById === approverId || r.expiresAt <= new Date()) return {};
  if (r.kind === "replication.weaken-keys") return { replication: await recheckReplicationRequest(r, payloadSchemas["replication.weaken-keys"].parse(JSON.parse(r.payload))) };
  if (r.kind !== "restore.unencrypted") return {};
  return { restore: await recheckRestoreRequest(r, payloadSchemas["restore.unencrypted"].parse(JSON.parse(r.payload))) };
}

/** Applies an approved request's payload, in the approval's transaction; a restore answers the session it started. */
export async function applyApproval(
  tx: DbTx,
  request: { id: string; kind: string; payload: string; payloadHash: string; requestedById: string },
  approver: Pick<Actor, "id" | "email" | "sourceIp">,
  prepared: PreparedApproval = {},
): Promise<{ sessionId?: string }> {
  const kind = request.kind as ApprovalKind;
  const schema = payloadSchemas[kind];
  if (!schema) throw new AppError("CONFLICT", `Unknown request kind ${request.kind}.`);
  const payload = schema.parse(JSON.parse(request.payload)) as never;
  const now = new Date();
  switch (kind) {
    case "job.password":
    case "job.encryption": {
      const p = payload as { jobId: string; encryptionMode: string; passwordKeyHeader: string | null; passwordKeySealed: string | null; passwordHint?: string | null; kmsKeyProviderId?: string | null; kmsKeyName?: string | null };
      const job = await tx.backupJob.findUnique({ where: { id: p.jobId }, select: { id: true } });
      if (!job) throw new AppError("CONFLICT", "The job of this request no longer exists.");
      await tx.backupJob.update({
        where: { id: p.jobId },
        data: {
          encryptionMode: p.encryptionMode,
          passwordKeyHeader: p.passwordKeyHeader,
          passwordKeySealed: p.passwordKeySealed,
          passwordHint: p.passwordHint ?? null,
          passwordSetAt: p.encryptionMode === "password" ? now : null,
          kmsKeyProviderId: p.kmsKeyProviderId ?? null,
          kmsKeyName: p.kmsKeyName ?? null,
          passwordApprovedById: approver.id,
          passwordApprovedAt: now,
          pendingApprovalId: null,
        },
      });
      // A new key starts new chains (docs/decisions/0004-backup-jobs.md).
      await tx.jobVmState.deleteMany({ where: { jobId: p.jobId } });
      return {};
    }
    case "user.role": {
      const p = payload as { userId: string; role: "BACKUP_ADMIN" | "RESTORE_OPERATOR" | "BACKUP_VIEWER" | "SECURITY_OFFICER" };
      const user = await tx.user.findUnique({ where: { id: p.userId }, select: { id: true } });
      if (!user) throw new AppError("CONFLICT", "The user of this request no longer exists.");
      // The change is the requester's: an officer they promoted never approves their requests.
      await tx.user.update({ where: { id: p.userId }, data: { role: p.role, roleChangedById: request.requestedById } });
      await keepOneActiveAdmin(tx);
      await keepTwoSecurityOfficers(tx);
      return {};
    }
    case "user.create":
    case "user.password":
    case "user.enable":
      await applySecurityOfficerChange(tx, kind, payload, request.requestedById);
      return {};
    case "kms-cluster.remove": {
      const p = payload as { clusterId: string };
      const cluster = await tx.kmsCluster.findUnique({ where: { id: p.clusterId }, select: { id: true } });
      if (!cluster) throw new AppError("CONFLICT", "The KMS cluster of this request no longer exists.");
      await tx.kmsCluster.delete({ where: { id: p.clusterId } });
      return {};
    }
    case "restore-point.delete": {
      const p = payload as { pointId: string };
      await deleteRestorePointNow(tx, p.pointId, approver);
      return {};
    }
    case "four-eyes.off": {
      const current = await readFourEyes(tx);
      await writeFourEyes(tx, { ...current, enabled: false });
      return {};
    }
    case "restore.unencrypted":
      return { sessionId: await startApprovedRestore(tx, request, payload, approver, prepared.restore) };
    case "replication.weaken-keys":
      await applyApprovedReplicationUpdate(tx, request, payload, approver, prepared.replication);
      return {};
  }
}
