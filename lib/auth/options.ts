import "server-only";
import type { NextAuthOptions } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { headers } from "next/headers";
import { env } from "@/lib/config/env";
import { signIn } from "@/lib/services/auth/sign-in";
import { signOut } from "@/lib/services/auth/sign-out";
import { SESSION_MAX_AGE_S, startUserSession } from "@/lib/services/auth/user-sessions";
import { authSecret } from "./secret";
import { isHttpsRequest, sourceIpFrom } from "./source-ip";

// next-auth (v4) with credentials against users in our database; no self-registration.
// The JWT carries only the user id, the session version and the server-side session id: role and
// "disabled" are re-read from the database on every request (lib/auth/session.ts), so demotion or
// disabling bites at once, and signing out revokes the session row so a kept cookie is refused.
const baseOptions: NextAuthOptions = {
  secret: authSecret(),
  session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_S },
  pages: { signIn: "/sign-in", error: "/sign-in" },
  providers: [
    Credentials({
      name: "Strongroom",
      credentials: { email: { type: "email" }, password: { type: "password" } },
      async authorize(credentials, req) {
        const sourceIp = sourceIpFrom(req?.headers ?? {});
        const user = await signIn(credentials, sourceIp);
        if (!user) return null;
        const sessionId = await startUserSession(user.id, sourceIp);
        return { id: user.id, email: user.email, name: user.name, sessionVersion: user.sessionVersion, sessionId };
      },
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      if (user) {
        const u = user as { id: string; sessionVersion?: number; sessionId?: string };
        token.uid = u.id;
        token.sv = u.sessionVersion;
        token.sid = u.sessionId;
      }
      return token;
    },
    session({ session, token }) {
      return { ...session, uid: token.uid as string | undefined, sv: token.sv as number | undefined, sid: token.sid as string | undefined };
    },
  },
  events: {
    async signOut({ token }) {
      let sourceIp: string | null = null;
      try {
        sourceIp = sourceIpFrom(await headers());
      } catch {
        // outside a request scope: audit without an address
      }
      await signOut((token as { sid?: string } | null)?.sid, sourceIp);
    },
  },
};

/**
 * The options for one request: the session cookie is Secure (and __Secure- prefixed) when the
 * console is served over HTTPS — NEXTAUTH_URL is https, or a trusted proxy says the client used
 * https (lib/auth/forwarded-headers-guard.ts).
 */
export function authOptionsFor(h: Headers | Record<string, string | string[] | undefined>): NextAuthOptions {
  return { ...baseOptions, useSecureCookies: isHttpsRequest(h, env.NEXTAUTH_URL) };
}
