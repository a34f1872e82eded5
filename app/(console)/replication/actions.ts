"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { validatedAction } from "@/lib/auth/safe-action";
import { createReplicationJobSchema, replicationJobIdSchema } from "@/lib/schemas/replication";
import { checkReplicationChoices } from "@/lib/services/replication/check-replication-choices";
import { createReplicationJob } from "@/lib/services/replication/create-replication-job";
import { runReplicationJobNow } from "@/lib/services/replication/run-replication-job";

const runNow = z.object({ runNow: z.boolean().default(false) });

/** The wizard's server check, as the choices change: the checks Create applies, nothing written. */
export const checkReplicationJobAction = validatedAction("replication.check", z.intersection(createReplicationJobSchema, z.object({ editingJobId: z.string().trim().min(1).max(64).optional() })), async (actor, input) => {
  const { editingJobId, ...job } = input;
  const result = await checkReplicationChoices(actor, job, editingJobId);
  return { message: result.ok ? "The replication job can be created as chosen." : (result.problem?.message ?? "The job cannot be created as chosen."), data: result };
});

/** Create, and with "Create and run now" its first run (the browser then opens the session). */
export const createReplicationJobAction = validatedAction("replication.create", z.intersection(createReplicationJobSchema, runNow), async (actor, input) => {
  const { runNow: start, ...job } = input;
  const saved = await createReplicationJob(actor, job);
  revalidatePath("/replication");
  const warn = saved.warnings.length ? ` ${saved.warnings.join(". ")}.` : "";
  if (start) {
    const { sessionId } = await runReplicationJobNow(actor, { jobId: saved.id });
    revalidatePath("/sessions");
    return { message: `Replication job ${job.name} created and started.${warn}`, id: `session:${sessionId}` };
  }
  return { message: `Replication job ${job.name} created.${warn}`, id: saved.id };
});

export const runReplicationJobNowAction = validatedAction("replication.run", replicationJobIdSchema, async (actor, input) => {
  const { sessionId } = await runReplicationJobNow(actor, input);
  revalidatePath("/replication", "layout");
  revalidatePath("/sessions");
  return { message: "Queued: the session starts in a moment.", id: sessionId };
});
