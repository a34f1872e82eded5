"use client";
import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, useTransition } from "react";
import { KeyIds } from "@/components/backup/badges";
import { StepList } from "@/components/restore-wizard/wizard-parts";
import { Badge } from "@/components/ui/badge";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatDateTime } from "@/lib/format";
import type { FailoverCheckResult } from "@/lib/services/failover/check-failover";
import { checkInput, checkItems, checkKey, initialForm, reasonProblem, stepProblem, STEPS, type CheckState, type FailoverWizardForm, type WizardReplica } from "./failover-wizard-form";

// The failover wizard (FOV-1): replicas → restore point per replica → the pre-failover check
// (the server's go / no-go per replica, with its reasons) → failover now or planned → reason →
// summary → start. A step's first problem blocks Next and is shown beside it; a no-go blocks the
// check step. Start queues one session per replica and opens it.

type Action = (prev: ActionState, input: Record<string, unknown>) => Promise<ActionState>;

export interface FailoverWizardProps {
  replicas: WizardReplica[];
  preselect?: string | null;
  kind?: string | null;
  actions: { check: Action; start: Action; planned: Action };
}

const KEY_MODE: Record<string, string> = { shared: "shared keys (the source VM's key)", "re-key": "a new key of the DR site's key provider", unencrypted: "not encrypted" };

