"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useState, useTransition } from "react";
import type { z } from "zod";
import { Badge } from "@/components/ui/badge";
import { describeSchedule } from "@/lib/backup/schedule";
import type { ActionState } from "@/lib/auth/safe-action";
import { TRANSPORT_LABELS } from "@/lib/format";
import { jobBasicsSchema, jobEncryptionSchema, jobProxiesSchema, jobScheduleSchema, jobSelectionSchema, jobStorageSchema, MIN_BACKUP_PASSWORD, type backupJobSchema, type Schedule } from "@/lib/schemas/backup";
import type { JobWizardOptionsDto } from "@/lib/services/backup/get-job-wizard-options";
import { ProxyPlan } from "./proxy-plan";
import { ScheduleEditor } from "./schedule-editor";
import { useJobPreview } from "./use-job-preview";
import { VmPicker } from "./vm-picker";

const STEPS = ["Name", "Virtual machines", "Storage", "Proxies", "Encryption", "Schedule", "Summary"] as const;

type JobValues = z.infer<typeof backupJobSchema>;
export type WizardForm = Pick<JobValues, "name" | "description" | "selection" | "repositoryId" | "proxyMode" | "proxyIds" | "failoverToNetwork" | "encryptionMode" | "schedule"> & {
  retentionPoints: number;
  password: string;
  passwordConfirm: string;
  passwordHint: string;
  kmsKeyProviderId: string;
};

type SaveAction = (prev: ActionState, input: Record<string, unknown>) => Promise<ActionState>;

export interface WizardProps {
  options: JobWizardOptionsDto;
  save: SaveAction;
  /** Editing: the job's current values; its password is kept unless a new one is typed. */
  initial?: { jobId: string; form: Omit<WizardForm, "password" | "passwordConfirm">; hasPassword: boolean };
}

function errorsOf(schema: z.ZodType, value: unknown): Record<string, string> {
  const r = schema.safeParse(value);
  const out: Record<string, string> = {};
  if (!r.success) for (const i of r.error.issues) out[i.path.join(".") || "_"] ??= i.message;
  return out;
}

