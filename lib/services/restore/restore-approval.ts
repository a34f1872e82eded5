import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { db, type DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import type { StartRestoreInput } from "@/lib/schemas/restore";
import type { DiffLine } from "@/lib/services/approvals/approval-payload";
import { createApprovalRequest } from "@/lib/services/approvals/create-approval-request";
import { readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import type { CheckedRestore } from "./check-restore";
import { checkRestoreSession, queueRestoreSession } from "./restore-session";

// Four-eyes for risky restores (SEC-2). While four-eyes is on, restoring an encrypted VM so that
// its home or any disk that was encrypted is written unencrypted takes the key protection off data
// that had it: the restore is a request (kind "restore.unencrypted") that another Security Officer
// approves. The request holds the validated wizard input (no secret: point id, placement, key
// choice, reason). Approval checks it again against the platform as it is then and starts the
// session as the requester, in the approval's transaction; rejection or expiry starts nothing.
// (A key provider of another tenant is never a request: the pre-restore check refuses it.)

export const RESTORE_APPROVAL_KIND = "restore.unencrypted" as const;

/** Why this restore needs a Security Officer's approval, or null when it may start at once. */
export async function approvalNeed(checked: CheckedRestore[], tx: DbTx = db): Promise<string | null> {
  const risky = checked.filter((c) => c.decrypted.length > 0);
  if (risky.length === 0 || !(await readFourEyes(tx)).enabled) return null;
  const what = risky.map((c) => `${c.source.vmName} (${c.decrypted.join(", ")})`).join("; ");
  return `Four-eyes approval is on and this restore writes an encrypted VM unencrypted — ${what}: it starts only once another Security Officer approves it.`;
}

/** Records the request instead of the session, in `tx` (audited as approval.request by createApprovalRequest). */
export async function requestRestoreApproval(tx: DbTx, actor: Actor, input: StartRestoreInput, checked: CheckedRestore[]): Promise<string> {
  const summary: DiffLine[] = [];
  for (const [i, vm] of input.vms.entries()) {
    const c = checked[i];
    summary.push({ field: `Restore of ${c.source.vmName}`, from: "", to: `new VM ${vm.name} in ${vm.folder} on ${vm.hostExternalId} (${vm.siteExternalId})` });
    for (const item of c.decrypted) summary.push({ field: `${vm.name} / ${item}`, from: "Encrypted", to: "Unencrypted" });
  }
  summary.push({ field: "Reason", from: "", to: input.reason });
  const r = await createApprovalRequest(tx, actor, { kind: RESTORE_APPROVAL_KIND, objectType: "restore-point", objectId: input.vms[0].pointId, summary, payload: input, requiredPermission: "restore:run" });
  return r.id;
}

/** What an approval of a restore request checked before its transaction, bound to the payload it checked. */
export interface CheckedRestoreRequest {
  requestId: string;
  payloadHash: string;
  checked: CheckedRestore[];
}

/**
 * Before the approval's transaction (the check opens the point and asks the platform): the restore
 * checked again as if it started now — the point still opens, the target is still valid. A restore
 * that no longer passes is refused (CONFLICT) and nothing is approved or started.
 */
export async function recheckRestoreRequest(request: { id: string; payloadHash: string }, input: StartRestoreInput): Promise<CheckedRestoreRequest> {
  try {
    return { requestId: request.id, payloadHash: request.payloadHash, checked: await checkRestoreSession(input) };
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    throw new AppError("CONFLICT", `This restore can no longer run as requested, so it was not approved and nothing was started: ${e.message} Reject the request; the requester can ask again.`);
  }
}

/** In the approval's transaction: starts the checked restore as the requester. */
export async function startApprovedRestore(
  tx: DbTx,
  request: { id: string; payloadHash: string; requestedById: string },
  input: StartRestoreInput,
  approver: Pick<Actor, "email">,
  rechecked: CheckedRestoreRequest | undefined,
): Promise<string> {
  if (!rechecked || rechecked.requestId !== request.id || rechecked.payloadHash !== request.payloadHash) {
    throw new AppError("CONFLICT", "This restore was not checked again before approval; nothing was started. Try Approve again.");
  }
  const requester = await tx.user.findUnique({ where: { id: request.requestedById }, select: { id: true, email: true } });
  if (!requester) throw new AppError("CONFLICT", "The requester of this restore no longer exists; nothing was started.");
  return queueRestoreSession(tx, { ...requester, sourceIp: null }, input, rechecked.checked, { requestId: request.id, approvedBy: approver.email });
}
