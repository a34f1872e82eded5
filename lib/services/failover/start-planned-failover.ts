import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { plannedFailoverSchema } from "@/lib/schemas/failover";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { failoverHost } from "@/lib/services/inventory/platform";
import { planFailover } from "./check-failover";
import { enqueueFailoverSession } from "./failover-session";

// Planned failover (FOV-1), when production is still there: one more sync while the source runs,
// the source powered off, a final sync (nothing written after it is lost), then failover to the
// point the final sync made. The pre-failover check must say go now (the point then is the final
// sync's, which the job checks again), and the source must be in the inventory.

export async function startPlannedFailover(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "failover:run");
  const input = parseInput(plannedFailoverSchema, raw);
  const plan = await planFailover(input.replicaId, undefined);
  const replica = await db.replica.findUnique({ where: { id: input.replicaId } });
  const source = replica ? (await failoverHost().inventory()).vms.find((v) => v.externalId === replica.sourceVmExternalId) : undefined;
  const reasons = [...plan.reasons];
  if (replica && !source) reasons.push(`${replica.sourceVmName} is not in the inventory (the production site may be down): a planned failover syncs from it; use failover now instead.`);
  if (reasons.length) {
    await recordAuditEvent({ actor, action: "failover.planned.start", objectType: "replica", objectId: input.replicaId, outcome: "failure", details: { replica: plan.replicaVmName, refused: reasons.join(" ") } });
    throw new AppError("CONFLICT", `The pre-failover check says no-go for ${plan.replicaVmName}: ${reasons.join(" ")}`);
  }
  return enqueueFailoverSession(actor, { action: "planned", replicaId: input.replicaId, snapshotId: null, networks: plan.networks, reason: input.reason });
}
