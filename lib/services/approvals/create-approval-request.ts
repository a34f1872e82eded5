import "server-only";
import type { Actor } from "@/lib/auth/actor";
import type { DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import type { Permission } from "@/lib/permissions/roles";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { payloadHash, payloadSchemas, type ApprovalKind, type ApprovalPayload, type DiffLine } from "./approval-payload";
import { readFourEyes } from "./four-eyes-state";

/**
 * Called by a guarded service, inside its transaction, after it authorized the requester: records
 * the request instead of the change. One pending request per object and kind: a second one is
 * refused until the first is decided or cancelled.
 */
export async function createApprovalRequest<K extends ApprovalKind>(
  tx: DbTx,
  actor: Actor,
  r: { kind: K; objectType: string; objectId: string; summary: DiffLine[]; payload: ApprovalPayload<K>; requiredPermission: Permission },
): Promise<{ id: string; expiresAt: Date }> {
  const payload = payloadSchemas[r.kind].parse(r.payload);
  const open = await tx.approvalRequest.findFirst({ where: { kind: r.kind, objectType: r.objectType, objectId: r.objectId, state: "pending", expiresAt: { gt: new Date() } }, select: { id: true } });
  if (open) throw new AppError("CONFLICT", "A request for this change is already waiting for a Security Officer. Cancel it first, or wait for the decision.");
  const { expiryHours } = await readFourEyes(tx);
  const expiresAt = new Date(Date.now() + expiryHours * 3_600_000);
  const row = await tx.approvalRequest.create({
    data: {
      kind: r.kind,
      objectType: r.objectType,
      objectId: r.objectId,
      summary: JSON.stringify(r.summary),
      payload: JSON.stringify(payload),
      payloadHash: payloadHash(r.kind, r.objectId, payload),
      requiredPermission: r.requiredPermission,
      requestedById: actor.id,
      expiresAt,
    },
  });
  await recordAuditEvent(
    { actor, action: "approval.request", objectType: r.objectType, objectId: r.objectId, outcome: "success", details: { request: row.id, kind: r.kind, summary: r.summary, expiresAt: expiresAt.toISOString() } },
    tx,
  );
  return { id: row.id, expiresAt };
}
