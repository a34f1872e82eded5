import { routeHandler } from "@/lib/auth/route";
import { listBackupJobs } from "@/lib/services/backup/list-backup-jobs";

export const dynamic = "force-dynamic";

/** Every backup job with its last and active session (polled by the jobs page). */
export const GET = routeHandler(async (actor) => listBackupJobs(actor));
