"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useRef, useState, useTransition, type ReactNode } from "react";
import { ScheduleEditor } from "@/components/backup-wizard/schedule-editor";
import { Badge } from "@/components/ui/badge";
import type { ActionState } from "@/lib/auth/safe-action";
import { describeSchedule } from "@/lib/backup/schedule";
import { TRANSPORT_LABELS } from "@/lib/format";
import { KEY_MODE_WORDS, replicaDiskEncrypted, replicaHomeEncrypted } from "@/lib/replication/replica-placement";
import { createReplicationJobSchema } from "@/lib/schemas/replication";
import type { ReplicationCheckDto } from "@/lib/services/replication/check-replication-choices";
import type { ReplicationWizardOptionsDto } from "@/lib/services/replication/get-replication-wizard-options";
import { WizardDestinationStep } from "./wizard-destination-step";
import { initialForm, normalize, S, siteOf, stepOf, STEPS, toInput, vmsOf, wizardErrors, type ReplicationWizardForm } from "./wizard-form";
import { WizardKeysStep } from "./wizard-keys-step";
import { WizardVmStep } from "./wizard-vm-step";

// The replication job wizard (REP-1…4): name → VMs → destination → keys → restore points → data
// transfer → schedule → summary. Each step validates as the user types and says why Next is
// blocked; from the destination on, the server checks the choices as they change (the same checks
// Create applies) so a refused choice is explained before Create. `initial` fills the form (an
// edit page can pass a job's values).

type Action = (prev: ActionState, input: Record<string, unknown>) => Promise<ActionState>;

export interface ReplicationWizardProps {
  options: ReplicationWizardOptionsDto;
  checkAction: Action;
  save: Action;
  initial?: Partial<ReplicationWizardForm>;
  /** Where Cancel goes. */
  cancelHref?: string;
  /** Editing this job: one "Save changes" button, and the server check knows the job's own name and replicas. */
  editingJobId?: string;
}

