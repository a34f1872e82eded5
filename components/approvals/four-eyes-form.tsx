"use client";
import { useActionState } from "react";
import { ActionMessage, FieldError } from "@/components/users/form-bits";
import type { ActionState } from "@/lib/auth/safe-action";

export function FourEyesForm({ action, enabled, expiryHours, securityOfficers }: { action: (p: ActionState, fd: FormData) => Promise<ActionState>; enabled: boolean; expiryHours: number; securityOfficers: number }) {
  const [state, formAction, pending] = useActionState(action, null);
  return (
    <form action={formAction} className="flex flex-wrap items-end gap-4" data-testid="four-eyes-form">
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" name="enabled" value="true" defaultChecked={enabled} data-testid="four-eyes-enabled" />
        Four-eyes approval on
      </label>
      <label className="text-sm">
        Requests expire after (hours)
        <input type="number" name="expiryHours" min={1} max={720} defaultValue={expiryHours} className="input mt-1 w-28" />
        <FieldError state={state} name="expiryHours" />
      </label>
      <button className="btn-primary" disabled={pending} data-testid="four-eyes-save">
        Save
      </button>
      <p className="w-full text-xs text-slate-600">
        {securityOfficers} active Security Officer{securityOfficers === 1 ? "" : "s"}. Turning it on needs at least two; while it is on, no change may leave fewer, and turning it off is itself a request.
      </p>
      <div className="w-full">
        <ActionMessage state={state} />
      </div>
    </form>
  );
}