export function FailoverWizard({ replicas, preselect, kind, actions }: FailoverWizardProps) {
  const router = useRouter();
  const qc = useQueryClient();
  const [form, setForm] = useState<FailoverWizardForm>(() => initialForm(replicas, preselect, kind));
  const [step, setStep] = useState(form.replicaIds.length ? 1 : 0);
  const [tried, setTried] = useState<Set<number>>(new Set());
  const [check, setCheck] = useState<CheckState | null>(null);
  const [checking, startChecking] = useTransition();
  const [starting, startStarting] = useTransition();
  const [started, setStarted] = useState<Array<{ name: string; result: ActionState }> | null>(null);
  const ready = replicas.filter((r) => r.state === "Ready");
  const byId = new Map(replicas.map((r) => [r.id, r]));
  const chosen = form.replicaIds.map((id) => byId.get(id)!).filter(Boolean);
  const key = checkKey(form);
  const problem = (i: number) => stepProblem(i, form, replicas, check);

  const runCheck = () => {
    const k = checkKey(form);
    const input = checkInput(form);
    startChecking(async () => {
      const r = await actions.check(null, input);
      setCheck({ key: k, results: r?.ok ? (r.data as FailoverCheckResult[]) : null, error: r && !r.ok ? r.formError : r ? null : "no answer" });
    });
  };
  useEffect(() => {
    if (step === 2 && form.replicaIds.length && (!check || check.key !== key) && !checking) runCheck();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [step, key]);

  const next = () => {
    setTried((t) => new Set(t).add(step));
    if (!problem(step)) setStep(step + 1);
  };
  const start = () => {
    setTried((t) => new Set(t).add(4));
    if (reasonProblem(form.reason)) return setStep(4);
    startStarting(async () => {
      const out: Array<{ name: string; result: ActionState }> = [];
      for (const r of chosen) {
        const result = form.kind === "planned" ? await actions.planned(null, { replicaId: r.id, reason: form.reason.trim() }) : await actions.start(null, { replicaId: r.id, pointId: form.points[r.id], reason: form.reason.trim() });
        out.push({ name: r.replicaVmName, result });
      }
      setStarted(out);
      void qc.invalidateQueries();
      const ok = out.filter((o) => o.result?.ok && o.result.id);
      if (ok.length === 1 && out.length === 1 && ok[0].result?.ok) router.push(`/sessions/${ok[0].result.id}`);
    });
  };
  const setField = <K extends keyof FailoverWizardForm>(k: K, v: FailoverWizardForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const blocked = problem(step);

  return (
    <div className="grid gap-6 md:grid-cols-[14rem_1fr]" data-testid="failover-wizard">
      <StepList steps={STEPS} step={step} problem={problem} onGo={setStep} />
      <section className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
        <h2 className="mb-4 text-lg font-semibold text-slate-900" data-testid="step-title">{STEPS[step]}</h2>

        {step === 0 && (
          <div className="space-y-3 text-sm">
            <p className="text-slate-600">Only Ready replicas with at least one point can be failed over. Failing over powers the replica on at the DR site; the source VM is left as it is.</p>
            {ready.length === 0 && <p className="text-slate-600">No replica is Ready.</p>}
            <ul className="space-y-2">
              {ready.map((r) => (
                <li key={r.id}>
                  <label className="flex items-start gap-2">
                    <input type="checkbox" className="mt-0.5" checked={form.replicaIds.includes(r.id)} disabled={r.points.length === 0} onChange={(e) => setField("replicaIds", e.target.checked ? [...form.replicaIds, r.id] : form.replicaIds.filter((x) => x !== r.id))} data-testid="fo-replica" data-vm={r.sourceVmName} />
                    <span>
                      <span className="font-medium">{r.replicaVmName}</span> <span className="text-slate-500">replica of {r.sourceVmName} · job {r.jobName} · {r.points.length ? `${r.points.length} point(s), newest ${formatDateTime(r.points[r.points.length - 1].createdAt)}` : "no point yet: run its job first"}</span>
                    </span>
                  </label>
                </li>
              ))}
            </ul>
          </div>
        )}

        {step === 1 && (
          <div className="space-y-5 text-sm">
            <p className="text-slate-600">The newest point is chosen by default. Failing over to an older point removes the newer ones: the replica goes back along its chain.</p>
            {chosen.map((r) => {
              const p = r.points.find((x) => x.id === form.points[r.id]);
              return (
                <div key={r.id} data-testid="fo-point" data-vm={r.sourceVmName}>
                  <label className="block">
                    <span className="mb-1 block font-medium text-slate-700">Restore point of {r.replicaVmName}</span>
                    <select className="input max-w-xl" value={form.points[r.id] ?? ""} onChange={(e) => setField("points", { ...form.points, [r.id]: e.target.value })} data-testid="fo-point-select">
                      {[...r.points].reverse().map((x, i) => (
                        <option key={x.id} value={x.id}>{formatDateTime(x.createdAt)}{i === 0 ? " · newest" : ""}</option>
                      ))}
                    </select>
                  </label>
                  {p && (
                    <dl className="mt-2 grid max-w-2xl grid-cols-[9rem_1fr] gap-x-4 gap-y-1">
                      <dt className="text-slate-500">Encrypted with</dt>
                      <dd>{KEY_MODE[p.keyMode] ?? p.keyMode}</dd>
                      <dt className="text-slate-500">Key ids</dt>
                      <dd>{p.keyIds.length ? <KeyIds ids={p.keyIds} /> : "none (not encrypted)"}</dd>
                      {r.points.indexOf(p) < r.points.length - 1 && (
                        <>
                          <dt className="text-slate-500">Newer points</dt>
                          <dd className="text-amber-900">{r.points.length - 1 - r.points.indexOf(p)} newer point(s) are removed by this failover.</dd>
                        </>
                      )}
                    </dl>
                  )}
                </div>
              );
            })}
          </div>
        )}

        {step === 2 && (
          <div className="space-y-4 text-sm" data-testid="fo-check">
            <div className="flex items-center gap-3">
              <p className="text-slate-600">Before anything changes, the console asks the DR site: is the replica and its point there, does the DR site reach the key provider and do the keys unlock, is the vTPM there, are the storage policies and networks right. The job checks again before it starts.</p>
              <button type="button" className="btn-secondary shrink-0" onClick={runCheck} disabled={checking} data-testid="fo-check-again">{checking ? "Checking…" : "Check again"}</button>
            </div>
            {checking && <p className="text-slate-600" data-testid="fo-checking">Checking…</p>}
            {check?.error && <p className="rounded-md bg-red-50 px-3 py-2 text-red-800" data-testid="fo-check-error">{check.error}</p>}
            {check?.key === key && check.results?.map((res) => <CheckResult key={res.replicaId} result={res} encrypted={byId.get(res.replicaId)?.keyMode !== "unencrypted"} />)}
          </div>
        )}

        {step === 3 && (
          <fieldset className="space-y-3 text-sm">
            <label className="flex items-start gap-2 rounded-md border border-slate-200 p-3">
              <input type="radio" name="kind" className="mt-0.5" checked={form.kind === "failover"} onChange={() => setField("kind", "failover")} data-testid="fo-kind-failover" />
              <span>
                <span className="font-medium">Failover now</span>
                <span className="block text-slate-600">For when the production site is down. Each replica is reverted to the point you chose and powered on at the DR site. Whatever the source VM wrote after that point is not in the replica. The source VM is left as it is.</span>
              </span>
            </label>
            <label className="flex items-start gap-2 rounded-md border border-slate-200 p-3">
              <input type="radio" name="kind" className="mt-0.5" checked={form.kind === "planned"} onChange={() => setField("kind", "planned")} data-testid="fo-kind-planned" />
              <span>
                <span className="font-medium">Planned failover</span>
                <span className="block text-slate-600">For a move you plan, with the production site up. The replica is synced once more while the source VM runs, then the source VM is powered off, a final sync copies its last writes, and the replica is powered on at that final point: no data is lost. The source VM stays off; if a step fails it is powered on again. The point chosen earlier is not used.</span>
              </span>
            </label>
          </fieldset>
        )}

        {step === 4 && (
          <label className="block text-sm">
            <span className="mb-1 block font-medium text-slate-700">Reason</span>
            <textarea className="input w-full max-w-2xl" rows={3} value={form.reason} onChange={(e) => setField("reason", e.target.value)} placeholder="e.g. DR test of the finance VMs, change 4711" data-testid="fo-reason" />
            <span className="mt-1 block text-xs text-slate-500">Kept in each failover session and in the audit log.</span>
            {tried.has(4) && reasonProblem(form.reason) && <span className="mt-1 block text-xs text-red-700" data-testid="error-reason">{reasonProblem(form.reason)}</span>}
          </label>
        )}

        {step === 5 && (
          <div className="space-y-3 text-sm" data-testid="fo-summary">
            <p className="font-medium">{form.kind === "planned" ? "Planned failover" : "Failover now"} of {chosen.length} replica(s):</p>
            <ul className="list-disc space-y-1 pl-5">
              {chosen.map((r) => {
                const p = r.points.find((x) => x.id === form.points[r.id]);
                return (
                  <li key={r.id}>
                    {r.replicaVmName} (replica of {r.sourceVmName}) —{" "}
                    {form.kind === "planned" ? `two syncs, ${r.sourceVmName} powered off before the final one, then powered on at the final point` : `reverted to the point of ${p ? formatDateTime(p.createdAt) : "?"} and powered on at the DR site`}
                  </li>
                );
              })}
            </ul>
            <p>Reason: {form.reason.trim()}</p>
            <p className="text-slate-600">Each replica runs as its own session. Afterwards the replicas view offers Undo failover (discards everything the failed-over VM wrote) and Make permanent.</p>
            {started && (
              <ul className="space-y-1" data-testid="fo-started">
                {started.map((s) => (
                  <li key={s.name} className={s.result?.ok ? "text-emerald-800" : "text-red-700"}>
                    {s.name}: {s.result?.ok ? <>started — <Link href={`/sessions/${s.result.id}`} className="underline">open its session</Link></> : (s.result?.formError ?? "no answer")}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}

        <div className="mt-6 flex items-center gap-3 border-t border-slate-100 pt-4">
          <button type="button" className="btn-secondary" disabled={step === 0 || starting} onClick={() => setStep(step - 1)}>Back</button>
          {step < STEPS.length - 1 ? (
            <button type="button" className="btn-primary" onClick={next} disabled={step === 2 && checking} data-testid="wizard-next">Next</button>
          ) : (
            <button type="button" className="btn-primary" onClick={start} disabled={starting || !!started?.some((s) => s.result?.ok)} data-testid="wizard-finish">
              {starting ? "Starting…" : form.kind === "planned" ? "Start planned failover" : "Start failover"}
            </button>
          )}
          {step < STEPS.length - 1 && blocked && (tried.has(step) || step === 2) && <span className="text-sm text-slate-700" data-testid="next-blocked">{blocked}</span>}
          <Link href="/replicas" className="ml-auto text-sm text-slate-500 hover:underline">Cancel</Link>
        </div>
      </section>
    </div>
  );
}

function CheckResult({ result, encrypted }: { result: FailoverCheckResult; encrypted: boolean }) {
  const items = checkItems(result, encrypted);
  const unsorted = result.reasons.filter((r) => !items.some((i) => i.reasons.includes(r)));
  return (
    <div className={`rounded-md border p-3 ${result.go ? "border-emerald-200" : "border-red-200"}`} data-testid="fo-check-result" data-vm={result.sourceVmName} data-go={result.go ? "yes" : "no"}>
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-medium">{result.replicaVmName}</span>
        {result.go ? <Badge tone="good">Go</Badge> : <Badge tone="bad">No-go</Badge>}
        {result.point && <span className="text-xs text-slate-500">point of {formatDateTime(result.point.createdAt)}</span>}
      </div>
      <ul className="mt-2 space-y-1">
        {items.map((i) => (
          <li key={i.label} className="flex gap-2" data-testid="fo-check-item" data-state={i.state}>
            <span className={`w-4 shrink-0 text-center ${i.state === "ok" ? "text-emerald-700" : i.state === "failed" ? "text-red-700" : "text-slate-400"}`}>{i.state === "ok" ? "✓" : i.state === "failed" ? "✗" : "–"}</span>
            <span>
              <span className={i.state === "failed" ? "font-medium text-red-800" : "text-slate-800"}>{i.label}</span>
              {i.state === "not-needed" && <span className="text-slate-500"> — not needed: the replica is not encrypted</span>}
              {i.state === "not-checked" && <span className="text-slate-500"> — not checked: the replica cannot be used as it is</span>}
              {i.reasons.map((r) => <span key={r} className="block text-red-800" data-testid="fo-check-reason">{r}</span>)}
            </span>
          </li>
        ))}
        {unsorted.map((r) => <li key={r} className="pl-6 text-red-800" data-testid="fo-check-reason">{r}</li>)}
      </ul>
      {result.notes.length > 0 && (
        <ul className="mt-2 space-y-0.5 border-t border-slate-100 pt-2 text-xs text-slate-600" data-testid="fo-check-notes">
          {result.notes.map((n) => <li key={n}>{n}</li>)}
        </ul>
      )}
    </div>
  );
}
