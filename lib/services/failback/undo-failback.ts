import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { undoFailbackSchema } from "@/lib/schemas/failback";
import { failbackRefusal } from "@/lib/services/failover/failover-rules";
import { enqueueFailbackSession } from "./failback-session";

// Undo failback (FBK-1): a job makes the replica production again — the failed-back VM is powered
// off (a new VM the failback made is deleted), the replica powered on — state Failover.
export async function undoFailback(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "failback:run");
  const input = parseInput(undoFailbackSchema, raw);
  const replica = await db.replica.findUnique({ where: { id: input.replicaId } });
  if (!replica) throw new AppError("NOT_FOUND", "This replica does not exist (its job may have been removed).");
  const refusal = failbackRefusal("undo-failback", replica.state, replica.replicaVmName);
  if (refusal) throw new AppError("CONFLICT", refusal);
  return enqueueFailbackSession(actor, { action: "undo-failback", replicaId: replica.id, destination: null, reason: input.reason });
}
