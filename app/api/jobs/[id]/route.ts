import { routeHandler } from "@/lib/auth/route";
import { AppError } from "@/lib/errors/app-error";
import { getBackupJob } from "@/lib/services/backup/list-backup-jobs";

export const dynamic = "force-dynamic";

// Ids are cuids or engine ids: letters, digits, "-" and "_". Anything else is a malformed request (400), not a missing job (404).
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** One backup job with its settings and latest sessions (polled by the job page). */
export const GET = routeHandler(async (actor, _req, ctx: { params: Promise<{ id: string }> }) => {
  const { id } = await ctx.params;
  if (!ID.test(id)) throw new AppError("INVALID_INPUT", "Malformed job id.");
  return getBackupJob(actor, { jobId: id });
});
