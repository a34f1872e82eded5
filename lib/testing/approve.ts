// The two steps of an approval as the console's Approve button makes them (SEC-2): re-enter the
// password for one request (a single-use proof), then approve with that proof.
import type { Actor } from "@/lib/auth/actor";
import { confirmApprovalPassword } from "@/lib/services/approvals/confirm-approval-password";
import { approveRequest } from "@/lib/services/approvals/decide-approval";

export async function approveWithPassword(actor: Actor, input: { requestId: string; password: string; comment?: string }): Promise<{ state: string }> {
  const { proof } = await confirmApprovalPassword(actor, { requestId: input.requestId, password: input.password });
  return approveRequest(actor, { requestId: input.requestId, proof, comment: input.comment });
}
