import "server-only";
import { headers } from "next/headers";
import type { z } from "zod";
import { env } from "@/lib/config/env";
import { AppError, isAppError } from "@/lib/errors/app-error";
import { ACTION_PERMISSIONS, type ActionName } from "@/lib/permissions/actions";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import type { Actor } from "./actor";
import { authorize } from "./authorize";
import { crossOriginRefusal } from "./same-origin";
import { getActor } from "./session";

// The one wrapper for server actions (ARCHITECTURE.md "Thin actions, fat services"):
// same-origin check → session → size check → zod safeParse → service → { ok, message } | { formError, fieldErrors }.
// Every action is reachable by a direct POST, so the service behind it authorizes again.

export type ActionState =
  | {
      ok: true;
      message: string;
      at: number;
      /** The created or affected object, when the caller navigates to it. */
      id?: string;
      /** A single-use token the next step needs (an approval's password proof). */
      token?: string;
      /** A structured answer the form shows (a check's findings), plain JSON. */
      data?: unknown;
    }
  | { ok: false; formError: string; fieldErrors?: Record<string, string[]>; at: number }
  | null;

const MAX_INPUT_BYTES = 64 * 1024;

/**
 * The gate every server action passes first: a same-origin request (forged cross-site POSTs are
 * refused before the session is looked at), a signed-in actor, and the permission the action table
 * names for this action (SEC-1). Refusals are audited and worded for the person.
 */
export async function actionGate(name: ActionName): Promise<{ actor: Actor; refusal?: undefined } | { refusal: string; actor?: undefined }> {
  const refusal = crossOriginRefusal(await headers(), env.NEXTAUTH_URL);
  if (refusal) {
    await recordAuditEvent({ actor: null, action: name, outcome: "denied", details: { reason: "cross-origin request refused" } });
    return { refusal };
  }
  const actor = await getActor();
  if (!actor) return { refusal: "Your session has ended. Sign in again." };
  try {
    authorize(actor, ACTION_PERMISSIONS[name]);
  } catch (e) {
    const message = e instanceof AppError ? e.message : "You may not do this.";
    await recordAuditEvent({ actor, action: name, outcome: "denied", details: { reason: message } });
    return { refusal: message };
  }
  return { actor };
}

export function validatedAction<S extends z.ZodType>(
  name: ActionName,
  schema: S,
  run: (actor: Actor, input: z.infer<S>) => Promise<string | { message: string; id?: string; token?: string; data?: unknown }>,
) {
  return async (_prev: ActionState, input: FormData | Record<string, unknown>): Promise<ActionState> => {
    const at = Date.now();
    const gate = await actionGate(name);
    if (gate.refusal !== undefined) return { ok: false, formError: gate.refusal, at };
    const { actor } = gate;
    const raw = input instanceof FormData ? formDataToObject(input) : input;
    if (JSON.stringify(raw ?? null).length > MAX_INPUT_BYTES) {
      return { ok: false, formError: "The request is too large. Shorten the values and try again.", at };
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const fieldErrors: Record<string, string[]> = {};
      for (const issue of parsed.error.issues) (fieldErrors[issue.path.join(".") || "_"] ??= []).push(issue.message);
      return { ok: false, formError: "Some fields need attention.", fieldErrors, at };
    }
    try {
      const result = await run(actor, parsed.data);
      return typeof result === "string" ? { ok: true, message: result, at } : { ok: true, message: result.message, id: result.id, token: result.token, data: result.data, at };
    } catch (e) {
      if (isAppError(e)) {
        if (e.code === "FORBIDDEN") {
          await recordAuditEvent({ actor, action: name, outcome: "denied", details: { reason: e.message } });
        }
        return { ok: false, formError: e.message, fieldErrors: e.fieldErrors, at };
      }
      console.error(`[action ${name}] unexpected error`, e instanceof Error ? e.message : e);
      return { ok: false, formError: "Something went wrong on the server; nothing was changed. Try again.", at };
    }
  };
}

function formDataToObject(fd: FormData): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of fd.entries()) {
    if (k.startsWith("$ACTION")) continue; // Next.js' own fields
    const value = typeof v === "string" ? v : `[file ${v.name}]`;
    // A repeated name (checkboxes) becomes a list.
    out[k] = k in out ? [...(Array.isArray(out[k]) ? (out[k] as unknown[]) : [out[k]]), value] : value;
  }
  return out;
}

export { AppError };
