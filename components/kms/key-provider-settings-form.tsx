"use client";
import { useActionState } from "react";
import { ActionMessage } from "@/components/users/form-bits";
import type { ActionState } from "@/lib/auth/safe-action";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;

/** Default provider of the site and tenant assignment (VME-4, TRN-6), for administrators. */
export function KeyProviderSettingsForm({ keyProviderId, isDefault, tenantId, tenants, setDefault, assignTenant }: {
  keyProviderId: string;
  isDefault: boolean;
  tenantId: string | null;
  tenants: { id: string; name: string }[];
  setDefault: Action;
  assignTenant: Action;
}) {
  const [defState, defAction, defPending] = useActionState(setDefault, null);
  const [tenState, tenAction, tenPending] = useActionState(assignTenant, null);
  const latest = [defState, tenState].reduce<ActionState>((a, b) => (b && (!a || b.at > a.at) ? b : a), null);
  return (
    <div className="space-y-2 border-t border-slate-100 pt-3" data-testid="key-provider-settings">
      <div className="flex flex-wrap items-center gap-3">
        <form action={defAction}>
          <input type="hidden" name="keyProviderId" value={keyProviderId} />
          <button disabled={isDefault || defPending} className="rounded-md border border-slate-300 px-2 py-1 text-xs disabled:opacity-50" data-testid="make-default">
            {isDefault ? "Default of its site" : "Make default for its site"}
          </button>
        </form>
        <form action={tenAction} className="flex items-center gap-1">
          <input type="hidden" name="keyProviderId" value={keyProviderId} />
          <select key={tenantId ?? "none"} name="tenantId" defaultValue={tenantId ?? ""} className="rounded-md border border-slate-300 px-1 py-0.5 text-xs" aria-label="Tenant" data-testid="tenant-select">
            <option value="">No tenant (provider's own)</option>
            {tenants.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
          <button disabled={tenPending} className="rounded-md border border-slate-300 px-2 py-1 text-xs disabled:opacity-50" data-testid="assign-tenant">Assign</button>
        </form>
      </div>
      <ActionMessage state={latest} />
    </div>
  );
}
