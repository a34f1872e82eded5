"use client";
import { useRouter } from "next/navigation";
import { useActionState, useEffect, useState } from "react";
import { ActionMessage, FieldError } from "@/components/users/form-bits";
import type { ActionState } from "@/lib/auth/safe-action";
import { registerKmsClusterSchema } from "@/lib/schemas/kms";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;
export interface StandardKeyProviderOption { id: string; name: string; siteName: string; kmsClusterName: string | null }

const FIELDS = ["name", "servers", "caPem", "clientCertPem", "clientKeyPem"] as const;

export function RegisterKmsForm({ test, register, keyProviders }: { test: Action; register: Action; keyProviders: StandardKeyProviderOption[] }) {
  const router = useRouter();
  const [testState, testAction, testing] = useActionState(test, null);
  const [regState, regAction, registering] = useActionState(register, null);
  const [v, setV] = useState<Record<(typeof FIELDS)[number], string>>({ name: "", servers: "", caPem: "", clientCertPem: "", clientKeyPem: "" });
  const live = registerKmsClusterSchema.safeParse(v);
  const liveErrors: Record<string, string> = live.success ? {} : Object.fromEntries(live.error.issues.map((i) => [String(i.path[0]), i.message]));
  const latest = [testState, regState].reduce<ActionState>((a, b) => (b && (!a || b.at > a.at) ? b : a), null);

  useEffect(() => {
    if (regState?.ok) {
      const t = setTimeout(() => router.push("/key-providers"), 1200);
      return () => clearTimeout(t);
    }
  }, [regState, router]);

  const set = (k: (typeof FIELDS)[number]) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => setV((o) => ({ ...o, [k]: e.target.value }));
  const loadFile = (k: (typeof FIELDS)[number]) => async (e: React.ChangeEvent<HTMLInputElement>) => {
    const f = e.target.files?.[0];
    if (f) setV((o) => ({ ...o, [k]: "" }));
    if (f && f.size <= 64 * 1024) {
      const text = await f.text();
      setV((o) => ({ ...o, [k]: text }));
    }
  };
  const hint = (k: string) => (v[k as keyof typeof v] && liveErrors[k] ? <span className="mt-1 block text-xs text-amber-700">{liveErrors[k]}</span> : <FieldError state={latest} name={k} />);
  const area = "mt-1 h-28 w-full rounded-md border border-slate-300 px-2 py-1.5 font-mono text-xs";
  const input = "mt-1 w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm";

  return (
    <form className="space-y-4" data-testid="register-kms-form">
      <div className="grid gap-4 md:grid-cols-2">
        <label className="text-sm font-medium text-slate-700">Cluster name<input name="name" value={v.name} onChange={set("name")} className={input} maxLength={100} placeholder="Acme Logistics KMS" />{hint("name")}</label>
        <label className="text-sm font-medium text-slate-700">
          KMS servers <span className="font-normal text-slate-500">(host:port, one per line; port 5696 if omitted)</span>
          <textarea name="servers" data-testid="kms-servers" value={v.servers} onChange={set("servers")} className={`${area} h-16`} placeholder={"kms1.acme.example:5696\nkms2.acme.example:5696"} />
          {hint("servers")}
        </label>
      </div>
      <div className="grid gap-4 md:grid-cols-3">
        {([["caPem", "CA certificate of the KMS servers"], ["clientCertPem", "Client certificate (Strongroom)"], ["clientKeyPem", "Client private key"]] as const).map(([k, label]) => (
          <label key={k} className="text-sm font-medium text-slate-700">
            {label}
            <textarea name={k} value={v[k]} onChange={set(k)} data-testid={`kms-${k}`} className={area} placeholder="-----BEGIN …-----" spellCheck={false} autoComplete="off" />
            <input type="file" accept=".pem,.crt,.key,.cer" onChange={loadFile(k)} className="mt-1 block text-xs" aria-label={`Load ${label} from a file`} />
            {hint(k)}
          </label>
        ))}
      </div>
      <p className="text-xs text-slate-500">Certificates and the key are sealed before they are stored and are never shown again. The client certificate must be trusted by the KMS and carry the clientAuth usage.</p>
      <fieldset>
        <legend className="text-sm font-medium text-slate-700">Key providers this cluster serves</legend>
        {keyProviders.length === 0 ? (
          <p className="text-xs text-slate-500">No standard key provider is reported by the platform.</p>
        ) : (
          <div className="mt-1 grid gap-1 md:grid-cols-2">
            {keyProviders.map((k) => (
              <label key={k.id} className="flex items-center gap-2 text-sm">
                <input type="checkbox" name="keyProviderIds" value={k.id} />
                {k.name} <span className="text-xs text-slate-500">({k.siteName}{k.kmsClusterName ? `, now served by ${k.kmsClusterName}` : ""})</span>
              </label>
            ))}
          </div>
        )}
      </fieldset>
      <div className="flex items-center gap-3">
        <button formAction={testAction} disabled={testing || !live.success} className="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium disabled:opacity-50" data-testid="kms-test">
          {testing ? "Testing…" : "Test connection"}
        </button>
        <button formAction={regAction} disabled={registering || !live.success} className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700 disabled:opacity-50" data-testid="kms-register">
          {registering ? "Registering…" : "Register"}
        </button>
        {!live.success && <span className="text-xs text-slate-500">Fill in every field to test or register.</span>}
      </div>
      <ActionMessage state={latest} />
    </form>
  );
}
