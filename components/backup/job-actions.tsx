"use client";
import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useActionState, useEffect } from "react";
import type { ActionState } from "@/lib/auth/safe-action";

export type Action = (s: ActionState, f: FormData) => Promise<ActionState>;

const small = "rounded-md border px-2 py-1 text-xs font-medium disabled:cursor-not-allowed disabled:opacity-50";
const sizes = { sm: small, md: "rounded-md border px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-50" };

/** After an answer, the live queries ask again at once instead of at their next tick. */
function useRefreshOn(state: ActionState) {
  const qc = useQueryClient();
  useEffect(() => {
    if (state) void qc.invalidateQueries();
  }, [state, qc]);
}

function InlineError({ state }: { state: ActionState }) {
  return state && !state.ok ? <p className="mt-1 max-w-xs text-xs text-red-700" data-testid="action-error">{state.formError}</p> : null;
}

/** "Run now": queues a session and opens its live page. */
export function RunNowButton({ jobId, action, disabledReason, size = "sm", primary }: { jobId: string; action: Action; disabledReason?: string; size?: "sm" | "md"; primary?: boolean }) {
  const router = useRouter();
  const [state, formAction, pending] = useActionState(action, null);
  useRefreshOn(state);
  useEffect(() => {
    if (state?.ok && state.id) router.push(`/sessions/${state.id}`);
  }, [state, router]);
  const navigating = state?.ok && !!state.id;
  return (
    <form action={formAction} className="inline-block">
      <input type="hidden" name="jobId" value={jobId} />
      <button
        disabled={pending || navigating || !!disabledReason}
        title={disabledReason}
        className={`${sizes[size]} ${primary ? "border-brand-600 bg-brand-600 text-white hover:bg-brand-700" : "border-brand-600 text-brand-700 hover:bg-brand-50"}`}
        data-testid="run-now"
      >
        {pending ? "Queuing…" : navigating ? "Opening session…" : "Run now"}
      </button>
      <InlineError state={state} />
    </form>
  );
}

/** Stops a queued session at once, a running one after the VM in progress. */
export function StopSessionButton({ sessionId, action, stopRequested, size = "sm" }: { sessionId: string; action: Action; stopRequested?: boolean; size?: "sm" | "md" }) {
  const [state, formAction, pending] = useActionState(action, null);
  useRefreshOn(state);
  const requested = stopRequested || (state?.ok ?? false);
  return (
    <form
      action={formAction}
      className="inline-block"
      onSubmit={(e) => {
        if (!confirm("Stop this session? A VM being read finishes first, so its restore point stays valid; the VMs after it are not backed up.")) e.preventDefault();
      }}
    >
      <input type="hidden" name="sessionId" value={sessionId} />
      <button disabled={pending || requested} className={`${sizes[size]} border-red-300 text-red-700 hover:bg-red-50`} data-testid="stop-session">
        {pending ? "Stopping…" : requested ? "Stop requested" : "Stop"}
      </button>
      <InlineError state={state} />
    </form>
  );
}

export function EnableJobButton({ jobId, enabled, action, size = "sm" }: { jobId: string; enabled: boolean; action: Action; size?: "sm" | "md" }) {
  const router = useRouter();
  const [state, formAction, pending] = useActionState(action, null);
  useRefreshOn(state);
  useEffect(() => {
    if (state?.ok) router.refresh();
  }, [state, router]);
  return (
    <form action={formAction} className="inline-block">
      <input type="hidden" name="jobId" value={jobId} />
      <input type="hidden" name="enabled" value={String(!enabled)} />
      <button
        disabled={pending}
        className={`${sizes[size]} border-slate-300 text-slate-700 hover:bg-slate-50`}
        title={enabled ? "The scheduler skips a disabled job; it keeps its restore points and can still run now." : "The job runs on its schedule again."}
        data-testid="toggle-enabled"
      >
        {pending ? "Saving…" : enabled ? "Disable" : "Enable"}
      </button>
      <InlineError state={state} />
    </form>
  );
}

export function EditJobLink({ jobId, size = "sm" }: { jobId: string; size?: "sm" | "md" }) {
  return (
    <Link href={`/jobs/${jobId}/edit`} className={`${sizes[size]} inline-block border-slate-300 text-slate-700 hover:bg-slate-50`} data-testid="edit-job">
      Edit
    </Link>
  );
}
