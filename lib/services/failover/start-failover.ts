import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { startFailoverSchema } from "@/lib/schemas/failover";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { planFailover } from "./check-failover";
import { enqueueFailoverSession } from "./failover-session";

// Failover now (FOV-1): the pre-failover check must say go; then a job reverts the replica to the
// chosen point, connects its networks as the job maps them and powers it on (it checks again
// first). The source VM is left as it is. A refused check is audited and queues nothing.

export async function startFailover(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "failover:run");
  const input = parseInput(startFailoverSchema, raw);
  const plan = await planFailover(input.replicaId, input.pointId);
  if (!plan.go || !plan.point) {
    await recordAuditEvent({ actor, action: "failover.failover.start", objectType: "replica", objectId: input.replicaId, outcome: "failure", details: { replica: plan.replicaVmName, point: plan.point?.snapshotId ?? null, refused: plan.reasons.join(" ") } });
    throw new AppError("CONFLICT", `The pre-failover check says no-go for ${plan.replicaVmName}: ${plan.reasons.join(" ")}`);
  }
  return enqueueFailoverSession(actor, { action: "failover", replicaId: input.replicaId, snapshotId: plan.point.snapshotId, networks: plan.networks, reason: input.reason });
}
