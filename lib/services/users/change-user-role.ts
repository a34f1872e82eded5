import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseInput } from "@/lib/errors/parse-input";
import { changeUserRoleSchema } from "@/lib/schemas/users";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { toUserDto, type UserDto } from "./user-dto";
import { keepOneActiveAdmin, loadUser, refuseSelf } from "./user-guards";

/** The new role takes effect on the user's next request: sessions re-read the role (lib/auth/session.ts). */
export async function changeUserRole(actor: Actor, raw: z.input<typeof changeUserRoleSchema>): Promise<UserDto> {
  authorize(actor, "user:manage");
  const input = parseInput(changeUserRoleSchema, raw);
  refuseSelf(actor, input.userId, "change the role of");
  return serializableTransaction(async (tx) => {
    const before = await loadUser(tx, input.userId);
    const user = await tx.user.update({ where: { id: input.userId }, data: { role: input.role } });
    await keepOneActiveAdmin(tx);
    await recordAuditEvent(
      { actor, action: "user.change-role", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email, from: before.role, to: user.role } },
      tx,
    );
    return toUserDto(user);
  });
}
