"use client";
import { useActionState } from "react";
import { ActionMessage } from "@/components/users/form-bits";
import type { ActionState } from "@/lib/auth/safe-action";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;

/** "Run checks": every check reads the console's data once; a second or two on a large estate. */
export function RunChecksButton({ action }: { action: Action }) {
  const [state, formAction, pending] = useActionState(action, null);
  return (
    <form action={formAction} className="flex max-w-md flex-col items-end gap-2">
      <button disabled={pending} className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700 disabled:opacity-50" data-testid="run-checks">
        {pending ? "Running checks…" : "Run checks"}
      </button>
      <div className="text-sm" aria-live="polite">
        <ActionMessage state={state} />
      </div>
    </form>
  );
}
