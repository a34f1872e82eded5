"use client";
import { useActionState } from "react";
import type { ActionState } from "@/lib/auth/safe-action";

export function SyncButton({ action, lastSyncLabel }: { action: (s: ActionState, f: FormData) => Promise<ActionState>; lastSyncLabel: string }) {
  const [state, formAction, pending] = useActionState(action, null);
  return (
    <form action={formAction} className="flex flex-col items-end gap-1">
      <button type="submit" disabled={pending} className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700 disabled:opacity-60" data-testid="sync-now">
        {pending ? "Syncing…" : "Sync inventory now"}
      </button>
      <span className="text-xs text-slate-500" data-testid="sync-status" role="status">
        {state?.ok ? state.message : state && !state.ok ? <span className="text-red-700">{state.formError}</span> : `Last sync: ${lastSyncLabel}`}
      </span>
    </form>
  );
}
