import "server-only";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { createRecoveryRequest, describeKey } from "@/lib/engine";
import { pointContext } from "@/lib/engine/repository/point-file";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";
import { sealSecret } from "@/lib/services/kms/config-secrets";
import type { RequestBundle } from "./recovery-documents";

const schema = z.object({ pointIds: z.array(z.string().regex(/^[0-9a-f]{32}$/, "Not a restore point id")).min(1, "Choose at least one restore point").max(500) });

export interface CreatedRecoveryRequest {
  id: string;
  /** The document for the Security Officer; it carries no secret. */
  text: string;
  points: Array<{ pointId: string; keysetId: string; keysetInConsole: boolean }>;
  /** Points no recovery keyset protects: a lost password means they cannot be opened (KEY-6). */
  unrecoverable: Array<{ pointId: string; vmName: string; why: string }>;
}

/**
 * Step 1 of password-loss recovery (KEY-6): for each chosen restore point, a request naming its
 * storage key and a recovery keyset that wraps it. The X25519 private halves that will open the
 * answers stay in this console, sealed. Points without a keyset are listed as unrecoverable.
 */
export async function createPasswordRecoveryRequest(actor: Actor, raw: z.input<typeof schema>): Promise<CreatedRecoveryRequest> {
  authorize(actor, "job:manage");
  const { pointIds } = parseInput(schema, raw);
  const rows = await db.restorePoint.findMany({ where: { id: { in: pointIds } }, include: { repository: true } });
  if (rows.length !== new Set(pointIds).size) throw new AppError("INVALID_INPUT", "Some restore points are not in the catalogue any more. Reload the list.", { pointIds: ["Reload the list"] });
  const repositoryIds = new Set(rows.map((r) => r.repositoryId));
  if (repositoryIds.size !== 1) throw new AppError("INVALID_INPUT", "Choose restore points of one repository per request.", { pointIds: ["One repository per request"] });
  const repoRow = rows[0].repository;
  const repo = await openCataloguedRepository(repoRow);
  const known = new Set((await db.recoveryKeyset.findMany({ select: { id: true } })).map((k) => k.id));
  const id = randomUUID();
  const bundle: RequestBundle = { format: "strongroom-recovery-request-bundle", version: 1, id, createdAt: new Date().toISOString(), points: [] };
  const pending: Array<{ pointId: string; requestId: string; keysetId: string; storageKeyId: string; privateKeySealed: string }> = [];
  const unrecoverable: CreatedRecoveryRequest["unrecoverable"] = [];
  const points: CreatedRecoveryRequest["points"] = [];
  for (const row of rows) {
    const decoded = await repo.readPointFile(row.id);
    const keysets = decoded.header.protections.filter((p) => p.header.kind === "recovery-keyset");
    if (keysets.length === 0) {
      unrecoverable.push({ pointId: row.id, vmName: row.vmName, why: `no recovery keyset protects it (its keys: ${decoded.header.protections.map((p) => describeKey(p.header)).join(", ")})` });
      continue;
    }
    // Prefer a keyset this console holds; otherwise the newest (the Security Officer may hold it elsewhere).
    const chosen = keysets.find((k) => known.has(describeKey(k.header).slice("keyset:".length))) ?? keysets.at(-1)!;
    const keysetId = describeKey(chosen.header).slice("keyset:".length);
    const p = createRecoveryRequest(decoded.header.protections, pointContext(decoded.header.repositoryId, decoded.header.pointId), keysetId);
    bundle.points.push({ pointId: row.id, vmName: row.vmName, createdAt: row.createdAt.toISOString(), request: p.request });
    pending.push({ pointId: row.id, requestId: p.request.requestId, keysetId, storageKeyId: p.request.storageKeyId, privateKeySealed: sealSecret(p.exportPrivateKey(), `password-recovery:${id}:${row.id}`) });
    points.push({ pointId: row.id, keysetId, keysetInConsole: known.has(keysetId) });
  }
  if (bundle.points.length === 0) {
    await recordAuditEvent({ actor, action: "recovery.request", objectType: "repository", objectId: repoRow.id, outcome: "failure", details: { points: pointIds, reason: "no recovery keyset protects these points" } });
    return { id: "", text: "", points: [], unrecoverable };
  }
  const text = JSON.stringify(bundle, null, 2);
  await db.passwordRecoveryRequest.create({ data: { id, createdById: actor.id, repositoryId: repoRow.id, requestText: text, pending: JSON.stringify(pending) } });
  await recordAuditEvent({ actor, action: "recovery.request", objectType: "repository", objectId: repoRow.id, outcome: "success", details: { request: id, points: points.map((p) => p.pointId), unrecoverable: unrecoverable.map((u) => u.pointId) } });
  return { id, text, points, unrecoverable };
}
