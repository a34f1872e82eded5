import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { kmsClusterIdSchema } from "@/lib/schemas/kms";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { createApprovalRequest } from "@/lib/services/approvals/create-approval-request";
import { readFourEyes } from "@/lib/services/approvals/four-eyes-state";

/** Forgets a KMS cluster's connection (its key providers stay, unserved). Keys on the KMS are untouched (KEY-8). */
export async function removeKmsCluster(actor: Actor, raw: unknown): Promise<{ removed: string; pendingApprovalId?: string }> {
  authorize(actor, "keyprovider:manage");
  const { clusterId } = parseInput(kmsClusterIdSchema, raw);
  return serializableTransaction(async (tx) => {
    const cluster = await tx.kmsCluster.findUnique({ where: { id: clusterId } });
    if (!cluster) throw new AppError("NOT_FOUND", "That KMS cluster no longer exists. Reload the page.");
    if ((await readFourEyes(tx)).enabled) {
      // SEC-2: removing a key provider's KMS waits for a Security Officer.
      const req = await createApprovalRequest(tx, actor, {
        kind: "kms-cluster.remove",
        objectType: "kms-cluster",
        objectId: cluster.id,
        summary: [{ field: "KMS cluster", from: cluster.name, to: "(removed)" }],
        payload: { clusterId: cluster.id },
        requiredPermission: "keyprovider:manage",
      });
      return { removed: cluster.name, pendingApprovalId: req.id };
    }
    await tx.kmsCluster.delete({ where: { id: clusterId } });
    await recordAuditEvent({ actor, action: "kms.remove", objectType: "kms-cluster", objectId: clusterId, outcome: "success", details: { name: cluster.name } }, tx);
    return { removed: cluster.name };
  });
}
