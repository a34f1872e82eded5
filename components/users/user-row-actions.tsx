"use client";
import { useActionState, useState } from "react";
import { ROLE_LABELS, ROLES, type Role } from "@/lib/permissions/roles";
import type { ActionState } from "@/lib/auth/safe-action";
import type { UserDto } from "@/lib/services/users/user-dto";
import { ActionMessage, generatePassword } from "./form-bits";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;

export function UserRowActions({ user, isSelf, actions }: { user: UserDto; isSelf: boolean; actions: { changeRole: Action; setDisabled: Action; resetPassword: Action } }) {
  const [roleState, roleAction, rolePending] = useActionState(actions.changeRole, null);
  const [disState, disAction, disPending] = useActionState(actions.setDisabled, null);
  const [pwState, pwAction, pwPending] = useActionState(actions.resetPassword, null);
  const [role, setRole] = useState<Role>(user.role);
  const [password, setPassword] = useState("");
  if (isSelf) return <span className="text-xs text-slate-500">This is you. Another administrator manages your account.</span>;
  return (
    <div className="space-y-2" data-testid={`user-actions-${user.email}`}>
      <div className="flex flex-wrap items-center gap-2">
        <form action={roleAction} className="flex items-center gap-1">
          <input type="hidden" name="userId" value={user.id} />
          <select name="role" value={role} onChange={(e) => setRole(e.target.value as Role)} className="rounded-md border border-slate-300 px-1.5 py-1 text-xs" aria-label={`Role of ${user.email}`}>
            {ROLES.map((r) => <option key={r} value={r}>{ROLE_LABELS[r]}</option>)}
          </select>
          <button type="submit" disabled={rolePending || role === user.role} className="rounded-md border border-slate-300 px-2 py-1 text-xs disabled:opacity-40">Change role</button>
        </form>
        <form action={disAction}>
          <input type="hidden" name="userId" value={user.id} />
          <input type="hidden" name="disabled" value={String(!user.disabled)} />
          <button type="submit" disabled={disPending} className={`rounded-md px-2 py-1 text-xs ${user.disabled ? "border border-slate-300" : "border border-red-300 text-red-700"}`}>
            {user.disabled ? "Enable" : "Disable"}
          </button>
        </form>
        <form action={pwAction} className="flex items-center gap-1">
          <input type="hidden" name="userId" value={user.id} />
          <input name="password" value={password} onChange={(e) => setPassword(e.target.value)} placeholder="New password (12+ chars)" className="w-44 rounded-md border border-slate-300 px-1.5 py-1 text-xs" autoComplete="new-password" />
          <button type="button" onClick={() => setPassword(generatePassword())} className="rounded-md border border-slate-300 px-1.5 py-1 text-xs">Generate</button>
          <button type="submit" disabled={pwPending || password.length < 12} className="rounded-md border border-slate-300 px-2 py-1 text-xs disabled:opacity-40">Reset password</button>
        </form>
      </div>
      <ActionMessage state={latest(roleState, disState, pwState)} />
    </div>
  );
}

/** The three small forms share one message line: show the most recent answer. */
function latest(...states: ActionState[]): ActionState {
  return states.reduce<ActionState>((a, b) => (b && (!a || b.at > a.at) ? b : a), null);
}
