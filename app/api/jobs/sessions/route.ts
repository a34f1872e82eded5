import { routeHandler } from "@/lib/auth/route";
import { listSessions } from "@/lib/services/jobs/list-sessions";

export const dynamic = "force-dynamic";

/** One page of sessions of every kind, filtered by the query string (polled by the Sessions page). */
export const GET = routeHandler(async (actor, req) => {
  const params = new URL(req.url).searchParams;
  const raw: Record<string, string> = {};
  for (const [k, v] of params) if (!(k in raw)) raw[k] = v;
  return listSessions(actor, raw);
});
