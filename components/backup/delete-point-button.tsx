"use client";
import { useActionState } from "react";
import type { ActionState } from "@/lib/auth/safe-action";

/** Deletes a restore point after a confirmation; with four-eyes on the answer says it became a request. */
export function DeletePointButton({ pointId, action }: { pointId: string; action: (p: ActionState, fd: FormData) => Promise<ActionState> }) {
  const [state, formAction, pending] = useActionState(action, null);
  return (
    <form
      action={formAction}
      onSubmit={(e) => {
        if (!confirm("Delete this restore point? Blocks other points need are kept; an immutable point is refused.")) e.preventDefault();
      }}
    >
      <input type="hidden" name="pointId" value={pointId} />
      <button className="text-xs text-red-700 hover:underline disabled:opacity-50" disabled={pending} data-testid="delete-point">
        {pending ? "Deleting…" : "Delete"}
      </button>
      {state && <span className={`block text-xs ${state.ok ? "text-emerald-800" : "text-red-700"}`} data-testid={state.ok ? "action-ok" : "action-error"}>{state.ok ? state.message : state.formError}</span>}
    </form>
  );
}
