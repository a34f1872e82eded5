"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { actionGate, validatedAction } from "@/lib/auth/safe-action";
import { isAppError } from "@/lib/errors/app-error";
import { importKeysetSchema, keysetIdSchema, keysetPolicySchema } from "@/lib/schemas/recovery";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { exportRecoveryKeyset, generateRecoveryKeysetNow, importRecoveryKeyset, retireRecoveryKeyset, setRecoveryKeysetPolicy } from "@/lib/services/recovery/manage-recovery-keysets";

const PAGE = "/recovery-keysets";

export const generateKeysetAction = validatedAction("keyset.generate", z.object({}), async (actor) => {
  const { id } = await generateRecoveryKeysetNow(actor);
  revalidatePath(PAGE);
  return { message: `Generated keyset ${id}. It wraps the keys of every restore point from the next backup session on. Export it and keep the file offline.`, id };
});

export const retireKeysetAction = validatedAction("keyset.retire", keysetIdSchema, async (actor, input) => {
  const { activeLeft } = await retireRecoveryKeyset(actor, input);
  revalidatePath(PAGE);
  return activeLeft > 0
    ? `Retired keyset ${input.keysetId}: it wraps no new restore point; points made before still open with it. ${activeLeft} active keyset(s) protect new points.`
    : `Retired keyset ${input.keysetId}. No active keyset is left: new restore points are protected only by their password or KMS key until one is generated.`;
});

export const importKeysetAction = validatedAction("keyset.import", importKeysetSchema, async (actor, input) => {
  const r = await importRecoveryKeyset(actor, input);
  revalidatePath(PAGE);
  const held = r.privateKeyHeld
    ? "The console holds its private key (sealed) and it wraps every new restore point."
    : "Public key only: it wraps every new restore point, but only whoever holds its private key can recover them.";
  const old = r.olderThanRetention ? " It is older than the retention period, so the policy will retire it once a newer keyset exists." : "";
  return { message: `Imported keyset ${r.id}. ${held}${old}`, id: r.id };
});

export const setKeysetPolicyAction = validatedAction("keyset.policy", keysetPolicySchema, async (actor, input) => {
  const p = await setRecoveryKeysetPolicy(actor, input);
  revalidatePath(PAGE);
  return p.enabled
    ? `Saved: a new keyset every ${p.rotateDays} day(s), older ones retired after ${p.retentionDays} day(s). The runner applies it at its next hourly check.`
    : "Saved: keysets are no longer generated or retired automatically.";
});

export type ExportKeysetResult =
  | { ok: true; fileName: string; json: string; message: string }
  | { ok: false; formError: string; fieldErrors?: Record<string, string[]> };

/**
 * The keyset file for the browser to save. A server action rather than a link: the passphrase
 * travels in the POST body only (never a URL), and Next.js checks the request's origin.
 * The service authorizes, validates and audits; the passphrase is not kept or logged.
 */
export async function exportKeysetAction(input: { keysetId: string; passphrase: string; passphraseConfirm: string }): Promise<ExportKeysetResult> {
  const { actor, refusal } = await actionGate("keyset.export");
  if (!actor) return { ok: false, formError: refusal };
  if (JSON.stringify(input ?? null).length > 8 * 1024) return { ok: false, formError: "The request is too large." };
  try {
    const { fileName, json } = await exportRecoveryKeyset(actor, input);
    revalidatePath(PAGE);
    return { ok: true, fileName, json, message: `Saved ${fileName}. Keep it offline, and the passphrase apart from it: together they open every restore point this keyset protects.` };
  } catch (e) {
    if (isAppError(e)) {
      if (e.code === "FORBIDDEN") await recordAuditEvent({ actor, action: "keyset.export", outcome: "denied", details: { reason: e.message } });
      return { ok: false, formError: e.message, fieldErrors: e.fieldErrors };
    }
    console.error("[action keyset.export] unexpected error", e instanceof Error ? e.message : e);
    return { ok: false, formError: "Something went wrong on the server; nothing was exported. Try again." };
  }
}
