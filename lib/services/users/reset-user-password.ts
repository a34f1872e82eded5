import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { hashPassword } from "@/lib/auth/password";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseInput } from "@/lib/errors/parse-input";
import { resetUserPasswordSchema } from "@/lib/schemas/users";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { toUserDto, type UserDto } from "./user-dto";
import { loadUser } from "./user-guards";

/** Sets a new sign-in password and ends the user's existing sessions. */
export async function resetUserPassword(actor: Actor, raw: z.input<typeof resetUserPasswordSchema>): Promise<UserDto> {
  authorize(actor, "user:manage");
  const input = parseInput(resetUserPasswordSchema, raw);
  const passwordHash = await hashPassword(input.password);
  return serializableTransaction(async (tx) => {
    await loadUser(tx, input.userId);
    const user = await tx.user.update({
      where: { id: input.userId },
      data: { passwordHash, sessionVersion: { increment: 1 } },
    });
    await recordAuditEvent(
      { actor, action: "user.reset-password", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email } },
      tx,
    );
    return toUserDto(user);
  });
}
