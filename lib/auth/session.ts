import "server-only";
import { getServerSession } from "next-auth";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { resolveSessionUser, type SessionClaims } from "@/lib/services/auth/resolve-session";
import type { Actor } from "./actor";
import { authOptionsFor } from "./options";
import { sourceIpFrom } from "./source-ip";

/**
 * The signed-in user for this request, re-read from the database: a disabled user, one whose
 * session version moved on (role change, password reset), or a session signed out or ended on the
 * server gets null even with a valid cookie.
 */
export const getActor = cache(async (): Promise<Actor | null> => {
  const h = await headers();
  const session = (await getServerSession(authOptionsFor(h))) as SessionClaims | null;
  const user = await resolveSessionUser(session);
  if (!user) return null;
  return { ...user, sourceIp: sourceIpFrom(h) };
});

/** For pages: the actor, or a redirect to the sign-in page. */
export async function requireActor(): Promise<Actor> {
  const actor = await getActor();
  if (!actor) redirect("/sign-in");
  return actor;
}
