import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { permanentFailoverSchema } from "@/lib/schemas/failover";
import { failoverRefusal } from "./failover-rules";
import { enqueueFailoverSession } from "./failover-session";

// Permanent failover (FOV-1): the failed-over replica becomes the production VM. A job removes its
// points (what it runs on is kept: committed), and the source VM leaves the replication job, which
// never touches this replica again. Only a replica in Failover, and only Backup Administrators:
// it changes a job and cannot be undone.

export async function permanentFailover(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "failover:permanent");
  const input = parseInput(permanentFailoverSchema, raw);
  const replica = await db.replica.findUnique({ where: { id: input.replicaId } });
  if (!replica) throw new AppError("NOT_FOUND", "This replica does not exist (its job may have been removed).");
  const refusal = failoverRefusal("permanent", replica.state, replica.replicaVmName);
  if (refusal) throw new AppError("CONFLICT", refusal);
  return enqueueFailoverSession(actor, { action: "permanent", replicaId: replica.id, snapshotId: replica.failoverPointId, networks: [], reason: input.reason });
}
