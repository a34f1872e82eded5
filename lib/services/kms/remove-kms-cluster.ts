import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { kmsClusterIdSchema } from "@/lib/schemas/kms";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";

/** Forgets a KMS cluster's connection (its key providers stay, unserved). Keys on the KMS are untouched (KEY-8). */
export async function removeKmsCluster(actor: Actor, raw: unknown): Promise<{ removed: string }> {
  authorize(actor, "keyprovider:manage");
  const { clusterId } = parseInput(kmsClusterIdSchema, raw);
  return serializableTransaction(async (tx) => {
    const cluster = await tx.kmsCluster.findUnique({ where: { id: clusterId } });
    if (!cluster) throw new AppError("NOT_FOUND", "That KMS cluster no longer exists. Reload the page.");
    await tx.kmsCluster.delete({ where: { id: clusterId } });
    await recordAuditEvent({ actor, action: "kms.remove", objectType: "kms-cluster", objectId: clusterId, outcome: "success", details: { name: cluster.name } }, tx);
    return { removed: cluster.name };
  });
}
