"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { jobIdSchema, sessionIdSchema, setJobEnabledSchema } from "@/lib/schemas/backup";
import { runBackupJobNow, setBackupJobEnabled, stopJobSession } from "@/lib/services/backup/run-backup-job";

export const runBackupJobNowAction = validatedAction("job.run", jobIdSchema, async (actor, input) => {
  const { sessionId } = await runBackupJobNow(actor, input);
  revalidatePath("/jobs", "layout");
  return { message: "Queued: the session starts in a moment.", id: sessionId };
});

export const stopJobSessionAction = validatedAction("job.stop", sessionIdSchema, async (actor, input) => {
  const { state } = await stopJobSession(actor, input);
  revalidatePath("/jobs", "layout");
  revalidatePath(`/sessions/${input.sessionId}`);
  return state === "stopped" ? "Stopped before it started." : "Stop requested: the VM being read finishes first, the others are not started.";
});

export const setBackupJobEnabledAction = validatedAction("job.set-enabled", setJobEnabledSchema, async (actor, input) => {
  await setBackupJobEnabled(actor, input);
  revalidatePath("/jobs", "layout");
  return input.enabled ? "Enabled: the job runs on its schedule." : "Disabled: the scheduler skips it; it can still run now.";
});
