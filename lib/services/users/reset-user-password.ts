import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { hashPassword } from "@/lib/auth/password";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseInput } from "@/lib/errors/parse-input";
import { resetUserPasswordSchema } from "@/lib/schemas/users";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { createApprovalRequest } from "@/lib/services/approvals/create-approval-request";
import { readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { revokeUserSessions } from "@/lib/services/auth/user-sessions";
import { toUserDto, type UserDto } from "./user-dto";
import { loadUser } from "./user-guards";

/**
 * Sets a new sign-in password and ends the user's existing sessions. A Security Officer's password,
 * while four-eyes is on, is a request another Security Officer approves (SEC-2). Who set it is
 * recorded: an officer never approves the requests of whoever set their password.
 */
export async function resetUserPassword(actor: Actor, raw: z.input<typeof resetUserPasswordSchema>): Promise<UserDto & { pendingApprovalId?: string }> {
  authorize(actor, "user:manage");
  const input = parseInput(resetUserPasswordSchema, raw);
  const passwordHash = await hashPassword(input.password);
  return serializableTransaction(async (tx) => {
    const before = await loadUser(tx, input.userId);
    if (before.role === "SECURITY_OFFICER" && (await readFourEyes(tx)).enabled) {
      const req = await createApprovalRequest(tx, actor, {
        kind: "user.password",
        objectType: "user",
        objectId: before.id,
        summary: [{ field: `Sign-in password of ${before.email}`, from: "current password", to: `new password set by ${actor.name} (${actor.email})` }],
        payload: { userId: before.id, passwordHash },
        requiredPermission: "user:manage",
      });
      return { ...toUserDto(before), pendingApprovalId: req.id };
    }
    const user = await tx.user.update({
      where: { id: input.userId },
      data: { passwordHash, sessionVersion: { increment: 1 }, passwordChangedById: actor.id },
    });
    await revokeUserSessions(tx, user.id);
    await recordAuditEvent(
      { actor, action: "user.reset-password", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email } },
      tx,
    );
    return toUserDto(user);
  });
}
