import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { verifyPassword } from "@/lib/auth/password";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { approvalSubject, clearFailures, isThrottled, recordFailure } from "@/lib/services/auth/sign-in-throttle";
import { issueApprovalProof } from "./approval-proof";
import { refuseDependentApprover } from "./approver-independence";
import { pendingRequest } from "./decide-approval";

export const confirmApprovalSchema = z.object({
  requestId: z.string().trim().min(1).max(64),
  password: z.string().min(1, "Enter your password to confirm").max(256),
});

/**
 * Step one of approving (SEC-2): the Security Officer re-enters their password for one request.
 * Wrong passwords are throttled and audited like sign-in (per account and source address); a
 * right one yields a single-use proof bound to this request and its payload hash, which
 * approveRequest spends.
 */
export async function confirmApprovalPassword(actor: Actor, raw: z.input<typeof confirmApprovalSchema>): Promise<{ proof: string; expiresAt: Date }> {
  authorize(actor, "approval:decide");
  const input = parseInput(confirmApprovalSchema, raw);
  const subject = approvalSubject(actor.id);
  const deny = async (reason: string, message: string): Promise<never> => {
    await recordAuditEvent({ actor, action: "approval.reauthenticate", objectType: "approval", objectId: input.requestId, outcome: "denied", details: { reason } });
    throw new AppError("FORBIDDEN", message, { password: [reason === "throttled" ? "Too many wrong passwords" : "Wrong password"] });
  };
  if (await isThrottled(subject, actor.sourceIp)) {
    return deny("throttled", "Too many wrong passwords: approving is locked for a few minutes. Nothing was approved. Wait, or ask a Backup Administrator or another Security Officer to clear the lock under Users.");
  }
  const approver = await db.user.findUnique({ where: { id: actor.id }, select: { passwordHash: true, disabled: true } });
  if (!approver || approver.disabled || !(await verifyPassword(approver.passwordHash, input.password))) {
    const locked = await recordFailure(subject, actor.sourceIp);
    if (locked.length) {
      await recordAuditEvent({ actor, action: "auth.lock", objectType: "user", objectId: actor.id, outcome: "failure", details: { reason: "too many wrong passwords on Approve", until: locked[0].until.toISOString() } });
    }
    return deny("wrong password", "Your password was not accepted. Nothing was approved.");
  }
  await clearFailures(subject, actor.sourceIp);
  const outcome = await serializableTransaction(async (tx) => {
    const req = await pendingRequest(tx, input.requestId, actor);
    if (req.outcome) return req.outcome; // closed as expired or void (committed), refused below
    const r = req.row;
    await refuseDependentApprover(tx, actor.id, r.requestedById);
    const issued = await issueApprovalProof(tx, { requestId: r.id, payloadHash: r.payloadHash, userId: actor.id });
    await recordAuditEvent({ actor, action: "approval.reauthenticate", objectType: r.objectType, objectId: r.objectId, outcome: "success", details: { request: r.id } }, tx);
    return issued;
  });
  if ("message" in outcome) throw new AppError("CONFLICT", outcome.message);
  return outcome;
}