export function ReplicationWizard({ options, checkAction, save, initial, cancelHref = "/replication", editingJobId }: ReplicationWizardProps) {
  const router = useRouter();
  const [step, setStep] = useState(0);
  const [shown, setShown] = useState<Set<number>>(new Set());
  const [form, setForm] = useState<ReplicationWizardForm>(() => normalize(options, initialForm(options, initial)));
  const [check, setCheck] = useState<{ key: string; result: ReplicationCheckDto | null; error: string | null } | null>(null);
  const [checking, startChecking] = useTransition();
  const [pending, startTransition] = useTransition();
  const [result, setResult] = useState<ActionState>(null);

  /** Changes that move placements (VMs, site, host, key mode) go through normalize. */
  const change = (patch: Partial<ReplicationWizardForm>) =>
    setForm((f) => {
      const next = { ...f, ...patch };
      return "vmIds" in patch || "targetSiteExternalId" in patch || "targetHostExternalId" in patch || "keyMode" in patch ? normalize(options, next, f) : next;
    });

  const input = useMemo(() => toInput(options, form), [options, form]);
  const inputKey = JSON.stringify(input);
  const parsed = useMemo(() => createReplicationJobSchema.safeParse(input), [input]);
  const parsedOk = parsed.success;
  const serverProblem = check && check.key === inputKey && !checking ? (check.result?.problem ?? (check.error ? { field: "_", message: check.error } : null)) : null;
  const errors = useMemo(() => wizardErrors(options, form, serverProblem), [options, form, serverProblem]);
  const firstProblem = (i: number) => Object.values(errors[i])[0];
  const clientOk = STEPS.slice(0, S.summary).every((_, i) => !Object.keys(errors[i]).some((k) => !k.startsWith("server:")));

  // The server check: whenever the choices change from the destination step on, once the form is complete.
  const lastSent = useRef("");
  useEffect(() => {
    if (step < S.destination || !parsedOk || !clientOk || lastSent.current === inputKey) return;
    const t = setTimeout(() => {
      lastSent.current = inputKey;
      startChecking(async () => {
        const r = await checkAction(null, { ...input, ...(editingJobId ? { editingJobId } : {}) } as unknown as Record<string, unknown>);
        if (r?.ok) setCheck({ key: inputKey, result: r.data as ReplicationCheckDto, error: null });
        else setCheck({ key: inputKey, result: null, error: r ? r.formError + (r.fieldErrors ? ` ${Object.values(r.fieldErrors).flat().join(" ")}` : "") : "The check did not answer" });
      });
    }, 300);
    return () => clearTimeout(t);
  }, [step, parsedOk, clientOk, inputKey, input, checkAction]);

  const next = () => {
    setShown((s) => new Set(s).add(step));
    if (!firstProblem(step)) setStep((s) => Math.min(STEPS.length - 1, s + 1));
  };
  const err = (i: number) => (field: string) => {
    const m = errors[i][field] ?? errors[i][`server:${field}`];
    return (shown.has(i) || touched(form, field)) && m ? (
      <span className="mt-1 block text-xs text-red-700" data-testid={`error-${field}`}>
        {m}
      </span>
    ) : null;
  };
  const checked = check?.key === inputKey && !checking ? check.result : null;
  const canCreate = clientOk && parsedOk && !!checked?.ok;

  const submit = (runNow: boolean) => {
    const invalid = STEPS.findIndex((_, i) => i < S.summary && firstProblem(i));
    if (invalid >= 0) {
      setShown(new Set(STEPS.map((_, i) => i)));
      setStep(invalid);
      return;
    }
    startTransition(async () => {
      const r = await save(null, { ...input, runNow } as unknown as Record<string, unknown>);
      setResult(r);
      if (r?.ok && r.id) router.push(r.id.startsWith("session:") ? `/sessions/${r.id.slice(8)}` : `/replication/${r.id}`);
    });
  };

  const site = siteOf(options, form);
  const vms = vmsOf(options, form);

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
              data-testid={`step-link-${i}`}
            >
              <span className={`flex h-5 w-5 items-center justify-center rounded-full text-xs ${i < step && !firstProblem(i) ? "bg-emerald-600 text-white" : i < step ? "bg-red-600 text-white" : "bg-slate-200 text-slate-700"}`}>{i + 1}</span>
              {s}
            </button>
          </li>
        ))}
      </ol>

      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-5 shadow-sm" data-testid={`wizard-step-${step}`}>
        <h2 className="mb-4 text-lg font-semibold text-slate-900">{STEPS[step]}</h2>
        {Object.entries(errors[step])
          .filter(([k]) => k.startsWith("server:"))
          .map(([k, m]) => (
            <p key={k} className="mb-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="server-problem">
              Checked with the platform: {m}
            </p>
          ))}

        {step === S.name && (
          <div className="max-w-xl space-y-4">
            <Field label="Replication job name" error={err(S.name)("name")}>
              <input value={form.name} onChange={(e) => change({ name: e.target.value })} className="input" autoFocus data-testid="job-name" />
            </Field>
            <Field label="Description (optional)" error={err(S.name)("description")}>
              <textarea value={form.description} onChange={(e) => change({ description: e.target.value })} className="input" rows={3} />
            </Field>
          </div>
        )}

        {step === S.vms && (
          <div className="space-y-3">
            <WizardVmStep options={options} value={form.vmIds} onChange={(vmIds) => change({ vmIds })} />
            {err(S.vms)("vms")}
          </div>
        )}

        {step === S.destination && <WizardDestinationStep options={options} form={form} change={change} error={err(S.destination)} />}

        {step === S.keys && <WizardKeysStep options={options} form={form} change={change} error={err(S.keys)} />}

        {step === S.points && (
          <div className="max-w-xl">
            <Field label="Restore points to keep on each replica" error={err(S.points)("keepPoints")} hint="Each run ends in a restore point (a snapshot on the replica); after a run, the oldest beyond this count is removed. Failover can start from any kept point.">
              <input type="number" min={1} max={100} value={Number.isNaN(form.keepPoints) ? "" : form.keepPoints} onChange={(e) => change({ keepPoints: e.target.valueAsNumber })} className="input w-32" data-testid="keep-points" />
            </Field>
          </div>
        )}

        {step === S.transfer && (
          <div className="space-y-4 text-sm">
            <p className="rounded-md bg-slate-50 px-3 py-2 text-slate-700" data-testid="tls-note">
              <strong>Data always travels under TLS between the sites.</strong> A proxy at the source site reads each disk; the blocks cross to a proxy at the target site over TLS, which writes the replica through the host in NBDSSL (network mode under TLS). Only changed blocks travel after the first run.
            </p>
            <fieldset className="space-y-2">
              <label className="flex items-start gap-2">
                <input type="radio" checked={form.proxyMode === "automatic"} onChange={() => change({ proxyMode: "automatic" })} data-testid="proxy-automatic" />
                <span>
                  <strong>Automatic selection</strong> — at each site, per disk, the most efficient proxy that can handle it: Direct storage, then HotAdd with the same key provider, then network. KMS compatibility and privileges are checked before a proxy is picked.
                </span>
              </label>
              <label className="flex items-start gap-2">
                <input type="radio" checked={form.proxyMode === "manual"} onChange={() => change({ proxyMode: "manual" })} data-testid="proxy-manual" />
                <span>
                  <strong>Use the proxies I choose</strong> — at least one at the source site and one at {site?.name ?? "the target site"}.
                </span>
              </label>
            </fieldset>
            {form.proxyMode === "manual" && (
              <div className="max-h-56 overflow-y-auto rounded-md border border-slate-200">
                {options.proxies
                  .filter((p) => p.siteExternalId === form.targetSiteExternalId || vms.some((v) => v.siteExternalId === p.siteExternalId))
                  .map((p) => (
                    <label key={p.id} className="flex items-center gap-3 border-b border-slate-100 px-3 py-2 last:border-0">
                      <input type="checkbox" checked={form.proxyIds.includes(p.id)} onChange={() => change({ proxyIds: form.proxyIds.includes(p.id) ? form.proxyIds.filter((x) => x !== p.id) : [...form.proxyIds, p.id] })} data-testid={`proxy-${p.name}`} />
                      <span className="font-medium">{p.name}</span>
                      <Badge tone={p.siteExternalId === form.targetSiteExternalId ? "info" : "neutral"}>{p.siteExternalId === form.targetSiteExternalId ? "target" : "source"}</Badge>
                      <span className="text-xs text-slate-500">
                        {p.siteName} · {p.transportModes.map((m) => TRANSPORT_LABELS[m] ?? m).join(", ")}
                        {p.keyProvider ? ` · encrypted with ${p.keyProvider}` : ""}
                        {p.tenant ? ` · dedicated to ${p.tenant}` : ""}
                      </span>
                    </label>
                  ))}
              </div>
            )}
            {err(S.transfer)("proxyIds")}
            <SeedChoice options={options} form={form} onChange={(seedFromRepositoryId) => change({ seedFromRepositoryId })} error={err(S.transfer)("seedFromRepositoryId")} />
            <ProxyPlanTable check={checked} checking={checking || (check?.key !== inputKey && parsedOk && clientOk)} />
          </div>
        )}

        {step === S.schedule && (
          <div className="space-y-3">
            <ScheduleEditor value={form.schedule} onChange={(schedule) => change({ schedule })} error={err(S.schedule)("schedule.days") ?? err(S.schedule)("schedule.time") ?? err(S.schedule)("schedule.everyHours")} />
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={form.enabled} onChange={(e) => change({ enabled: e.target.checked })} data-testid="job-enabled" />
              Enabled — the scheduler runs it; a disabled job runs only when started by hand.
            </label>
          </div>
        )}

        {step === S.summary && site && (
          <div className="space-y-4 text-sm">
            <dl className="grid max-w-4xl grid-cols-[12rem_1fr] gap-x-4 gap-y-2" data-testid="job-summary">
              <dt className="text-slate-500">Name</dt>
              <dd>{form.name}</dd>
              <dt className="text-slate-500">Replicates</dt>
              <dd>
                {vms.map((v) => `${v.name} → ${v.name}${form.suffix}`).join(", ")} ({vms.filter((v) => v.encrypted).length} of {vms.length} encrypted)
              </dd>
              <dt className="text-slate-500">To</dt>
              <dd>
                {site.name} · host {site.hosts.find((h) => h.externalId === form.targetHostExternalId)?.name}
              </dd>
              {vms.map((v) => {
                const p = form.placements[v.externalId];
                const ds = (id: string) => site.datastores.find((d) => d.externalId === id)?.name ?? id;
                const pol = (id: string) => site.storagePolicies.find((x) => x.externalId === id)?.name ?? id;
                return (
                  <Row key={v.externalId} label={`${v.name}${form.suffix}`}>
                    <ul className="space-y-0.5" data-testid={`summary-placement-${v.name}`}>
                      <li>
                        Home: {ds(p.home.datastoreExternalId)} · {pol(p.home.storagePolicyExternalId)} {replicaHomeEncrypted(v, form.keyMode) ? <Badge tone="lock">encrypted</Badge> : <Badge>unencrypted</Badge>}
                      </li>
                      {p.disks.map((d) => {
                        const src = v.disks.find((x) => x.deviceKey === d.deviceKey)!;
                        return (
                          <li key={d.deviceKey}>
                            {src.label}: {ds(d.datastoreExternalId)} · {pol(d.storagePolicyExternalId)} {replicaDiskEncrypted(v, src, form.keyMode) ? <Badge tone="lock">encrypted</Badge> : <Badge>unencrypted</Badge>}
                          </li>
                        );
                      })}
                      {v.nics.map((n) => {
                        const id = p.networks.find((c) => c.nicDeviceKey === n.deviceKey)?.networkExternalId ?? null;
                        return (
                          <li key={n.deviceKey}>
                            {n.label} ({n.networkName ?? "no network"}) → <strong>{id ? (site.networks.find((x) => x.externalId === id)?.name ?? id) : "disconnected"}</strong>
                          </li>
                        );
                      })}
                    </ul>
                  </Row>
                );
              })}
              <dt className="text-slate-500">Keys</dt>
              <dd data-testid="summary-keys">
                {KEY_MODE_WORDS[form.keyMode]}
                {form.keyMode !== "unencrypted" && <> · {allowedName(options, form)}</>}
                {form.refuseUnencrypted ? " · refuses unencrypted replicas of encrypted VMs" : ""}
              </dd>
              <dt className="text-slate-500">Restore points</dt>
              <dd>Keep {form.keepPoints} on each replica</dd>
              <dt className="text-slate-500">Data transfer</dt>
              <dd>
                {form.proxyMode === "automatic" ? "Automatic proxy selection" : options.proxies.filter((p) => form.proxyIds.includes(p.id)).map((p) => p.name).join(", ")}; always under TLS between the sites
                {form.seedFromRepositoryId ? ` · first run seeded from ${options.seedRepositories.find((r) => r.id === form.seedFromRepositoryId)?.name ?? "a repository"}` : ""}
              </dd>
              <dt className="text-slate-500">Schedule</dt>
              <dd>
                {describeSchedule(form.schedule)}
                {form.enabled ? "" : " (disabled)"}
              </dd>
            </dl>
            {!parsed.success && clientOk && (
              <p className="rounded-md bg-red-50 px-3 py-2 text-red-800" data-testid="check-problem">
                Not complete yet: {parsed.error.issues[0].path.join(".") || "the job"} — {parsed.error.issues[0].message}
              </p>
            )}
            {parsed.success && clientOk && <CheckResult check={check?.key === inputKey ? check : null} checking={checking || !check || check.key !== inputKey} onGo={(f) => setStep(stepOf(f))} />}
            <p className="text-slate-600">
              {editingJobId
                ? "Changes apply from the next run; a replica whose keys or placement change is made again with a full copy."
                : form.seedFromRepositoryId
                ? "The first run writes each replica from the VM's newest restore point in the seed repository and ships only the blocks changed since; later runs ship only the blocks that changed."
                : "The first run copies every written block of each VM and makes the replicas; later runs ship only the blocks that changed."}
            </p>
          </div>
        )}

        {result?.ok && !result.id && (
          <div className="mt-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="action-message">
            {result.message} <Link href={cancelHref} className="font-medium underline">Back to the job</Link>
          </div>
        )}
        {result && !result.ok && (
          <div className="mt-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">
            {result.formError}
            {result.fieldErrors && (
              <ul className="mt-1 list-disc pl-5">
                {Object.values(result.fieldErrors).flat().map((v, i) => (
                  <li key={i}>{v}</li>
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

        <div className="mt-6 flex flex-wrap items-center gap-3 border-t border-slate-100 pt-4">
          <button type="button" className="btn-secondary" disabled={step === 0 || pending} onClick={() => setStep((s) => s - 1)}>
            Back
          </button>
          {step < STEPS.length - 1 ? (
            <button type="button" className="btn-primary" onClick={next} data-testid="wizard-next">
              Next
            </button>
          ) : (
            editingJobId ? (
              <button type="button" className="btn-primary" onClick={() => submit(false)} disabled={pending || !canCreate || !!result?.ok} data-testid="wizard-save">
                {pending ? "Saving…" : "Save changes"}
              </button>
            ) : (
            <>
              <button type="button" className="btn-secondary" onClick={() => submit(false)} disabled={pending || !canCreate} data-testid="wizard-create">
                {pending ? "Saving…" : "Create"}
              </button>
              <button type="button" className="btn-primary" onClick={() => submit(true)} disabled={pending || !canCreate} data-testid="wizard-create-run">
                {pending ? "Saving…" : "Create and run now"}
              </button>
            </>
            )
          )}
          {step < STEPS.length - 1 && firstProblem(step) && (
            <span className="text-sm text-slate-600" data-testid="next-blocked">
              {firstProblem(step)}
            </span>
          )}
          <Link href={cancelHref} className="ml-auto text-sm text-slate-500 hover:underline">
            Cancel
          </Link>
        </div>
      </section>
    </div>
  );
}

function allowedName(options: ReplicationWizardOptionsDto, form: ReplicationWizardForm): string {
  const vm = vmsOf(options, form)[0];
  const kp = vm?.targets[form.targetSiteExternalId]?.keyProviders.find((k) => k.externalId === form.targetKeyProviderExternalId);
  return kp ? `${kp.name} at ${siteOf(options, form)?.name}` : form.targetKeyProviderExternalId;
}

function ProxyPlanTable({ check, checking }: { check: ReplicationCheckDto | null; checking: boolean }) {
  if (checking) return <p className="text-slate-500" data-testid="plan-checking">Working out which proxy reads and writes each disk…</p>;
  if (!check) return <p className="text-slate-500">Complete the earlier steps to see which proxy handles each disk.</p>;
  if (check.plan.length === 0) return check.problem ? <p className="text-slate-600">The proxies are worked out once the job&apos;s other choices are valid.</p> : null;
  return (
    <div className="max-h-96 overflow-y-auto rounded-md border border-slate-200" data-testid="proxy-plan">
      <table className="w-full text-left text-sm">
        <thead className="sticky top-0 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="px-3 py-2">VM / disk</th>
            <th className="px-3 py-2">Site</th>
            <th className="px-3 py-2">Proxy and mode</th>
            <th className="px-3 py-2">Why</th>
          </tr>
        </thead>
        <tbody>
          {check.plan.map((r, i) => (
            <tr key={i} className={`border-t border-slate-100 align-top ${r.ok ? "" : "bg-red-50"}`}>
              <td className="px-3 py-2">
                <span className="font-medium">{r.vm}</span> / {r.disk}
              </td>
              <td className="px-3 py-2">{r.side === "source" ? "Source (reads)" : "Target (writes)"}</td>
              <td className="whitespace-nowrap px-3 py-2">{r.ok ? `${r.proxy} · ${TRANSPORT_LABELS[r.mode!] ?? r.mode}` : <Badge tone="bad">No proxy</Badge>}</td>
              <td className="px-3 py-2 text-xs text-slate-600">
                {r.reason}
                {r.rejected.length > 0 && (
                  <details className="mt-1">
                    <summary className="cursor-pointer text-slate-500">{r.rejected.length} other candidate(s) not used</summary>
                    <ul className="mt-1 list-disc pl-4">
                      {r.rejected.map((x, j) => (
                        <li key={j}>{x}</li>
                      ))}
                    </ul>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CheckResult({ check, checking, onGo }: { check: { result: ReplicationCheckDto | null; error: string | null } | null; checking: boolean; onGo: (field: string) => void }) {
  if (checking || !check) return <p className="text-slate-500" data-testid="check-running">Checking the job with the platform…</p>;
  if (check.error) return <p className="rounded-md bg-red-50 px-3 py-2 text-red-800" data-testid="check-problem">The check could not run: {check.error}</p>;
  const r = check.result!;
  return (
    <div className="space-y-2">
      {r.ok ? (
        <p className="rounded-md bg-emerald-50 px-3 py-2 text-emerald-800" data-testid="check-ok">
          Checked with the platform: every replica can be created as chosen.
        </p>
      ) : (
        <p className="rounded-md bg-red-50 px-3 py-2 text-red-800" data-testid="check-problem">
          <strong>{STEPS[stepOf(r.problem?.field ?? "_")]}:</strong> {r.problem?.message}{" "}
          <button type="button" className="underline" onClick={() => onGo(r.problem?.field ?? "_")}>
            Go to {STEPS[stepOf(r.problem?.field ?? "_")].toLowerCase()}
          </button>
        </p>
      )}
      {r.warnings.length > 0 && (
        <div className="rounded-md bg-amber-50 px-3 py-2 text-amber-900" data-testid="check-warnings">
          <p className="font-medium">Every session of this job will say:</p>
          <ul className="mt-1 list-disc space-y-1 pl-5">
            {r.warnings.map((w, i) => (
              <li key={i}>{w}.</li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/** A field shows its error once it holds something (or the user pressed Next). */
function touched(form: ReplicationWizardForm, field: string): boolean {
  if (field.includes(".") || field === "_placement" || field.startsWith("target")) return true; // a choice made by clicking shows its reason at once
  const v = (form as unknown as Record<string, unknown>)[field];
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

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <>
      <dt className="text-slate-500">{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** How the first run fills the replicas: from the source over the network, or seeded from a repository's restore points. */
function SeedChoice({ options, form, onChange, error }: { options: ReplicationWizardOptionsDto; form: ReplicationWizardForm; onChange: (id: string) => void; error: ReactNode }) {
  if (options.seedRepositories.length === 0) return null;
  return (
    <div className="max-w-2xl space-y-1">
      <label className="block font-medium" htmlFor="seed-repository">
        First run
      </label>
      <select id="seed-repository" className="input w-full" value={form.seedFromRepositoryId} onChange={(e) => onChange(e.target.value)} data-testid="seed-repository">
        <option value="">Copy every written block from the source (over the network between the sites)</option>
        {options.seedRepositories.map((r) => (
          <option key={r.id} value={r.id}>
            Seed from {r.name} (restore points of {r.vmExternalIds.length} VM{r.vmExternalIds.length === 1 ? "" : "s"})
          </option>
        ))}
      </select>
      <p className="text-xs text-slate-500">Seeding writes each replica from the VM&apos;s newest restore point in a repository (ideally one at the DR site), then ships only the blocks changed on the source since that point. It needs a restore point of every chosen VM there, made with change tracking.</p>
      {error}
    </div>
  );
}
