"use client";
import type { ActionState } from "@/lib/auth/safe-action";

export function FieldError({ state, name }: { state: ActionState; name: string }) {
  const errs = state && !state.ok ? state.fieldErrors?.[name] : undefined;
  return errs?.length ? <span className="mt-1 block text-xs text-red-700" data-testid={`error-${name}`}>{errs.join("; ")}</span> : null;
}

export function ActionMessage({ state }: { state: ActionState }) {
  if (!state) return null;
  return state.ok ? (
    <p className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid="action-ok" role="status">{state.message}</p>
  ) : (
    <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">{state.formError}</p>
  );
}

export function generatePassword(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}
