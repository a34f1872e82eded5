"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { actionGate, validatedAction } from "@/lib/auth/safe-action";
import { isAppError } from "@/lib/errors/app-error";
import { answerPasswordRecoveryRequest } from "@/lib/services/password-recovery/answer-recovery-request";
import { applyPasswordRecoveryResponse } from "@/lib/services/password-recovery/apply-recovery-response";
import { createPasswordRecoveryRequest, type CreatedRecoveryRequest } from "@/lib/services/password-recovery/create-recovery-request";

/** Returns the request document itself (the form shows it and offers it as a file). */
export async function createRecoveryRequestAction(pointIds: string[]): Promise<{ ok: true; result: CreatedRecoveryRequest } | { ok: false; error: string }> {
  const { actor, refusal } = await actionGate("recovery.request");
  if (!actor) return { ok: false, error: refusal };
  const parsed = z.array(z.string().max(64)).max(500).safeParse(pointIds);
  if (!parsed.success) return { ok: false, error: "Choose restore points from the list." };
  try {
    const result = await createPasswordRecoveryRequest(actor, { pointIds: parsed.data });
    revalidatePath("/password-recovery");
    return { ok: true, result };
  } catch (e) {
    if (isAppError(e)) return { ok: false, error: e.message };
    console.error("[action recovery.request] unexpected error", e instanceof Error ? e.message : e);
    return { ok: false, error: "Something went wrong on the server; nothing was created. Try again." };
  }
}

export async function answerRecoveryRequestAction(input: { requestText: string; keysetJson?: string; keysetPassphrase?: string }): Promise<{ ok: true; text: string; answered: number } | { ok: false; error: string }> {
  const { actor, refusal } = await actionGate("recovery.answer");
  if (!actor) return { ok: false, error: refusal };
  try {
    const r = await answerPasswordRecoveryRequest(actor, input);
    return { ok: true, text: r.text, answered: r.answered };
  } catch (e) {
    if (isAppError(e)) return { ok: false, error: e.message };
    console.error("[action recovery.answer] unexpected error", e instanceof Error ? e.message : e);
    return { ok: false, error: "Something went wrong on the server. Try again." };
  }
}

export const applyRecoveryResponseAction = validatedAction("recovery.apply", z.object({ responseText: z.string().max(2_000_000) }), async (actor, input) => {
  const r = await applyPasswordRecoveryResponse(actor, input);
  revalidatePath("/password-recovery");
  return `${r.opened.length} restore point(s) open again: ${r.opened.map((p) => p.vmName).join(", ")}.`;
});

