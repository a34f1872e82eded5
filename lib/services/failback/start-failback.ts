import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { startFailbackSchema } from "@/lib/schemas/failback";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { planFailbackDestination } from "./failback-destination";
import { enqueueFailbackSession } from "./failback-session";

// Failback (FBK-1): a replica in Failover goes back to production — to the original VM (only the
// changes shipped), to the original restored elsewhere (compared), or to a new VM (a full copy).
// The destination is checked here before anything is queued; a refused one is audited and queues
// nothing. Backup Administrators only: it overwrites or creates production VMs.
export async function startFailback(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "failback:run");
  const input = parseInput(startFailbackSchema, raw);
  const plan = await planFailbackDestination(input.replicaId, input.destination);
  if (!plan.destination) {
    await recordAuditEvent({ actor, action: "failback.failback.start", objectType: "replica", objectId: input.replicaId, outcome: "failure", details: { replica: plan.replicaVmName, destination: input.destination.kind, refused: plan.reasons.join(" ") } });
    throw new AppError("CONFLICT", `${plan.replicaVmName} cannot be failed back there: ${plan.reasons.join(" ")}`);
  }
  return enqueueFailbackSession(actor, { action: "failback", replicaId: input.replicaId, destination: plan.destination, reason: input.reason });
}
