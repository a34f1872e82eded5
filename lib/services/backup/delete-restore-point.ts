import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db, type DbTx } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { ImmutabilityError, NotFoundError } from "@/lib/engine";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { createApprovalRequest } from "@/lib/services/approvals/create-approval-request";
import { readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { openCataloguedRepository } from "./repository-store";

const schema = z.object({ pointId: z.string().regex(/^[0-9a-f]{32}$/, "Not a restore point id") });

/**
 * Deletes one restore point (BKP-8: never a block a kept point needs; refused while immutable).
 * With four-eyes on it becomes a request instead (SEC-2).
 */
export async function deleteRestorePoint(actor: Actor, raw: z.input<typeof schema>): Promise<{ deleted: boolean; pendingApprovalId?: string }> {
  authorize(actor, "job:manage");
  const { pointId } = parseInput(schema, raw);
  const row = await db.restorePoint.findUnique({ where: { id: pointId }, include: { repository: true } });
  if (!row || row.status === "removed") throw new AppError("NOT_FOUND", "This restore point no longer exists.");
  if ((await readFourEyes()).enabled) {
    const req = await serializableTransaction((tx) =>
      createApprovalRequest(tx, actor, {
        kind: "restore-point.delete",
        objectType: "restore-point",
        objectId: pointId,
        summary: [{ field: `Restore point of ${row.vmName}, ${row.createdAt.toISOString().slice(0, 16).replace("T", " ")} UTC`, from: "kept", to: "deleted" }],
        payload: { pointId },
        requiredPermission: "job:manage",
      }),
    );
    return { deleted: false, pendingApprovalId: req.id };
  }
  await serializableTransaction((tx) => deleteRestorePointNow(tx, pointId, actor));
  return { deleted: true };
}

/**
 * Deletes the point's file (and packs nothing else needs), then its catalogue row; the chain it
 * ended starts over with a full, since its CBT change ids belong to the deleted point.
 */
export async function deleteRestorePointNow(tx: DbTx, pointId: string, actor: Pick<Actor, "id" | "email" | "sourceIp">): Promise<void> {
  const row = await tx.restorePoint.findUnique({ where: { id: pointId }, include: { repository: true } });
  if (!row || row.status === "removed") throw new AppError("CONFLICT", "This restore point no longer exists.");
  const repo = await openCataloguedRepository(row.repository);
  try {
    await repo.deletePoint(pointId);
  } catch (e) {
    if (e instanceof ImmutabilityError) throw new AppError("CONFLICT", `This restore point is immutable until ${e.message.match(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/)?.[0] ?? "its period ends"}; it cannot be deleted before.`);
    if (!(e instanceof NotFoundError)) throw e;
  }
  await tx.restorePoint.update({ where: { id: pointId }, data: { status: "removed" } });
  await tx.jobVmState.deleteMany({ where: { lastPointId: pointId } });
  await recordAuditEvent({ actor, action: "restore-point.delete", objectType: "restore-point", objectId: pointId, outcome: "success", details: { vm: row.vmName, repository: row.repository.name } }, tx);
}
