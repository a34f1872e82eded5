import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseInput } from "@/lib/errors/parse-input";
import { setUserDisabledSchema } from "@/lib/schemas/users";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { toUserDto, type UserDto } from "./user-dto";
import { keepTwoSecurityOfficers } from "@/lib/services/approvals/four-eyes-state";
import { keepOneActiveAdmin, loadUser, refuseSelf } from "./user-guards";

/** Disabling bumps the session version, so the user's existing sessions end on their next request. */
export async function setUserDisabled(actor: Actor, raw: z.input<typeof setUserDisabledSchema>): Promise<UserDto> {
  authorize(actor, "user:manage");
  const input = parseInput(setUserDisabledSchema, raw);
  refuseSelf(actor, input.userId, input.disabled ? "disable" : "enable");
  return serializableTransaction(async (tx) => {
    await loadUser(tx, input.userId);
    const user = await tx.user.update({
      where: { id: input.userId },
      data: { disabled: input.disabled, sessionVersion: { increment: 1 } },
    });
    await keepOneActiveAdmin(tx);
    await keepTwoSecurityOfficers(tx);
    await recordAuditEvent(
      { actor, action: input.disabled ? "user.disable" : "user.enable", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email } },
      tx,
    );
    return toUserDto(user);
  });
}
