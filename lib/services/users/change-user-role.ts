import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseInput } from "@/lib/errors/parse-input";
import { changeUserRoleSchema } from "@/lib/schemas/users";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { toUserDto, type UserDto } from "./user-dto";
import { ROLE_LABELS } from "@/lib/permissions/roles";
import { createApprovalRequest } from "@/lib/services/approvals/create-approval-request";
import { keepTwoSecurityOfficers, readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { keepOneActiveAdmin, loadUser, refuseSelf } from "./user-guards";

/** The new role takes effect on the user's next request: sessions re-read the role (lib/auth/session.ts). */
export async function changeUserRole(actor: Actor, raw: z.input<typeof changeUserRoleSchema>): Promise<UserDto & { pendingApprovalId?: string }> {
  authorize(actor, "user:manage");
  const input = parseInput(changeUserRoleSchema, raw);
  refuseSelf(actor, input.userId, "change the role of");
  return serializableTransaction(async (tx) => {
    const before = await loadUser(tx, input.userId);
    if ((await readFourEyes(tx)).enabled && before.role !== input.role) {
      // SEC-2: a role change waits for another Security Officer.
      const req = await createApprovalRequest(tx, actor, {
        kind: "user.role",
        objectType: "user",
        objectId: before.id,
        summary: [{ field: `Role of ${before.email}`, from: ROLE_LABELS[before.role], to: ROLE_LABELS[input.role] }],
        payload: { userId: before.id, role: input.role },
        requiredPermission: "user:manage",
      });
      return { ...toUserDto(before), pendingApprovalId: req.id };
    }
    const user = await tx.user.update({ where: { id: input.userId }, data: { role: input.role, roleChangedById: actor.id } });
    await keepOneActiveAdmin(tx);
    await keepTwoSecurityOfficers(tx);
    await recordAuditEvent(
      { actor, action: "user.change-role", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email, from: before.role, to: user.role } },
      tx,
    );
    return toUserDto(user);
  });
}
