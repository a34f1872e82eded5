"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { commitFailbackSchema, startFailbackSchema, undoFailbackSchema } from "@/lib/schemas/failback";
import { commitFailback } from "@/lib/services/failback/commit-failback";
import { startFailback } from "@/lib/services/failback/start-failback";
import { undoFailback } from "@/lib/services/failback/undo-failback";

// Failback of replicas (FBK-1). Each action is gated by the action table and its service
// authorizes again on the server; each is a job whose session the browser opens.

/** Failback: the destination is checked on the server before the job is queued. */
export const startFailbackAction = validatedAction("failback.start", startFailbackSchema, async (actor, input) => {
  const { sessionId } = await startFailback(actor, input);
  revalidatePath("/replicas");
  revalidatePath("/sessions");
  return { message: "Failback started.", id: sessionId };
});

/** Commit failback: production is the source again and replication resumes from it. */
export const commitFailbackAction = validatedAction("failback.commit", commitFailbackSchema, async (actor, input) => {
  const { sessionId } = await commitFailback(actor, input);
  revalidatePath("/replicas");
  revalidatePath("/sessions");
  return { message: "Commit failback started.", id: sessionId };
});

/** Undo failback: the replica is production again. */
export const undoFailbackAction = validatedAction("failback.undo", undoFailbackSchema, async (actor, input) => {
  const { sessionId } = await undoFailback(actor, input);
  revalidatePath("/replicas");
  revalidatePath("/sessions");
  return { message: "Undo failback started.", id: sessionId };
});
