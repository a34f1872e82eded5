"use client";
import { useActionState, useState } from "react";
import { ROLE_LABELS, ROLES } from "@/lib/permissions/roles";
import type { ActionState } from "@/lib/auth/safe-action";
import { createUserSchema } from "@/lib/schemas/users";
import { ActionMessage, FieldError, generatePassword } from "./form-bits";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;

export function CreateUserForm({ action }: { action: Action }) {
  const [state, formAction, pending] = useActionState(action, null);
  const [values, setValues] = useState({ email: "", name: "", role: "BACKUP_VIEWER", password: "" });
  // Validate as the user types with the same schema the server uses.
  const check = createUserSchema.safeParse(values);
  const liveErrors = check.success ? {} : Object.fromEntries(check.error.issues.map((i) => [String(i.path[0]), i.message]));
  const touched = (k: keyof typeof values) => values[k] !== "";
  const set = (k: keyof typeof values) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setValues((v) => ({ ...v, [k]: e.target.value }));
  const input = "mt-1 w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm";
  const hint = (k: keyof typeof values) => (touched(k) && liveErrors[k] ? <span className="mt-1 block text-xs text-amber-700">{liveErrors[k]}</span> : <FieldError state={state} name={k} />);
  return (
    <form action={formAction} className="grid gap-3 md:grid-cols-2" data-testid="create-user-form">
      <label className="text-sm font-medium text-slate-700">Email<input name="email" type="email" value={values.email} onChange={set("email")} className={input} maxLength={254} />{hint("email")}</label>
      <label className="text-sm font-medium text-slate-700">Name<input name="name" value={values.name} onChange={set("name")} className={input} maxLength={100} />{hint("name")}</label>
      <label className="text-sm font-medium text-slate-700">
        Role
        <select name="role" value={values.role} onChange={set("role")} className={input}>
          {ROLES.map((r) => <option key={r} value={r}>{ROLE_LABELS[r]}</option>)}
        </select>
      </label>
      <label className="text-sm font-medium text-slate-700">
        Initial password
        <div className="flex gap-2">
          <input name="password" type="text" autoComplete="new-password" value={values.password} onChange={set("password")} className={input} maxLength={256} />
          <button type="button" onClick={() => setValues((v) => ({ ...v, password: generatePassword() }))} className="mt-1 whitespace-nowrap rounded-md border border-slate-300 px-2 text-xs">Generate</button>
        </div>
        {hint("password")}
      </label>
      <div className="flex items-center gap-3 md:col-span-2">
        <button type="submit" disabled={pending || !check.success} className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700 disabled:opacity-50" data-testid="create-user-submit">
          {pending ? "Creating…" : "Create user"}
        </button>
        {!check.success && <span className="text-xs text-slate-500">Fill in every field to create the user.</span>}
      </div>
      <div className="md:col-span-2"><ActionMessage state={state} /></div>
    </form>
  );
}
