import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { answerRecoveryRequest, EngineError, importKeyset, type RecoveryKeyset } from "@/lib/engine";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { keysetFromRow } from "@/lib/services/recovery/keyset-store";
import { parseDocument, requestBundleSchema, type ResponseBundle } from "./recovery-documents";

const schema = z.object({
  requestText: z.string().trim().min(1, "Paste the recovery request").max(2_000_000, "The request is too large"),
  // Optional: a keyset exported earlier, when the console does not hold its private key.
  keysetJson: z.string().trim().max(100_000).optional().transform((v) => v || undefined),
  keysetPassphrase: z.string().max(256).optional().transform((v) => v || undefined),
});

/**
 * Step 2 (KEY-6), a Security Officer's act: unwraps each named storage key with the recovery
 * keyset's private key and seals it for that request only. The answer opens nothing for anyone but
 * the console that made the request. Every key use is audited.
 */
export async function answerPasswordRecoveryRequest(actor: Actor, raw: z.input<typeof schema>): Promise<{ text: string; answered: number; keysets: string[] }> {
  authorize(actor, "keyset:manage");
  const input = parseInput(schema, raw);
  const bundle = parseDocument(requestBundleSchema, input.requestText, "Strongroom recovery request");
  if ("error" in bundle) throw new AppError("INVALID_INPUT", bundle.error, { requestText: [bundle.error] });
  let uploaded: RecoveryKeyset | undefined;
  if (input.keysetJson) {
    try {
      uploaded = importKeyset(input.keysetJson, input.keysetPassphrase);
    } catch (e) {
      const msg = e instanceof EngineError ? e.message : "the keyset file could not be read";
      throw new AppError("INVALID_INPUT", `The keyset was not accepted: ${msg}. Check the file and its passphrase.`, { keysetJson: [msg] });
    }
  }
  const keysets = new Map<string, RecoveryKeyset>();
  const keysetFor = async (id: string): Promise<RecoveryKeyset> => {
    if (uploaded?.id === id && uploaded.hasPrivateKey) return uploaded;
    const cached = keysets.get(id);
    if (cached) return cached;
    const row = await db.recoveryKeyset.findUnique({ where: { id } });
    if (!row) throw new AppError("CONFLICT", `The request needs recovery keyset ${id}, which this console does not hold. Load its exported file (with its passphrase) and answer again.`, { keysetJson: ["Load the keyset file"] });
    const k = keysetFromRow(row, { withPrivateKey: true });
    keysets.set(id, k);
    return k;
  };
  const response: ResponseBundle = { format: "strongroom-recovery-response-bundle", version: 1, id: bundle.id, responses: [] };
  const used = new Set<string>();
  for (const p of bundle.points) {
    const keyset = await keysetFor(p.request.keysetId);
    try {
      response.responses.push({ pointId: p.pointId, response: answerRecoveryRequest(p.request, keyset) });
      used.add(keyset.id);
    } catch (e) {
      await recordAuditEvent({ actor, action: "keyset.use", objectType: "recovery-request", objectId: bundle.id, outcome: "failure", details: { point: p.pointId, keyset: keyset.id } });
      throw new AppError("INVALID_INPUT", `Restore point ${p.pointId} could not be answered: ${e instanceof EngineError ? e.message : "the request is damaged"}. Nothing was answered.`);
    }
  }
  await recordAuditEvent({ actor, action: "keyset.use", objectType: "recovery-request", objectId: bundle.id, outcome: "success", details: { points: bundle.points.map((p) => p.pointId), keysets: [...used], purpose: "password-loss recovery answer" } });
  return { text: JSON.stringify(response, null, 2), answered: response.responses.length, keysets: [...used] };
}
