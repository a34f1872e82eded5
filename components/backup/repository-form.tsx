"use client";
import Link from "next/link";
import { useActionState, useEffect, useRef, useState } from "react";
import { ActionMessage, FieldError } from "@/components/users/form-bits";
import type { ActionState } from "@/lib/auth/safe-action";
import { createRepositorySchema } from "@/lib/schemas/backup";
import type { Action } from "./job-actions";

const EMPTY = { name: "", path: "", description: "", immutabilityDays: "0" };

/** Adds a folder on the Strongroom server as a repository: a new one, or an existing one adopted (KEY-9). */
export function RepositoryForm({ action, pathPlaceholder }: { action: Action; pathPlaceholder: string }) {
  const [state, formAction, pending] = useActionState(action, null);
  const [values, setValues] = useState(EMPTY);
  const [created, setCreated] = useState<{ id: string; name: string } | null>(null);
  const lastAt = useRef(0);
  const submitted = useRef<typeof EMPTY | null>(null);
  useEffect(() => {
    if (state?.ok && state.id && state.at !== lastAt.current) {
      lastAt.current = state.at;
      setCreated({ id: state.id, name: values.name });
      setValues(EMPTY);
    }
  }, [state, values.name]);
  // The server's schema, as the user types; the server checks again (and whether the folder is usable).
  const live = createRepositorySchema.safeParse(values);
  const liveErrors: Record<string, string> = live.success ? {} : Object.fromEntries(live.error.issues.map((i) => [String(i.path[0]), i.message]));
  // The server's message for a field stays until that field is changed; then the live check takes over.
  const hint = (k: keyof typeof EMPTY) => {
    if (submitted.current && values[k] === submitted.current[k] && state && !state.ok && state.fieldErrors?.[k]) return <FieldError state={state} name={k} />;
    return values[k] !== EMPTY[k] && liveErrors[k] ? <span className="mt-1 block text-xs text-amber-700">{liveErrors[k]}</span> : null;
  };
  const set = (k: keyof typeof EMPTY) => (e: React.ChangeEvent<HTMLInputElement>) => setValues((v) => ({ ...v, [k]: e.target.value }));
  const input = "mt-1 w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm";
  return (
    <form action={formAction} onSubmit={() => { submitted.current = values; }} className="space-y-3" data-testid="repository-form">
      <div className="grid gap-3 md:grid-cols-2">
        <label className="text-sm font-medium text-slate-700">
          Name
          <input name="name" value={values.name} onChange={set("name")} className={input} maxLength={100} placeholder="Backup volume 1" />
          {hint("name")}
        </label>
        <label className="text-sm font-medium text-slate-700">
          Folder on the Strongroom server <span className="font-normal text-slate-500">(absolute path)</span>
          <input name="path" value={values.path} onChange={set("path")} className={`${input} font-mono`} maxLength={500} placeholder={pathPlaceholder} spellCheck={false} autoComplete="off" />
          {hint("path")}
        </label>
        <label className="text-sm font-medium text-slate-700">
          Description <span className="font-normal text-slate-500">(optional)</span>
          <input name="description" value={values.description} onChange={set("description")} className={input} maxLength={500} placeholder="NFS mount from the backup array" />
          {hint("description")}
        </label>
        <label className="text-sm font-medium text-slate-700">
          Immutability <span className="font-normal text-slate-500">(days a restore point cannot be deleted; 0 = off)</span>
          <input name="immutabilityDays" type="number" min={0} max={3650} step={1} value={values.immutabilityDays} onChange={set("immutabilityDays")} className={`${input} w-32`} />
          {hint("immutabilityDays")}
        </label>
      </div>
      <p className="text-xs text-slate-500">
        An empty or new folder becomes a new repository. A folder that already holds a Strongroom repository (from another console, after a disaster) is adopted as it is, with its own immutability period, and its restore points open with their keys.
      </p>
      <div className="flex items-center gap-3">
        <button type="submit" disabled={pending} className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700 disabled:opacity-50" data-testid="add-repository">
          {pending ? "Adding…" : "Add repository"}
        </button>
      </div>
      <ActionMessage state={state} />
      {state?.ok && created && (
        <Link href={`/repositories/${created.id}`} className="inline-block text-sm font-medium text-brand-600 hover:underline" data-testid="open-new-repository">
          Open {created.name} →
        </Link>
      )}
    </form>
  );
}
