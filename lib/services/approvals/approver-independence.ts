import "server-only";
import type { DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";

// Four-eyes means two people (SEC-2). An officer whose account, role, enabled state or password came
// from the requester is, as far as the console can tell, the requester: they could have kept the
// password they set, or made the account for this very purpose. Such an officer never approves
// that requester's requests; another Security Officer must.

export interface CredentialOrigin {
  createdById: string | null;
  roleChangedById: string | null;
  enabledChangedById: string | null;
  passwordChangedById: string | null;
}

/** Why this approver depends on the requester, in words for the approver, or null when they do not. */
export function dependenceOnRequester(approver: CredentialOrigin, requesterId: string, requesterName: string): string | null {
  const by = requesterName || "the requester";
  if (approver.createdById === requesterId) return `Your account was created by ${by}, who made this request, so you cannot approve it: another Security Officer must.`;
  if (approver.passwordChangedById === requesterId) return `Your password was last set by ${by}, who made this request, so you cannot approve it: another Security Officer must.`;
  if (approver.roleChangedById === requesterId) return `Your role was last changed by ${by}, who made this request, so you cannot approve it: another Security Officer must.`;
  if (approver.enabledChangedById === requesterId) return `Your account was last enabled or disabled by ${by}, who made this request, so you cannot approve it: another Security Officer must.`;
  return null;
}

const ORIGIN = { createdById: true, roleChangedById: true, enabledChangedById: true, passwordChangedById: true } as const;

/** In the approval's transaction: refuses (FORBIDDEN) an approver whose credentials came from the requester. */
export async function refuseDependentApprover(tx: DbTx, approverId: string, requesterId: string): Promise<void> {
  const [approver, requester] = await Promise.all([
    tx.user.findUnique({ where: { id: approverId }, select: ORIGIN }),
    tx.user.findUnique({ where: { id: requesterId }, select: { name: true, email: true } }),
  ]);
  if (!approver) throw new AppError("FORBIDDEN", "Your account no longer exists.");
  const reason = dependenceOnRequester(approver, requesterId, requester ? `${requester.name} (${requester.email})` : "");
  if (reason) throw new AppError("FORBIDDEN", reason);
}