export function BackupJobWizard({ options, save, initial }: WizardProps) {
  const router = useRouter();
  const [step, setStep] = useState(0);
  const [shown, setShown] = useState<Set<number>>(new Set());
  const [pending, startTransition] = useTransition();
  const [result, setResult] = useState<ActionState>(null);
  const [runNow, setRunNow] = useState(!initial);
  const [form, setForm] = useState<WizardForm>(() => ({
    name: "",
    description: "",
    selection: [],
    repositoryId: options.repositories[0]?.id ?? "",
    retentionPoints: 14,
    proxyMode: "automatic",
    proxyIds: [],
    failoverToNetwork: true,
    encryptionMode: "password",
    kmsKeyProviderId: "",
    schedule: { kind: "daily", time: "22:00", days: [0, 1, 2, 3, 4, 5, 6] },
    ...initial?.form,
    password: "",
    passwordConfirm: "",
    passwordHint: initial?.form.passwordHint ?? "",
  }));
  const set = <K extends keyof WizardForm>(k: K, v: WizardForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const preview = useJobPreview({ selection: form.selection, proxyMode: form.proxyMode, proxyIds: form.proxyIds, failoverToNetwork: form.failoverToNetwork });
  const keepPassword = Boolean(initial?.hasPassword) && form.encryptionMode === "password" && form.password === "" && form.passwordConfirm === "";

  // Each step's problems, computed as the user types; Next is blocked with the first reason.
  const errors = useMemo(() => {
    const e: Record<string, string>[] = STEPS.map(() => ({}));
    e[0] = errorsOf(jobBasicsSchema, form);
    const clash = options.existingJobNames.some((n) => n.toLowerCase() === form.name.trim().toLowerCase() && n !== initial?.form.name);
    if (clash) e[0].name ??= "A job with this name exists";
    e[1] = errorsOf(jobSelectionSchema, form);
    if (!e[1].selection && preview.data && preview.data.vms.length === 0) e[1].selection = "The selection holds no VM today";
    e[2] = errorsOf(jobStorageSchema, form);
    if (!form.repositoryId) e[2].repositoryId = "Choose a repository (add one under Repositories)";
    e[3] = errorsOf(jobProxiesSchema, form);
    e[4] = errorsOf(jobEncryptionSchema, { ...form, password: keepPassword ? undefined : form.password });
    if (form.encryptionMode === "password" && !keepPassword && form.password === "") e[4].password = initial?.hasPassword ? "Type a new password, or clear both fields to keep the current one" : "Enter the encryption password";
    e[5] = errorsOf(jobScheduleSchema, form);
    return e;
  }, [form, options.existingJobNames, initial, preview.data, keepPassword]);

  const firstProblem = (i: number) => Object.values(errors[i])[0];
  const next = () => {
    setShown((s) => new Set(s).add(step));
    if (!firstProblem(step)) setStep((s) => Math.min(STEPS.length - 1, s + 1));
  };
  const err = (i: number, field: string) =>
    (shown.has(i) || touched(form, field)) && errors[i][field] ? (
      <span className="mt-1 block text-xs text-red-700" data-testid={`error-${field}`}>
        {errors[i][field]}
      </span>
    ) : null;

  const submit = () => {
    const invalid = STEPS.findIndex((_, i) => i < 6 && firstProblem(i));
    if (invalid >= 0) {
      setShown(new Set(STEPS.map((_, i) => i)));
      setStep(invalid);
      return;
    }
    startTransition(async () => {
      const payload: Record<string, unknown> = { ...form, runNow, ...(initial ? { jobId: initial.jobId } : {}) };
      if (keepPassword || form.encryptionMode !== "password") {
        delete payload.password;
        delete payload.passwordConfirm;
      }
      if (form.encryptionMode !== "kms") delete payload.kmsKeyProviderId;
      const r = await save(null, payload);
      setResult(r);
      if (r?.ok && r.id) router.push(r.id.startsWith("session:") ? `/sessions/${r.id.slice(8)}` : `/jobs/${r.id}`);
    });
  };

  const encryptedCount = preview.data?.encryptedVmCount ?? 0;
  const offWithEncrypted = form.encryptionMode === "off" && encryptedCount > 0;

  return (
    <div className="grid gap-6 lg:grid-cols-[12rem_1fr]">
      <ol className="space-y-1 text-sm" aria-label="Steps">
        {STEPS.map((s, i) => (
          <li key={s}>
            <button
              type="button"
              onClick={() => (i <= step || STEPS.slice(0, i).every((_, j) => !firstProblem(j)) ? setStep(i) : undefined)}
              aria-current={i === step ? "step" : undefined}
              className={`flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-left ${i === step ? "bg-brand-50 font-medium text-brand-700" : "text-slate-600 hover:bg-slate-50"}`}
            >
              <span className={`flex h-5 w-5 items-center justify-center rounded-full text-xs ${i < step && !firstProblem(i) ? "bg-emerald-600 text-white" : "bg-slate-200 text-slate-700"}`}>{i + 1}</span>
              {s}
            </button>
          </li>
        ))}
      </ol>

      <section className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" data-testid={`wizard-step-${step}`}>
        <h2 className="mb-4 text-lg font-semibold text-slate-900">{STEPS[step]}</h2>

        {step === 0 && (
          <div className="max-w-xl space-y-4">
            <Field label="Job name" error={err(0, "name")}>
              <input name="name" value={form.name} onChange={(e) => set("name", e.target.value)} className="input" autoFocus data-testid="job-name" />
            </Field>
            <Field label="Description (optional)" error={err(0, "description")}>
              <textarea name="description" value={form.description} onChange={(e) => set("description", e.target.value)} className="input" rows={3} />
            </Field>
          </div>
        )}

        {step === 1 && (
          <div className="space-y-3">
            <VmPicker options={options} value={form.selection} onChange={(v) => set("selection", v)} />
            {err(1, "selection")}
            {preview.data && (
              <p className="text-sm text-slate-700" data-testid="selection-summary">
                The selection holds <strong>{preview.data.vms.length}</strong> VM(s) today, <strong>{encryptedCount}</strong> of them encrypted with VM Encryption.
              </p>
            )}
            {preview.isError && <p className="text-sm text-red-700">The selection could not be checked: {preview.error.message}</p>}
          </div>
        )}

        {step === 2 && (
          <div className="max-w-xl space-y-4">
            <Field label="Backup repository" error={err(2, "repositoryId")}>
              <select value={form.repositoryId} onChange={(e) => set("repositoryId", e.target.value)} className="input" data-testid="job-repository">
                {options.repositories.length === 0 && <option value="">No repository: add one under Repositories</option>}
                {options.repositories.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name} — {r.path}
                    {r.immutabilityDays ? ` (immutable ${r.immutabilityDays} days)` : ""}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Restore points to keep per VM" error={err(2, "retentionPoints")} hint="Older points are removed after each run, never a block a kept point needs.">
              <input type="number" min={1} max={999} value={Number.isNaN(form.retentionPoints) ? "" : form.retentionPoints} onChange={(e) => set("retentionPoints", e.target.valueAsNumber)} className="input w-32" data-testid="job-retention" />
            </Field>
          </div>
        )}

        {step === 3 && (
          <div className="space-y-4">
            <fieldset className="space-y-2 text-sm">
              <label className="flex items-start gap-2">
                <input type="radio" checked={form.proxyMode === "automatic"} onChange={() => set("proxyMode", "automatic")} />
                <span>
                  <strong>Automatic selection</strong> — Direct storage, then HotAdd, then network; KMS compatibility and privileges are checked before a proxy is picked.
                </span>
              </label>
              <label className="flex items-start gap-2">
                <input type="radio" checked={form.proxyMode === "manual"} onChange={() => set("proxyMode", "manual")} />
                <span>
                  <strong>Use the proxies I choose</strong>
                </span>
              </label>
            </fieldset>
            {form.proxyMode === "manual" && (
              <div className="max-h-56 overflow-y-auto rounded-md border border-slate-200">
                {options.proxies.map((p) => (
                  <label key={p.id} className="flex items-center gap-3 border-b border-slate-100 px-3 py-2 text-sm last:border-0">
                    <input type="checkbox" checked={form.proxyIds.includes(p.id)} onChange={() => set("proxyIds", form.proxyIds.includes(p.id) ? form.proxyIds.filter((x) => x !== p.id) : [...form.proxyIds, p.id])} />
                    <span className="font-medium">{p.name}</span>
                    <span className="text-xs text-slate-500">
                      {p.siteName} · {p.transportModes.map((m) => TRANSPORT_LABELS[m] ?? m).join(", ")}
                      {p.keyProvider ? ` · encrypted with ${p.keyProvider}` : ""}
                      {p.tenant ? ` · dedicated to ${p.tenant}` : ""}
                    </span>
                  </label>
                ))}
              </div>
            )}
            {err(3, "proxyIds")}
            <label className="flex items-start gap-2 text-sm">
              <input type="checkbox" checked={form.failoverToNetwork} onChange={(e) => set("failoverToNetwork", e.target.checked)} data-testid="job-failover" />
              <span>
                <strong>Fail over to network mode</strong> when Direct storage or HotAdd cannot read a disk. For encrypted VMs the network mode is NBDSSL: the host decrypts
                and streams the disk under TLS, which costs host CPU and throughput (about half of HotAdd here) but keeps the data encrypted in transit.
              </span>
            </label>
            {preview.isPending && form.selection.length > 0 && <p className="text-sm text-slate-500">Working out which proxy reads each disk…</p>}
            {preview.data && (
              <>
                {preview.data.blockedDisks > 0 ? (
                  <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="proxy-blocked">
                    {preview.data.blockedDisks} disk(s) cannot be read by any proxy of this job as configured; they would fail. See why below.
                  </p>
                ) : (
                  <p className="text-sm text-emerald-800">Every disk has a proxy. This is what the engine would pick now:</p>
                )}
                <ProxyPlan preview={preview.data} />
              </>
            )}
          </div>
        )}

        {step === 4 && (
          <div className="max-w-xl space-y-4">
            <fieldset className="space-y-2 text-sm">
              {(
                [
                  ["password", "Password", "A user key derived from it (Argon2id, 64 MiB) wraps every restore point's storage key. The password is never stored; keep it safe."],
                  ["kms", "KMS key", "A key that never leaves the tenant's KMS wraps the storage keys; restores ask the KMS."],
                  ["off", "Off", "Not recommended: points are sealed under a key only this console holds."],
                ] as const
              ).map(([mode, label, hint]) => (
                <label key={mode} className="flex items-start gap-2">
                  <input type="radio" name="encryptionMode" checked={form.encryptionMode === mode} onChange={() => set("encryptionMode", mode)} data-testid={`encryption-${mode}`} />
                  <span>
                    <strong>{label}</strong> — {hint}
                  </span>
                </label>
              ))}
            </fieldset>
            {form.encryptionMode === "password" && (
              <div className="space-y-3 rounded-md border border-slate-200 p-3">
                {initial?.hasPassword && <p className="text-xs text-slate-600">Leave both fields empty to keep the current password. A new password starts new chains: the next run is a full backup.</p>}
                <Field label="Encryption password" error={err(4, "password")} hint={`At least ${MIN_BACKUP_PASSWORD} characters.`}>
                  <input type="password" autoComplete="new-password" value={form.password} onChange={(e) => set("password", e.target.value)} className="input" data-testid="job-password" />
                </Field>
                <Field label="Confirm the password" error={err(4, "passwordConfirm")}>
                  <input type="password" autoComplete="new-password" value={form.passwordConfirm} onChange={(e) => set("passwordConfirm", e.target.value)} className="input" data-testid="job-password-confirm" />
                </Field>
                <Field label="Hint (optional, stored in clear beside the backups)" error={err(4, "passwordHint")}>
                  <input value={form.passwordHint} onChange={(e) => set("passwordHint", e.target.value)} className="input" data-testid="job-password-hint" />
                </Field>
              </div>
            )}
            {form.encryptionMode === "kms" && (
              <Field label="Key provider holding the job's key" error={err(4, "kmsKeyProviderId")} hint="Strongroom creates a key named after the job on that KMS; rotating it is the KMS administrator's job.">
                {options.kmsKeyProviders.length === 0 ? (
                  <p className="text-sm text-amber-800">
                    No key provider has a registered KMS cluster. <Link className="underline" href="/key-providers">Register one under Key providers</Link>.
                  </p>
                ) : (
                  <select value={form.kmsKeyProviderId} onChange={(e) => set("kmsKeyProviderId", e.target.value)} className="input" data-testid="job-kms-provider">
                    <option value="">Choose…</option>
                    {options.kmsKeyProviders.map((k) => (
                      <option key={k.id} value={k.id}>
                        {k.name} ({k.siteName}) — {k.clusterName}, {k.status}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            )}
            {offWithEncrypted && (
              <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="trn7-warning">
                {encryptedCount} selected VM(s) are encrypted with VM Encryption. With backup encryption off, their data leaves the host in clear and its backups are protected
                only by this console. Choose a password or a KMS key.
              </p>
            )}
          </div>
        )}

        {step === 5 && <ScheduleEditor value={form.schedule} onChange={(s) => set("schedule", s)} error={err(5, "schedule.days") ?? err(5, "schedule.time") ?? err(5, "schedule.everyHours")} />}

        {step === 6 && (
          <div className="space-y-4 text-sm">
            <dl className="grid grid-cols-[12rem_1fr] gap-x-4 gap-y-2" data-testid="job-summary">
              <dt className="text-slate-500">Name</dt>
              <dd>{form.name}</dd>
              <dt className="text-slate-500">Protects</dt>
              <dd>
                {form.selection.map((s) => s.label || s.id).join(", ")} {preview.data && `(${preview.data.vms.length} VMs today, ${encryptedCount} encrypted)`}
              </dd>
              <dt className="text-slate-500">Repository</dt>
              <dd>
                {options.repositories.find((r) => r.id === form.repositoryId)?.name}, keep {form.retentionPoints} restore points
              </dd>
              <dt className="text-slate-500">Proxies</dt>
              <dd>
                {form.proxyMode === "automatic" ? "Automatic" : options.proxies.filter((p) => form.proxyIds.includes(p.id)).map((p) => p.name).join(", ")}; failover to network {form.failoverToNetwork ? "on" : "off"}
                {preview.data && preview.data.blockedDisks > 0 && <Badge tone="bad">{preview.data.blockedDisks} disk(s) without a proxy</Badge>}
              </dd>
              <dt className="text-slate-500">Encryption</dt>
              <dd>
                {form.encryptionMode === "password" ? (keepPassword ? "Password (unchanged)" : "Password (new)") : form.encryptionMode === "kms" ? `KMS key on ${options.kmsKeyProviders.find((k) => k.id === form.kmsKeyProviderId)?.name}` : <Badge tone="bad">Off</Badge>}
              </dd>
              <dt className="text-slate-500">Schedule</dt>
              <dd>{describeSchedule(form.schedule as Schedule)}</dd>
            </dl>
            {offWithEncrypted && <p className="rounded-md bg-amber-50 px-3 py-2 text-amber-900">Backup encryption is off for {encryptedCount} encrypted VM(s).</p>}
            <label className="flex items-center gap-2">
              <input type="checkbox" checked={runNow} onChange={(e) => setRunNow(e.target.checked)} data-testid="job-run-now" />
              Run the job when I click {initial ? "Save" : "Create"}
            </label>
          </div>
        )}

        {result && !result.ok && (
          <div className="mt-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">
            {result.formError}
            {result.fieldErrors && (
              <ul className="mt-1 list-disc pl-5">
                {Object.entries(result.fieldErrors).map(([k, v]) => (
                  <li key={k}>
                    {k}: {v.join("; ")}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        {result?.ok && (
          <p className="mt-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid="action-ok" role="status">
            {result.message}
          </p>
        )}

        <div className="mt-6 flex items-center gap-3 border-t border-slate-100 pt-4">
          <button type="button" className="btn-secondary" disabled={step === 0 || pending} onClick={() => setStep((s) => s - 1)}>
            Back
          </button>
          {step < STEPS.length - 1 ? (
            <button type="button" className="btn-primary" onClick={next} data-testid="wizard-next">
              Next
            </button>
          ) : (
            <button type="button" className="btn-primary" onClick={submit} disabled={pending} data-testid="wizard-finish">
              {pending ? (form.encryptionMode === "password" && !keepPassword ? "Deriving the key…" : "Saving…") : initial ? "Save" : "Create"}
            </button>
          )}
          {step < STEPS.length - 1 && firstProblem(step) && (
            <span className="text-sm text-slate-600" data-testid="next-blocked">
              {firstProblem(step)}
            </span>
          )}
          <Link href={initial ? `/jobs/${initial.jobId}` : "/jobs"} className="ml-auto text-sm text-slate-500 hover:underline">
            Cancel
          </Link>
        </div>
      </section>
    </div>
  );
}

/** A field shows its error once the user has typed in it (or pressed Next). */
function touched(form: WizardForm, field: string): boolean {
  const v = (form as Record<string, unknown>)[field];
  return typeof v === "string" ? v.length > 0 : false;
}

function Field({ label, hint, error, children }: { label: string; hint?: string; error: React.ReactNode; children: React.ReactNode }) {
  return (
    <label className="block text-sm">
      <span className="mb-1 block font-medium text-slate-700">{label}</span>
      {children}
      {hint && <span className="mt-1 block text-xs text-slate-500">{hint}</span>}
      {error}
    </label>
  );
}
