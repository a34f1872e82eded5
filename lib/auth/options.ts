import "server-only";
import type { NextAuthOptions } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { signIn } from "@/lib/services/auth/sign-in";
import { authSecret } from "./secret";
import { sourceIpFrom } from "./source-ip";

// next-auth (v4) with credentials against users in our database; no self-registration.
// The JWT carries only the user id and session version: role and "disabled" are re-read from the
// database on every request (lib/auth/session.ts), so demotion or disabling bites at once.
export const authOptions: NextAuthOptions = {
  secret: authSecret(),
  session: { strategy: "jwt", maxAge: 8 * 60 * 60 },
  pages: { signIn: "/sign-in", error: "/sign-in" },
  providers: [
    Credentials({
      name: "Strongroom",
      credentials: { email: { type: "email" }, password: { type: "password" } },
      async authorize(credentials, req) {
        const user = await signIn(credentials, sourceIpFrom(req?.headers ?? {}));
        return user ? { id: user.id, email: user.email, name: user.name, sessionVersion: user.sessionVersion } : null;
      },
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      if (user) {
        token.uid = user.id;
        token.sv = (user as { sessionVersion?: number }).sessionVersion;
      }
      return token;
    },
    session({ session, token }) {
      return { ...session, uid: token.uid as string | undefined, sv: token.sv as number | undefined };
    },
  },
};
