import "server-only";
import crypto from "node:crypto";
import { db, type DbTx } from "@/lib/db/client";

// Server-side sessions (SEC-1): the JWT names one row here; sign-out and "End sessions" revoke it,
// so a cookie saved before is refused on its next request (lib/auth/session.ts).
export const SESSION_MAX_AGE_S = 8 * 60 * 60;

/** A new session for a user who just signed in; its id goes into the JWT. */
export async function startUserSession(userId: string, sourceIp: string | null): Promise<string> {
  const id = crypto.randomBytes(24).toString("base64url");
  await db.userSession.create({ data: { id, userId, sourceIp, expiresAt: new Date(Date.now() + SESSION_MAX_AGE_S * 1000) } });
  return id;
}

/** True while the session exists for this user, is not revoked and has not expired. */
export async function isSessionLive(sessionId: string | undefined, userId: string, now = new Date()): Promise<boolean> {
  if (!sessionId) return false;
  const s = await db.userSession.findUnique({ where: { id: sessionId } });
  return Boolean(s && s.userId === userId && !s.revokedAt && s.expiresAt > now);
}

/** Revokes one session; returns its user when it was live. */
export async function revokeSession(sessionId: string, tx: DbTx = db): Promise<string | null> {
  const s = await tx.userSession.findUnique({ where: { id: sessionId } });
  if (!s || s.revokedAt) return null;
  await tx.userSession.update({ where: { id: sessionId }, data: { revokedAt: new Date() } });
  return s.userId;
}

/** Revokes every live session of a user; returns how many. */
export async function revokeUserSessions(tx: DbTx, userId: string): Promise<number> {
  const r = await tx.userSession.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } });
  return r.count;
}
