import "server-only";
import { db } from "@/lib/db/client";
import type { Role } from "@/lib/permissions/roles";
import { isSessionLive } from "./user-sessions";

export interface SessionClaims {
  uid?: string;
  sv?: number;
  sid?: string;
}

/**
 * The user a session token stands for, re-read from the database on every request: null when the
 * user is gone or disabled, when their session version moved on (password reset, disable, "End
 * sessions"), or when this session was signed out or ended on the server.
 */
export async function resolveSessionUser(claims: SessionClaims | null | undefined): Promise<{ id: string; email: string; name: string; role: Role } | null> {
  if (!claims?.uid) return null;
  const user = await db.user.findUnique({ where: { id: claims.uid } });
  if (!user || user.disabled || user.sessionVersion !== claims.sv) return null;
  if (!(await isSessionLive(claims.sid, user.id))) return null;
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}
