"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { restoreVmSchema, startRestoreSchema } from "@/lib/schemas/restore";
import { checkRestore } from "@/lib/services/restore/check-restore";
import { startRestore } from "@/lib/services/restore/start-restore";

/** The wizard's pre-restore check: the same checks the restore runs again when it starts. */
export const checkRestoreAction = validatedAction("restore.check", restoreVmSchema, async (actor, input) => {
  const result = await checkRestore(actor, input);
  return { message: result.ok ? "The pre-restore check passed." : `The pre-restore check found ${result.problems.length} problem(s).`, data: result };
});

/**
 * Start: one restore session, checked again on the server; the browser opens the session. Under
 * four-eyes a restore that writes an encrypted VM unencrypted is a request instead (SEC-2): the
 * wizard says "Request sent" and links to it.
 */
export const startRestoreAction = validatedAction("restore.start", startRestoreSchema, async (actor, input) => {
  const started = await startRestore(actor, input);
  if ("approvalRequestId" in started) {
    revalidatePath("/approvals");
    return { message: "Request sent: a Security Officer must approve this restore before it starts.", data: { approvalRequestId: started.approvalRequestId } };
  }
  revalidatePath("/sessions");
  return { message: "Restore started.", id: started.sessionId };
});
