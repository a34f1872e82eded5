import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { commitFailbackSchema } from "@/lib/schemas/failback";
import { failbackRefusal } from "@/lib/services/failover/failover-rules";
import { enqueueFailbackSession } from "./failback-session";

// Commit failback (FBK-1): a job makes production the source again — the replica is powered off
// and its replication resumes from the failed-back VM (see run-failback.ts) — state Ready.
export async function commitFailback(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "failback:run");
  const input = parseInput(commitFailbackSchema, raw);
  const replica = await db.replica.findUnique({ where: { id: input.replicaId } });
  if (!replica) throw new AppError("NOT_FOUND", "This replica does not exist (its job may have been removed).");
  const refusal = failbackRefusal("commit-failback", replica.state, replica.replicaVmName);
  if (refusal) throw new AppError("CONFLICT", refusal);
  return enqueueFailbackSession(actor, { action: "commit-failback", replicaId: replica.id, destination: null, reason: input.reason });
}
