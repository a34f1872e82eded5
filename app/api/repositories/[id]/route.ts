import { routeHandler } from "@/lib/auth/route";
import { AppError } from "@/lib/errors/app-error";
import { getBackupRepository } from "@/lib/services/backup/list-repositories";

export const dynamic = "force-dynamic";

// Ids are cuids or engine ids: letters, digits, "-" and "_". Anything else is a malformed request (400), not a missing repository (404).
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** One repository with its last verify report (polled by the repository page while a verify runs). */
export const GET = routeHandler(async (actor, _req, ctx: { params: Promise<{ id: string }> }) => {
  const { id } = await ctx.params;
  if (!ID.test(id)) throw new AppError("INVALID_INPUT", "Malformed repository id.");
  return getBackupRepository(actor, { repositoryId: id });
});
