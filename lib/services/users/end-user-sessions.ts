import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { revokeUserSessions } from "@/lib/services/auth/user-sessions";
import { loadUser } from "./user-guards";

export const endUserSessionsSchema = z.object({ userId: z.string().trim().min(1, "Missing user id").max(64, "Invalid user id") });

/** An administrator signs a user out everywhere (a lost laptop, a shared screen): every session ends now. */
export async function endUserSessions(actor: Actor, raw: z.input<typeof endUserSessionsSchema>): Promise<{ email: string; ended: number }> {
  authorize(actor, "user:manage");
  const { userId } = parseInput(endUserSessionsSchema, raw);
  return serializableTransaction(async (tx) => {
    const user = await loadUser(tx, userId);
    const ended = await revokeUserSessions(tx, user.id);
    // Also ends sessions that predate the session table (the JWT's session version no longer matches).
    await tx.user.update({ where: { id: user.id }, data: { sessionVersion: { increment: 1 } } });
    await recordAuditEvent({ actor, action: "user.end-sessions", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email, ended } }, tx);
    return { email: user.email, ended };
  });
}
