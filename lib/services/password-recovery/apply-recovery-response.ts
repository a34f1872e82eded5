import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { applyRecoveryResponse, EngineError, KeyRing, PendingRecovery } from "@/lib/engine";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";
import { openSecret, sealSecret } from "@/lib/services/kms/config-secrets";
import { parseDocument, requestBundleSchema, responseBundleSchema } from "./recovery-documents";

const schema = z.object({ responseText: z.string().trim().min(1, "Paste the Security Officer's response").max(2_000_000, "The response is too large") });
const pendingSchema = z.array(z.object({ pointId: z.string(), requestId: z.string(), keysetId: z.string(), storageKeyId: z.string(), privateKeySealed: z.string() }));

export const recoveredKeyContext = (pointId: string) => `recovered-point-key:${pointId}`;

/**
 * Step 3 (KEY-6): opens the response with the request's private halves, proves each recovered
 * storage key by opening its restore point, and keeps the keys sealed so the points open again
 * (verify, restore) although their password is lost. Nothing is kept unless every point opens.
 */
export async function applyPasswordRecoveryResponse(actor: Actor, raw: z.input<typeof schema>): Promise<{ opened: Array<{ pointId: string; vmName: string }> }> {
  authorize(actor, "job:manage");
  const { responseText } = parseInput(schema, raw);
  const bundle = parseDocument(responseBundleSchema, responseText, "Strongroom recovery response");
  if ("error" in bundle) throw new AppError("INVALID_INPUT", bundle.error, { responseText: [bundle.error] });
  const req = await db.passwordRecoveryRequest.findUnique({ where: { id: bundle.id } });
  if (!req) throw new AppError("NOT_FOUND", "This response answers a request this console did not make (or it was removed). Only the console that made a request can use its answer.", { responseText: ["Unknown request"] });
  if (req.state === "applied") throw new AppError("CONFLICT", "This response was applied already; the points open.");
  const request = requestBundleSchema.parse(JSON.parse(req.requestText));
  const pending = pendingSchema.parse(JSON.parse(req.pending));
  const repoRow = await db.backupRepository.findUniqueOrThrow({ where: { id: req.repositoryId } });
  const repo = await openCataloguedRepository(repoRow);
  const recovered: Array<{ pointId: string; vmName: string; storageKeyId: string; sealed: string }> = [];
  for (const p of pending) {
    const answer = bundle.responses.find((r) => r.pointId === p.pointId);
    const requested = request.points.find((x) => x.pointId === p.pointId)!;
    if (!answer) throw new AppError("INVALID_INPUT", `The response has no answer for restore point ${p.pointId} (${requested.vmName}). Ask the Security Officer to answer the whole request.`);
    try {
      const pendingRecovery = PendingRecovery.restore(requested.request, openSecret(p.privateKeySealed, `password-recovery:${req.id}:${p.pointId}`));
      const key = applyRecoveryResponse(pendingRecovery, answer.response);
      await repo.readPoint(p.pointId, new KeyRing().addKnownKey(key));
      recovered.push({ pointId: p.pointId, vmName: requested.vmName, storageKeyId: key.idHex, sealed: sealSecret(key.expose().toString("base64"), recoveredKeyContext(p.pointId)) });
      key.destroy();
    } catch (e) {
      await recordAuditEvent({ actor, action: "recovery.apply", objectType: "recovery-request", objectId: req.id, outcome: "failure", details: { point: p.pointId } });
      const why = e instanceof EngineError ? e.message : e instanceof Error && /configuration key/.test(e.message) ? e.message : "the answer does not open it";
      throw new AppError("CONFLICT", `Restore point ${p.pointId} (${requested.vmName}) did not open with this response: ${why}. Nothing was applied.`);
    }
  }
  await db.$transaction([
    ...recovered.map((r) =>
      db.recoveredPointKey.upsert({
        where: { pointId: r.pointId },
        create: { pointId: r.pointId, repositoryId: repoRow.id, storageKeyId: r.storageKeyId, storageKeySealed: r.sealed, requestId: req.id, recoveredById: actor.id },
        update: { storageKeyId: r.storageKeyId, storageKeySealed: r.sealed, requestId: req.id, recoveredById: actor.id, recoveredAt: new Date() },
      }),
    ),
    db.passwordRecoveryRequest.update({ where: { id: req.id }, data: { state: "applied", appliedAt: new Date(), appliedById: actor.id } }),
  ]);
  await recordAuditEvent({ actor, action: "recovery.apply", objectType: "recovery-request", objectId: req.id, outcome: "success", details: { points: recovered.map((r) => r.pointId) } });
  return { opened: recovered.map((r) => ({ pointId: r.pointId, vmName: r.vmName })) };
}
