"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { checkFailoverSchema, permanentFailoverSchema, plannedFailoverSchema, startFailoverSchema, undoFailoverSchema } from "@/lib/schemas/failover";
import { checkFailover } from "@/lib/services/failover/check-failover";
import { permanentFailover } from "@/lib/services/failover/permanent-failover";
import { startFailover } from "@/lib/services/failover/start-failover";
import { startPlannedFailover } from "@/lib/services/failover/start-planned-failover";
import { undoFailover } from "@/lib/services/failover/undo-failover";

// Failover of replicas (FOV-1). Each action is gated by the action table and its service
// authorizes again on the server; each start is a job whose session the browser opens.

/** The pre-failover check, per replica and point: go / no-go with the reasons. */
export const checkFailoverAction = validatedAction("failover.check", checkFailoverSchema, async (actor, input) => {
  const results = await checkFailover(actor, input);
  const noGo = results.filter((r) => !r.go).length;
  return { message: noGo === 0 ? "The pre-failover check says go." : `The pre-failover check says no-go for ${noGo} replica(s).`, data: results };
});

/** Failover now: checked again on the server and inside the job. */
export const startFailoverAction = validatedAction("failover.start", startFailoverSchema, async (actor, input) => {
  const { sessionId } = await startFailover(actor, input);
  revalidatePath("/replicas");
  revalidatePath("/sessions");
  return { message: "Failover started.", id: sessionId };
});

/** Undo failover: the replica is powered off and reverted to its failover point. */
export const undoFailoverAction = validatedAction("failover.undo", undoFailoverSchema, async (actor, input) => {
  const { sessionId } = await undoFailover(actor, input);
  revalidatePath("/replicas");
  revalidatePath("/sessions");
  return { message: "Undo failover started.", id: sessionId };
});

/** Permanent failover: the replica becomes the production VM; its source leaves the job. */
export const permanentFailoverAction = validatedAction("failover.permanent", permanentFailoverSchema, async (actor, input) => {
  const { sessionId } = await permanentFailover(actor, input);
  revalidatePath("/replicas");
  revalidatePath("/sessions");
  return { message: "Permanent failover started.", id: sessionId };
});

/** Planned failover: a sync, the source powered off, a final sync, then failover (no data lost). */
export const startPlannedFailoverAction = validatedAction("failover.planned", plannedFailoverSchema, async (actor, input) => {
  const { sessionId } = await startPlannedFailover(actor, input);
  revalidatePath("/replicas");
  revalidatePath("/sessions");
  return { message: "Planned failover started.", id: sessionId };
});
