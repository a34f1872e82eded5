import "server-only";
import { db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { revokeSession } from "./user-sessions";

/**
 * Ends the session the browser signs out of, on the server (SEC-1): the cookie is refused from now
 * on even if a copy was kept. Recorded in the audit log (SEC-4).
 */
export async function signOut(sessionId: string | undefined, sourceIp: string | null): Promise<void> {
  if (!sessionId) return;
  const userId = await revokeSession(sessionId);
  if (!userId) return;
  const user = await db.user.findUnique({ where: { id: userId }, select: { id: true, email: true } });
  await recordAuditEvent({ actor: user ? { id: user.id, email: user.email, sourceIp } : null, sourceIp, action: "auth.sign-out", objectType: "user", objectId: userId, outcome: "success" });
}
