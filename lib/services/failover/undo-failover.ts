import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { undoFailoverSchema } from "@/lib/schemas/failover";
import { failoverRefusal } from "./failover-rules";
import { enqueueFailoverSession } from "./failover-session";

// Undo failover (FOV-1): a job powers the replica off and reverts it to the point it was failed
// over to, discarding everything written since; the replica is Ready again and replication may
// run. Only a replica in Failover.

export async function undoFailover(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "failover:run");
  const input = parseInput(undoFailoverSchema, raw);
  const replica = await db.replica.findUnique({ where: { id: input.replicaId } });
  if (!replica) throw new AppError("NOT_FOUND", "This replica does not exist (its job may have been removed).");
  const refusal = failoverRefusal("undo", replica.state, replica.replicaVmName);
  if (refusal) throw new AppError("CONFLICT", refusal);
  return enqueueFailoverSession(actor, { action: "undo", replicaId: replica.id, snapshotId: replica.failoverPointId, networks: [], reason: input.reason });
}
