"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { validatedAction } from "@/lib/auth/safe-action";
import { backupJobSchema, updateBackupJobSchema } from "@/lib/schemas/backup";
import { runBackupJobNow } from "@/lib/services/backup/run-backup-job";
import { createBackupJob, updateBackupJob } from "@/lib/services/backup/save-backup-job";

const runNow = z.object({ runNow: z.boolean().default(false) });

/** The wizard's Create: the job, and optionally its first run (then the browser opens the session). */
export const createBackupJobAction = validatedAction("job.create", z.intersection(backupJobSchema, runNow), async (actor, input) => {
  const saved = await createBackupJob(actor, input);
  revalidatePath("/jobs");
  const warn = saved.warnings.length ? ` ${saved.warnings.join(" ")}` : "";
  if (input.runNow && !saved.approvalRequestId) {
    const { sessionId } = await runBackupJobNow(actor, { jobId: saved.id });
    return { message: `Job ${input.name} created and started.${warn}`, id: `session:${sessionId}` };
  }
  return { message: `Job ${input.name} created.${warn}`, id: saved.id };
});

export const updateBackupJobAction = validatedAction("job.update", z.intersection(updateBackupJobSchema, runNow), async (actor, input) => {
  const saved = await updateBackupJob(actor, input);
  revalidatePath("/jobs");
  revalidatePath(`/jobs/${saved.id}`);
  const warn = saved.warnings.length ? ` ${saved.warnings.join(" ")}` : "";
  if (input.runNow && !saved.approvalRequestId) {
    const { sessionId } = await runBackupJobNow(actor, { jobId: saved.id });
    return { message: `Job ${input.name} saved and started.${warn}`, id: `session:${sessionId}` };
  }
  return { message: `Job ${input.name} saved.${warn}`, id: saved.id };
});
