import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseInput } from "@/lib/errors/parse-input";
import { setUserDisabledSchema } from "@/lib/schemas/users";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { createApprovalRequest } from "@/lib/services/approvals/create-approval-request";
import { keepTwoSecurityOfficers, readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { revokeUserSessions } from "@/lib/services/auth/user-sessions";
import { toUserDto, type UserDto } from "./user-dto";
import { keepOneActiveAdmin, loadUser, refuseSelf } from "./user-guards";

/**
 * Disabling bumps the session version and revokes the user's sessions, so they end on the next
 * request. Enabling a disabled Security Officer while four-eyes is on is a request another Security
 * Officer approves (SEC-2).
 */
export async function setUserDisabled(actor: Actor, raw: z.input<typeof setUserDisabledSchema>): Promise<UserDto & { pendingApprovalId?: string }> {
  authorize(actor, "user:manage");
  const input = parseInput(setUserDisabledSchema, raw);
  refuseSelf(actor, input.userId, input.disabled ? "disable" : "enable");
  return serializableTransaction(async (tx) => {
    const before = await loadUser(tx, input.userId);
    if (!input.disabled && before.disabled && before.role === "SECURITY_OFFICER" && (await readFourEyes(tx)).enabled) {
      const req = await createApprovalRequest(tx, actor, {
        kind: "user.enable",
        objectType: "user",
        objectId: before.id,
        summary: [{ field: `Security Officer ${before.email}`, from: "disabled", to: "enabled" }],
        payload: { userId: before.id, disabled: false },
        requiredPermission: "user:manage",
      });
      return { ...toUserDto(before), pendingApprovalId: req.id };
    }
    const user = await tx.user.update({
      where: { id: input.userId },
      data: { disabled: input.disabled, sessionVersion: { increment: 1 }, enabledChangedById: actor.id },
    });
    if (input.disabled) await revokeUserSessions(tx, user.id);
    await keepOneActiveAdmin(tx);
    await keepTwoSecurityOfficers(tx);
    await recordAuditEvent(
      { actor, action: input.disabled ? "user.disable" : "user.enable", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email } },
      tx,
    );
    return toUserDto(user);
  });
}
