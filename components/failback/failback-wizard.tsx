"use client";
import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { DatastoreTree } from "@/components/placement/datastore-tree";
import { StepList } from "@/components/restore-wizard/wizard-parts";
import type { ActionState } from "@/lib/auth/safe-action";
import type { FailbackOptionsDto } from "@/lib/services/failback/get-failback-options";
import { datastoreRefusalFor, destinationInput, FAILBACK_STEPS, failbackStepProblem, initialFailbackForm, keyPlanWords, reasonProblem, type FailbackWizardForm } from "./failback-wizard-form";

// The failback wizard (FBK-1): destination (the original VM, the original restored elsewhere, or a
// new location with host, name and a datastore per home/disk from the tree) → the key plan in
// words → reason → summary → start, then the session page. The server checks the destination
// again; its refusal is shown on the step it concerns.

type Action = (prev: ActionState, input: Record<string, unknown>) => Promise<ActionState>;

export function FailbackWizard({ options: o, start }: { options: FailbackOptionsDto; start: Action }) {
  const router = useRouter();
  const qc = useQueryClient();
  const [form, setForm] = useState<FailbackWizardForm>(() => initialFailbackForm(o));
  const [step, setStep] = useState(0);
  const [tried, setTried] = useState<Set<number>>(new Set());
  const [result, setResult] = useState<ActionState>(null);
  const [pending, startTransition] = useTransition();
  const set = <K extends keyof FailbackWizardForm>(k: K, v: FailbackWizardForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setResult(null);
  };
  const problem = (i: number) => failbackStepProblem(i, form, o);
  const blocked = problem(step);
  const r = o.replica;
  const site = o.sites.find((s) => s.externalId === form.siteExternalId);
  const next = () => {
    setTried((t) => new Set(t).add(step));
    if (!problem(step)) setStep(step + 1);
  };
  const refusal = result && !result.ok ? [result.formError, ...Object.values(result.fieldErrors ?? {}).flat()].filter(Boolean).join(" ") : null;
  const submit = () => {
    for (const i of [0, 1, 2]) if (problem(i)) return setStep(i);
    startTransition(async () => {
      const res = await start(null, { replicaId: r.id, destination: destinationInput(form, o), reason: form.reason.trim() });
      setResult(res);
      if (res?.ok && res.id) {
        void qc.invalidateQueries();
        router.push(`/sessions/${res.id}`);
      } else if (res && !res.ok) {
        // A refused destination is shown where it is chosen.
        const fe = Object.keys(res.fieldErrors ?? {});
        setStep(fe.some((k) => k.startsWith("reason")) ? 2 : 0);
      }
    });
  };
  const destWords =
    form.kind === "original"
      ? `to the original VM ${o.original?.name ?? r.sourceVmName}, shipping only what changed since the failover`
      : form.kind === "restored-vm"
        ? `to ${o.vms.find((v) => v.externalId === form.vmExternalId)?.name ?? "?"}, the original restored elsewhere, writing only the blocks that differ`
        : `to a new VM ${form.name.trim()} on ${site?.hosts.find((h) => h.externalId === form.hostExternalId)?.name ?? "?"} (${site?.name ?? "?"}), a full copy`;

  return (
    <div className="grid gap-6 md:grid-cols-[14rem_1fr]" data-testid="failback-wizard">
      <StepList steps={FAILBACK_STEPS} step={step} problem={problem} onGo={setStep} />
      <section className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
        <h2 className="mb-1 text-lg font-semibold text-slate-900" data-testid="step-title">{FAILBACK_STEPS[step]}</h2>
        <p className="mb-4 text-sm text-slate-600">
          Failing back {r.replicaVmName} (production at {r.drSiteName} since the failover) to the production site. It is powered off first, so nothing it writes afterwards is lost.
        </p>
        {refusal && (step === 0 || step === 2 || step === 3) && <p className="mb-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="failback-refused">The failback was not started: {refusal}</p>}

        {step === 0 && (
          <fieldset className="space-y-3 text-sm">
            <Choice checked={form.kind === "original"} disabled={!o.original} onChange={() => set("kind", "original")} testId="fb-dest-original" title={`The original VM${o.original ? ` — ${o.original.name} at ${o.original.siteName}` : ""}`}>
              {o.original ? "Only what changed since the failover is shipped: the blocks the replica wrote, and those the original wrote after the failover point (they are put back). The quickest way home." : `${r.sourceVmName} is not at the production site any more: choose another destination.`}
            </Choice>
            <Choice checked={form.kind === "restored-vm"} onChange={() => set("kind", "restored-vm")} testId="fb-dest-restored" title="The original restored in another location">
              An existing production VM with the replica&apos;s disks (e.g. the original restored from a backup). It is compared block by block and only the blocks that differ are written.
              {form.kind === "restored-vm" && (
                <select className="input mt-2 max-w-xl" value={form.vmExternalId} onChange={(e) => set("vmExternalId", e.target.value)} data-testid="fb-restored-vm">
                  <option value="">Choose a VM…</option>
                  {o.vms.map((v) => <option key={v.externalId} value={v.externalId}>{v.name} · {v.siteName}{v.encrypted ? " · encrypted" : ""}</option>)}
                </select>
              )}
              {form.kind === "restored-vm" && o.vms.length === 0 && <span className="mt-1 block text-slate-600">No production VM has the replica&apos;s disks.</span>}
            </Choice>
            <Choice checked={form.kind === "new-vm"} onChange={() => set("kind", "new-vm")} testId="fb-dest-new" title="A new location">
              A new VM at the production site: a full copy of the replica.
            </Choice>
            {form.kind === "new-vm" && (
              <div className="space-y-3 rounded-md border border-slate-100 p-3" data-testid="fb-new-vm">
                <div className="grid max-w-2xl gap-3 md:grid-cols-3">
                  <label className="block">
                    <span className="mb-1 block font-medium text-slate-700">Site</span>
                    <select className="input" value={form.siteExternalId} onChange={(e) => { const s = o.sites.find((x) => x.externalId === e.target.value); setForm((f) => ({ ...f, siteExternalId: e.target.value, hostExternalId: s?.hosts.find((h) => h.usable)?.externalId ?? "", homeDatastore: "", disks: {}, keyProviderExternalId: "" })); }} data-testid="fb-site">
                      {o.sites.map((s) => <option key={s.externalId} value={s.externalId}>{s.name}</option>)}
                    </select>
                  </label>
                  <label className="block">
                    <span className="mb-1 block font-medium text-slate-700">Host</span>
                    <select className="input" value={form.hostExternalId} onChange={(e) => set("hostExternalId", e.target.value)} data-testid="fb-host">
                      <option value="">Choose a host…</option>
                      {site?.hosts.map((h) => <option key={h.externalId} value={h.externalId} disabled={!h.usable}>{h.name}{h.usable ? "" : " (not usable: disconnected or in maintenance)"}</option>)}
                    </select>
                  </label>
                  <label className="block">
                    <span className="mb-1 block font-medium text-slate-700">Name</span>
                    <input className="input" value={form.name} onChange={(e) => set("name", e.target.value)} data-testid="fb-name" />
                  </label>
                </div>
                {site && (
                  <>
                    <DatastoreTree name="fb-home" label="VM home: datastore" datastores={site.datastores} what="home" encrypted={r.encrypted} bytes={0} value={form.homeDatastore} onChange={(id) => set("homeDatastore", id)} refusalFor={(ds) => datastoreRefusalFor(ds, r.encrypted, 0)} refusedSelectable />
                    {r.disks.map((d) => (
                      <div key={d.deviceKey}>
                        <span className="font-medium text-slate-700">{d.label}</span>
                        <DatastoreTree name={`fb-disk-${d.deviceKey}`} label={`${d.label}: datastore`} datastores={site.datastores} what="disk" encrypted={r.encrypted && d.encrypted} bytes={d.capacityBytes} value={form.disks[d.deviceKey] ?? ""} onChange={(id) => set("disks", { ...form.disks, [d.deviceKey]: id })} refusalFor={(ds) => datastoreRefusalFor(ds, r.encrypted && d.encrypted, d.capacityBytes)} refusedSelectable />
                      </div>
                    ))}
                  </>
                )}
              </div>
            )}
          </fieldset>
        )}

        {step === 1 && (
          <div className="space-y-3 text-sm" data-testid="fb-keys">
            <p className="rounded-md bg-slate-50 px-3 py-2 text-slate-800" data-testid="fb-key-plan">{keyPlanWords(form, o)}</p>
            {form.kind === "new-vm" && r.encrypted && r.keyMode === "re-key" && site && (
              <label className="block">
                <span className="mb-1 block font-medium text-slate-700">Key provider of the new VM</span>
                <select className="input max-w-xl" value={form.keyProviderExternalId} onChange={(e) => set("keyProviderExternalId", e.target.value)} data-testid="fb-key-provider">
                  <option value="">{o.original?.keyProviderName && site.keyProviders.some((k) => k.externalId === o.original?.keyProviderExternalId) ? `The original VM's: ${o.original.keyProviderName}` : "Choose a key provider…"}</option>
                  {site.keyProviders.map((k) => <option key={k.externalId} value={k.externalId}>{k.name}{k.isDefault ? " · default" : ""}{k.tenant ? " · the tenant's" : ""}</option>)}
                </select>
                <span className="mt-1 block text-xs text-slate-500">Only key providers of {site.name} are offered: the DR site&apos;s are never used for production.</span>
              </label>
            )}
          </div>
        )}

        {step === 2 && (
          <label className="block text-sm">
            <span className="mb-1 block font-medium text-slate-700">Reason</span>
            <textarea className="input w-full max-w-2xl" rows={3} value={form.reason} onChange={(e) => set("reason", e.target.value)} placeholder="e.g. production site repaired, change 4712" data-testid="fb-reason" />
            <span className="mt-1 block text-xs text-slate-500">Kept in the failback session and in the audit log.</span>
            {tried.has(2) && reasonProblem(form.reason) && <span className="mt-1 block text-xs text-red-700" data-testid="error-reason">{reasonProblem(form.reason)}</span>}
          </label>
        )}

        {step === 3 && (
          <div className="space-y-2 text-sm" data-testid="fb-summary">
            <p><span className="font-medium">Fail back {r.replicaVmName}</span> {destWords}.</p>
            <p>{keyPlanWords(form, o)}</p>
            <p>Reason: {form.reason.trim()}</p>
            <p className="text-slate-600">Afterwards the replicas view offers Commit failback (production is the source again and replication resumes from it) and Undo failback (the replica is production again).</p>
          </div>
        )}

        <div className="mt-6 flex items-center gap-3 border-t border-slate-100 pt-4">
          <button type="button" className="btn-secondary" disabled={step === 0 || pending} onClick={() => setStep(step - 1)}>Back</button>
          {step < FAILBACK_STEPS.length - 1 ? (
            <button type="button" className="btn-primary" onClick={next} data-testid="wizard-next">Next</button>
          ) : (
            <button type="button" className="btn-primary" onClick={submit} disabled={pending || !!result?.ok} data-testid="wizard-finish">{pending ? "Starting…" : result?.ok ? "Opening session…" : "Start failback"}</button>
          )}
          {step < FAILBACK_STEPS.length - 1 && blocked && tried.has(step) && <span className="text-sm text-slate-700" data-testid="next-blocked">{blocked}</span>}
          <Link href="/replicas" className="ml-auto text-sm text-slate-500 hover:underline">Cancel</Link>
        </div>
      </section>
    </div>
  );
}

function Choice({ checked, disabled, onChange, testId, title, children }: { checked: boolean; disabled?: boolean; onChange: () => void; testId: string; title: string; children: React.ReactNode }) {
  return (
    <label className={`flex items-start gap-2 rounded-md border p-3 ${checked ? "border-brand-300 bg-brand-50/40" : "border-slate-200"} ${disabled ? "opacity-60" : ""}`}>
      <input type="radio" name="fb-destination" className="mt-0.5" checked={checked} disabled={disabled} onChange={onChange} data-testid={testId} />
      <span className="block w-full">
        <span className="font-medium">{title}</span>
        <span className="block text-slate-600">{children}</span>
      </span>
    </label>
  );
}
