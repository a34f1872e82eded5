"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { sessionIdSchema } from "@/lib/schemas/backup";
import { stopRestoreSession } from "@/lib/services/backup/run-backup-job";

/** Stops a restore session: the VM being written is cut off and deleted (never half-restored); VMs not started are skipped. */
export const stopRestoreSessionAction = validatedAction("restore.stop", sessionIdSchema, async (actor, input) => {
  const { state } = await stopRestoreSession(actor, input);
  revalidatePath(`/sessions/${input.sessionId}`);
  return state === "stopped" ? "Stopped before it started." : "Stop requested: the VM being restored is cut off and its new copy deleted; the others are not started.";
});
