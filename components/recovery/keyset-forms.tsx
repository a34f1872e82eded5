"use client";
import { useActionState, useEffect, useRef, useState } from "react";
import { ActionMessage, FieldError } from "@/components/users/form-bits";
import type { ActionState } from "@/lib/auth/safe-action";
import { keysetPolicySchema, MAX_KEYSET_JSON, type KeysetPolicy } from "@/lib/schemas/recovery";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;

const input = "mt-1 w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm";
const primary = "rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700 disabled:opacity-50";

/** "Generate now" (a few seconds of RSA-4096 work on the server), with its answer to the left of the button. */
export function GenerateKeysetButton({ action }: { action: Action }) {
  const [state, formAction, pending] = useActionState(action, null);
  return (
    <form action={formAction} className="flex flex-1 flex-wrap items-start justify-end gap-3">
      <div className="min-w-0 max-w-3xl flex-1 text-sm">
        <ActionMessage state={state} />
      </div>
      <button disabled={pending} className={`${primary} whitespace-nowrap`} data-testid="generate-keyset">
        {pending ? "Generating (RSA 4096)…" : "Generate keyset now"}
      </button>
    </form>
  );
}

/** Paste (or load) an exported keyset file; the passphrase only if its private key is encrypted. */
export function ImportKeysetForm({ action }: { action: Action }) {
  const [state, formAction, pending] = useActionState(action, null);
  const [json, setJson] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [fileNote, setFileNote] = useState<string | null>(null);
  const lastAt = useRef(0);
  useEffect(() => {
    if (state?.ok && state.at !== lastAt.current) {
      lastAt.current = state.at;
      setJson("");
      setPassphrase("");
      setFileNote(null);
    }
  }, [state]);
  const encrypted = json.includes("ENCRYPTED PRIVATE KEY");
  const publicOnly = json.length > 0 && !json.includes("PRIVATE KEY");
  return (
    <form action={formAction} className="space-y-3" data-testid="import-form">
      <label className="block text-sm font-medium text-slate-700">
        Exported keyset file (JSON)
        <textarea
          name="json"
          value={json}
          onChange={(e) => setJson(e.target.value)}
          rows={6}
          spellCheck={false}
          maxLength={MAX_KEYSET_JSON}
          className={`${input} font-mono text-xs`}
          placeholder={'{\n  "format": "strongroom-recovery-keyset",\n  "version": 1,\n  …\n}'}
        />
        <FieldError state={state} name="json" />
      </label>
      <div className="flex flex-wrap items-center gap-3 text-sm text-slate-600">
        <label className="cursor-pointer rounded-md border border-slate-300 px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50">
          Load a file…
          <input
            type="file"
            accept=".json,application/json"
            className="sr-only"
            data-testid="import-file"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              e.target.value = "";
              if (!file) return;
              if (file.size > MAX_KEYSET_JSON) return setFileNote(`${file.name} is too large for a keyset file.`);
              setJson(await file.text());
              setFileNote(`Loaded ${file.name}.`);
            }}
          />
        </label>
        {fileNote && <span className="text-xs">{fileNote}</span>}
        {publicOnly && <span className="text-xs text-amber-800">This file holds no private key: the keyset will be listed as public key only.</span>}
      </div>
      <label className="block max-w-md text-sm font-medium text-slate-700">
        Passphrase <span className="font-normal text-slate-500">(the one the file was exported with; leave empty for a public-only file)</span>
        <input type="password" name="passphrase" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} className={input} autoComplete="off" maxLength={1024} />
        {encrypted && !passphrase && <span className="mt-1 block text-xs text-amber-800">This file&apos;s private key is encrypted: enter its passphrase.</span>}
        <FieldError state={state} name="passphrase" />
      </label>
      <div className="flex items-center gap-3">
        <button type="submit" disabled={pending || json.trim().length === 0} className={primary} data-testid="import-keyset">
          {pending ? "Importing…" : "Import keyset"}
        </button>
      </div>
      <ActionMessage state={state} />
    </form>
  );
}

/** Rotation and retention; read-only text for roles that cannot change it. */
export function KeysetPolicyForm({ policy, action }: { policy: KeysetPolicy; action: Action }) {
  const [state, formAction, pending] = useActionState(action, null);
  const [values, setValues] = useState({ enabled: policy.enabled, rotateDays: String(policy.rotateDays), retentionDays: String(policy.retentionDays) });
  const live = keysetPolicySchema.safeParse(values);
  const liveErrors: Record<string, string> = live.success ? {} : Object.fromEntries(live.error.issues.map((i) => [String(i.path[0]), i.message]));
  const hint = (k: "rotateDays" | "retentionDays") =>
    liveErrors[k] ? <span className="mt-1 block text-xs text-amber-700">{liveErrors[k]}</span> : <FieldError state={state} name={k} />;
  return (
    <form action={formAction} className="space-y-3" data-testid="policy-form">
      <label className="flex items-center gap-2 text-sm font-medium text-slate-700">
        <input type="checkbox" name="enabled" checked={values.enabled} onChange={(e) => setValues((v) => ({ ...v, enabled: e.target.checked }))} className="h-4 w-4 rounded border-slate-300" />
        Generate and retire keysets automatically
      </label>
      <div className="grid max-w-xl gap-3 md:grid-cols-2">
        <label className="text-sm font-medium text-slate-700">
          New keyset every <span className="font-normal text-slate-500">(days)</span>
          <input name="rotateDays" type="number" min={1} max={3650} step={1} value={values.rotateDays} onChange={(e) => setValues((v) => ({ ...v, rotateDays: e.target.value }))} disabled={!values.enabled} className={`${input} w-32 disabled:bg-slate-50`} />
          {hint("rotateDays")}
        </label>
        <label className="text-sm font-medium text-slate-700">
          Retire keysets older than <span className="font-normal text-slate-500">(days)</span>
          <input name="retentionDays" type="number" min={1} max={3650} step={1} value={values.retentionDays} onChange={(e) => setValues((v) => ({ ...v, retentionDays: e.target.value }))} disabled={!values.enabled} className={`${input} w-32 disabled:bg-slate-50`} />
          {hint("retentionDays")}
        </label>
      </div>
      {/* Disabled inputs are not submitted: keep the values when the policy is switched off. */}
      {!values.enabled && (
        <>
          <input type="hidden" name="rotateDays" value={values.rotateDays} />
          <input type="hidden" name="retentionDays" value={values.retentionDays} />
        </>
      )}
      <p className="text-xs text-slate-500">
        The newest keyset is never retired. Retiring does not weaken old restore points: they keep their wrap, and the keyset stays listed and exportable. The runner applies the policy when the console starts and then every hour.
      </p>
      <button type="submit" disabled={pending || !live.success} className={primary} data-testid="save-policy">
        {pending ? "Saving…" : "Save policy"}
      </button>
      <ActionMessage state={state} />
    </form>
  );
}
