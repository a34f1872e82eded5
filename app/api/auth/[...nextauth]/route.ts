import NextAuth from "next-auth";
import { authOptionsFor } from "@/lib/auth/options";

// Options per request: the session cookie is Secure whenever the console is served over HTTPS.
async function handler(req: Request, ctx: { params: Promise<{ nextauth: string[] }> }) {
  return NextAuth(req as never, ctx as never, authOptionsFor(req.headers));
}
export { handler as GET, handler as POST };
