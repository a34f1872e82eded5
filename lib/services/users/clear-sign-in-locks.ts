import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { approvalSubject, clearSubject, signInSubject } from "@/lib/services/auth/sign-in-throttle";
import { db } from "@/lib/db/client";
import { loadUser } from "./user-guards";

export const clearSignInLocksSchema = z.object({ userId: z.string().trim().min(1, "Missing user id").max(64, "Invalid user id") });

/**
 * The way back from a sign-in lock that does not need the locked person (SEC-1): a Backup
 * Administrator or a Security Officer clears every count and lock on the account, from every
 * address (sign-in and the password of Approve). Audited.
 */
export async function clearSignInLocks(actor: Actor, raw: z.input<typeof clearSignInLocksSchema>): Promise<{ email: string; cleared: number }> {
  authorize(actor, "signin:unlock");
  const { userId } = parseInput(clearSignInLocksSchema, raw);
  const user = await loadUser(db, userId);
  const cleared = (await clearSubject(signInSubject(user.email))) + (await clearSubject(approvalSubject(user.id)));
  await recordAuditEvent({ actor, action: "user.clear-sign-in-lock", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email, cleared } });
  return { email: user.email, cleared };
}
