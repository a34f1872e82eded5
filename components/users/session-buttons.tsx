"use client";
import { useActionState } from "react";
import type { ActionState } from "@/lib/auth/safe-action";
import { ActionMessage } from "./form-bits";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;

/** "End sessions" (sign the user out everywhere) and, when they are locked out, "Clear sign-in lock". */
export function SessionButtons({ userId, email, locked, endSessions, clearLock }: { userId: string; email: string; locked: boolean; endSessions?: Action; clearLock?: Action }) {
  const [endState, endAction, ending] = useActionState(endSessions ?? (async () => null), null);
  const [lockState, lockAction, clearing] = useActionState(clearLock ?? (async () => null), null);
  const latest = [endState, lockState].reduce<ActionState>((a, b) => (b && (!a || b.at > a.at) ? b : a), null);
  return (
    <div className="space-y-1">
      <div className="flex flex-wrap items-center gap-2">
        {endSessions && (
          <form action={endAction} onSubmit={(e) => { if (!confirm(`Sign ${email} out on every browser now?`)) e.preventDefault(); }}>
            <input type="hidden" name="userId" value={userId} />
            <button type="submit" disabled={ending} className="rounded-md border border-slate-300 px-2 py-1 text-xs" data-testid="end-sessions">End sessions</button>
          </form>
        )}
        {clearLock && locked && (
          <form action={lockAction}>
            <input type="hidden" name="userId" value={userId} />
            <button type="submit" disabled={clearing} className="rounded-md border border-amber-300 px-2 py-1 text-xs text-amber-800" data-testid="clear-sign-in-lock">Clear sign-in lock</button>
          </form>
        )}
      </div>
      <ActionMessage state={latest} />
    </div>
  );
}
