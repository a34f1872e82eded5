import { routeHandler } from "@/lib/auth/route";
import { AppError } from "@/lib/errors/app-error";
import { previewBackupJob } from "@/lib/services/backup/preview-backup-job";

export const dynamic = "force-dynamic";

/** POST { selection, proxyMode, proxyIds, failoverToNetwork } → the VMs and, per disk, the proxy and mode the engine would pick and why. */
export const POST = routeHandler(async (actor, req) => {
  const text = await req.text();
  if (text.length > 64 * 1024) throw new AppError("PAYLOAD_TOO_LARGE", "The selection is too large.");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError("INVALID_INPUT", "The request body is not JSON.");
  }
  return previewBackupJob(actor, body as never);
});
