import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import type { DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { hasPermission, type Permission, type Role } from "@/lib/permissions/roles";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { payloadHash } from "./approval-payload";
import { applyApproval, prepareApproval } from "./apply-approval";
import { spendApprovalProof } from "./approval-proof";
import { refuseDependentApprover } from "./approver-independence";

const approveSchema = z.object({
  requestId: z.string().trim().min(1).max(64),
  // The single-use proof confirmApprovalPassword issued for this request (never the password).
  proof: z.string().trim().min(1, "Enter your password to confirm").max(128),
  comment: z.string().trim().max(1000, "Use at most 1000 characters").default(""),
});
const rejectSchema = z.object({
  requestId: z.string().trim().min(1).max(64),
  comment: z.string().trim().min(1, "Say why you reject it").max(1000, "Use at most 1000 characters"),
});
const cancelSchema = z.object({ requestId: z.string().trim().min(1).max(64) });

/**
 * Approves a pending request and applies exactly its payload, once, in one transaction (SEC-2):
 * another Security Officer than the requester, whose account and credentials did not come from the
 * requester, holding a proof of re-entered password for this very request and payload (spent
 * here); not expired, not decided, the payload unchanged since it was requested, the requester
 * still holding the permission the change needed (else the request is void).
 */
export async function approveRequest(actor: Actor, raw: z.input<typeof approveSchema>): Promise<{ state: string; sessionId?: string }> {
  authorize(actor, "approval:decide");
  const input = parseInput(approveSchema, raw);
  // Checks that are not database work (a restore checked again against the platform) come first.
  const prepared = await prepareApproval(actor.id, input.requestId);
  const outcome = await serializableTransaction(async (tx): Promise<{ state: string; message?: string; sessionId?: string }> => {
    const approver = await tx.user.findUnique({ where: { id: actor.id }, select: { disabled: true } });
    if (!approver || approver.disabled) throw new AppError("FORBIDDEN", "Your account is disabled. Nothing was approved.");
    const req = await pendingRequest(tx, input.requestId, actor);
    if (req.outcome) return req.outcome;
    const r = req.row;
    if (payloadHash(r.kind, r.objectId, JSON.parse(r.payload)) !== r.payloadHash) {
      throw new AppError("CONFLICT", "This request's payload changed after it was made; it cannot be approved. Reject it and ask for a new request.");
    }
    await refuseDependentApprover(tx, actor.id, r.requestedById);
    await spendApprovalProof(tx, input.proof, { requestId: r.id, payloadHash: r.payloadHash, userId: actor.id });
    const applied = await applyApproval(tx, r, actor, prepared);
    await tx.approvalRequest.update({ where: { id: r.id }, data: { state: "approved", decidedById: actor.id, decidedAt: new Date(), comment: input.comment || null } });
    await recordAuditEvent({ actor, action: "approval.approve", objectType: r.objectType, objectId: r.objectId, outcome: "success", details: { request: r.id, kind: r.kind, comment: input.comment, ...(applied.sessionId ? { session: applied.sessionId } : {}) } }, tx);
    return { state: "approved", sessionId: applied.sessionId };
  });
  if (outcome.state !== "approved") throw new AppError("CONFLICT", outcome.message!);
  return outcome.sessionId ? { state: outcome.state, sessionId: outcome.sessionId } : { state: outcome.state };
}

export async function rejectRequest(actor: Actor, raw: z.input<typeof rejectSchema>): Promise<{ state: string }> {
  authorize(actor, "approval:decide");
  const input = parseInput(rejectSchema, raw);
  const outcome = await serializableTransaction(async (tx): Promise<{ state: string; message?: string }> => {
    const req = await pendingRequest(tx, input.requestId, actor);
    if (req.outcome) return req.outcome;
    const r = req.row;
    await tx.approvalRequest.update({ where: { id: r.id }, data: { state: "rejected", decidedById: actor.id, decidedAt: new Date(), comment: input.comment } });
    await clearPending(tx, r);
    await recordAuditEvent({ actor, action: "approval.reject", objectType: r.objectType, objectId: r.objectId, outcome: "success", details: { request: r.id, kind: r.kind, comment: input.comment } }, tx);
    return { state: "rejected" };
  });
  if (outcome.state !== "rejected") throw new AppError("CONFLICT", outcome.message!);
  return { state: outcome.state };
}

/** The requester withdraws their own pending request. */
export async function cancelRequest(actor: Actor, raw: z.input<typeof cancelSchema>): Promise<{ state: string }> {
  authorize(actor, "inventory:read");
  const { requestId } = parseInput(cancelSchema, raw);
  return serializableTransaction(async (tx) => {
    const r = await tx.approvalRequest.findUnique({ where: { id: requestId } });
    if (!r) throw new AppError("NOT_FOUND", "This request does not exist.");
    if (r.requestedById !== actor.id) throw new AppError("FORBIDDEN", "Only the person who made a request can cancel it.");
    if (r.state !== "pending") throw new AppError("CONFLICT", `This request is already ${r.state}.`);
    await tx.approvalRequest.update({ where: { id: r.id }, data: { state: "cancelled", decidedAt: new Date() } });
    await clearPending(tx, r);
    await recordAuditEvent({ actor, action: "approval.cancel", objectType: r.objectType, objectId: r.objectId, outcome: "success", details: { request: r.id, kind: r.kind } }, tx);
    return { state: "cancelled" };
  });
}

type Pending = { row: NonNullable<Awaited<ReturnType<DbTx["approvalRequest"]["findUnique"]>>>; outcome?: undefined } | { outcome: { state: string; message: string } };

/** Loads a request that may be decided by `actor`, closing it as expired or void when it is. */
export async function pendingRequest(tx: DbTx, id: string, actor: Actor): Promise<Pending> {
  const r = await tx.approvalRequest.findUnique({ where: { id } });
  if (!r) throw new AppError("NOT_FOUND", "This request does not exist.");
  if (r.requestedById === actor.id) throw new AppError("FORBIDDEN", "You made this request: another Security Officer must decide it (four-eyes).");
  if (r.state !== "pending") throw new AppError("CONFLICT", `This request is already ${r.state}; it cannot be decided again.`);
  if (r.expiresAt <= new Date()) {
    await tx.approvalRequest.update({ where: { id: r.id }, data: { state: "expired" } });
    await clearPending(tx, r);
    return { outcome: { state: "expired", message: "This request expired; nothing was changed. The requester can ask again." } };
  }
  const requester = await tx.user.findUnique({ where: { id: r.requestedById }, select: { role: true, disabled: true } });
  if (!requester || requester.disabled || !hasPermission(requester.role as Role, r.requiredPermission as Permission)) {
    await tx.approvalRequest.update({ where: { id: r.id }, data: { state: "void", decidedAt: new Date() } });
    await clearPending(tx, r);
    return { outcome: { state: "void", message: "The requester no longer holds the role this change needs, so the request is void; nothing was changed." } };
  }
  return { row: r };
}

async function clearPending(tx: DbTx, r: { id: string; objectType: string; objectId: string }): Promise<void> {
  if (r.objectType === "backup-job") await tx.backupJob.updateMany({ where: { id: r.objectId, pendingApprovalId: r.id }, data: { pendingApprovalId: null } });
}
