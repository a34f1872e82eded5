import { routeHandler } from "@/lib/auth/route";
import { AppError } from "@/lib/errors/app-error";
import { getJobSession } from "@/lib/services/backup/get-job-session";

export const dynamic = "force-dynamic";

// Ids are cuids or engine ids: letters, digits, "-" and "_". Anything else is a malformed request (400), not a missing session (404).
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** One job session with its live progress and log (polled every second by the session page while it runs). */
export const GET = routeHandler(async (actor, _req, ctx: { params: Promise<{ id: string }> }) => {
  const { id } = await ctx.params;
  if (!ID.test(id)) throw new AppError("INVALID_INPUT", "Malformed session id.");
  return getJobSession(actor, { sessionId: id });
});
