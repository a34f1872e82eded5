import { routeHandler } from "@/lib/auth/route";
import { listWorkers } from "@/lib/services/jobs/list-workers";

export const dynamic = "force-dynamic";

/** Every worker with its heartbeat and tasks, and the proxies' task slots (polled by the Workers page). */
export const GET = routeHandler(async (actor) => listWorkers(actor));
