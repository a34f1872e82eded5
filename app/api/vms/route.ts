import { routeHandler } from "@/lib/auth/route";
import { AppError } from "@/lib/errors/app-error";
import { listVms } from "@/lib/services/inventory/list-vms";

export const dynamic = "force-dynamic";

/** GET /api/vms?q=&site=&tenant=&keyProvider=&encrypted=yes|no&vtpm=yes|no&page=&pageSize= */
export const GET = routeHandler(async (actor, req) => {
  const url = new URL(req.url);
  if (url.search.length > 2048) throw new AppError("INVALID_INPUT", "The query string is too long.");
  return listVms(actor, Object.fromEntries(url.searchParams));
});
