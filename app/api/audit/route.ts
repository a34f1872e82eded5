import { routeHandler } from "@/lib/auth/route";
import { AppError } from "@/lib/errors/app-error";
import { listAuditEvents } from "@/lib/services/audit/list-audit-events";

export const dynamic = "force-dynamic";

/** GET /api/audit?user=&action=&objectType=&objectId=&outcome=&from=&to=&pageSize=&before=|after= — one page, newest first. */
export const GET = routeHandler(async (actor, req) => {
  const url = new URL(req.url);
  if (url.search.length > 2048) throw new AppError("INVALID_INPUT", "The query string is too long.");
  return listAuditEvents(actor, Object.fromEntries(url.searchParams));
});
