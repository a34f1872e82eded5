"use client";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useRef, useState, useTransition } from "react";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatBytes, formatDateTime } from "@/lib/format";
import { datastoreRefusal, placementFor, policyChoices, policyFor } from "@/lib/restore/placement";
import { restoreDisksSchema, type DiskRestoreTargetInput } from "@/lib/schemas/restore";
import type { DiskRestoreCheckDto } from "@/lib/services/restore/check-disk-restore";
import type { RestoreOptionsDto } from "@/lib/services/restore/get-restore-options";
import type { DiskRestoreTargetDto } from "@/lib/services/restore/list-disk-restore-targets";
import type { RestorablePointDto } from "@/lib/services/restore/list-restorable-vms";
import { ModeStep, type RestoreMode } from "./mode-step";
import { PointStep } from "./point-step";
import { ActionError, Field, FieldError, StepList, StepNav } from "./wizard-parts";

// The restore wizard's disk restore (RST-7): chosen disks of the point attached to a VM that exists
// now — the original or another VM of the same tenant — each replacing one of its disks (same
// device key; the old disk is detached and deleted) or added as a new disk, encrypted or not. The
// wizard offers only valid choices and says why (RST-3: an encrypted disk only on an encrypted VM,
// on a datastore under the VM Encryption Policy node); the server's check runs as the user chooses
// and again at Start. The VM is powered off first, which the confirmation says.

const STEPS = ["Restore point", "Restore mode", "Target VM", "Disks", "Confirm", "Reason", "Summary"] as const;
const S = { point: 0, mode: 1, target: 2, disks: 3, confirm: 4, reason: 5, summary: 6 } as const;

type Action = (prev: ActionState, input: Record<string, unknown>) => Promise<ActionState>;
type Choice = DiskRestoreTargetInput["disks"][number] & { chosen: boolean };

/** Whether the mode can be offered: the point opens and some VM of the tenant exists. */
export function disksAvailable(options: RestoreOptionsDto, targets: DiskRestoreTargetDto[]): { ok: boolean; why: string | null } {
  if (!options.point.vm) return { ok: false, why: "the restore point cannot be opened with the keys this console holds." };
  if (targets.length === 0) return { ok: false, why: "there is no VM of this VM's tenant to attach disks to." };
  return { ok: true, why: null };
}

export function DiskRestoreFlow({ options, points, targets, onMode, startAction, checkAction }: { options: RestoreOptionsDto; points: RestorablePointDto[]; targets: DiskRestoreTargetDto[]; onMode: (m: RestoreMode) => void; startAction: Action; checkAction: Action }) {
  const router = useRouter();
  const point = options.point;
  const pointDisks = point.vm?.disks ?? [];
  const [step, setStep] = useState<number>(S.mode);
  const [shown, setShown] = useState<Set<number>>(new Set());
  const [targetId, setTargetId] = useState(targets.find((t) => t.isOriginal)?.externalId ?? targets[0]?.externalId ?? "");
  const target = targets.find((t) => t.externalId === targetId);
  const site = options.sites.find((s) => s.externalId === target?.siteExternalId);
  const defaults = (t: DiskRestoreTargetDto | undefined): Choice[] => {
    const s = options.sites.find((x) => x.externalId === t?.siteExternalId);
    return pointDisks.map((d) => {
      const encrypted = !!t?.encrypted && d.encrypted;
      const replace = t?.disks.some((x) => x.deviceKey === d.deviceKey) ?? false;
      const where = s ? placementFor(s, d.datastoreExternalId, d.storagePolicyExternalId, "disk", encrypted, d.capacityBytes) : { datastoreExternalId: "", storagePolicyExternalId: "" };
      return { chosen: false, sourceDeviceKey: d.deviceKey, action: replace ? "replace" : "add", replaceDeviceKey: replace ? d.deviceKey : undefined, encrypted, ...where };
    });
  };
  const [choices, setChoices] = useState<Choice[]>(() => defaults(target));
  const [confirmed, setConfirmed] = useState(false);
  const [reason, setReason] = useState("");
  const [powerOn, setPowerOn] = useState(target?.powerState === "poweredOn");
  const [check, setCheck] = useState<{ key: string; result: DiskRestoreCheckDto | null; error: string | null } | null>(null);
  const [checking, startChecking] = useTransition();
  const [pending, startTransition] = useTransition();
  const [result, setResult] = useState<ActionState>(null);

  const request: DiskRestoreTargetInput = { pointId: point.id, targetVmExternalId: targetId, disks: choices.filter((c) => c.chosen).map(({ chosen: _c, ...rest }) => (rest.action === "add" ? { ...rest, replaceDeviceKey: undefined } : rest)) };
  const key = JSON.stringify(request);

  const chooseTarget = (id: string) => {
    const t = targets.find((x) => x.externalId === id);
    setTargetId(id);
    setChoices(defaults(t));
    setPowerOn(t?.powerState === "poweredOn");
    setConfirmed(false);
  };
  const update = (i: number, patch: Partial<Choice>) => setChoices((cs) => cs.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  const setEncrypted = (i: number, encrypted: boolean) => {
    if (!site) return;
    const c = choices[i];
    const src = pointDisks.find((d) => d.deviceKey === c.sourceDeviceKey)!;
    const ds = site.datastores.find((d) => d.externalId === c.datastoreExternalId);
    const where = ds && !datastoreRefusal(ds, "disk", encrypted, src.capacityBytes) ? { datastoreExternalId: ds.externalId, storagePolicyExternalId: policyFor(site, ds, c.storagePolicyExternalId, encrypted) } : placementFor(site, src.datastoreExternalId, src.storagePolicyExternalId, "disk", encrypted, src.capacityBytes);
    update(i, { encrypted, ...where });
  };

  const errors = useMemo(() => {
    const e: Record<string, string>[] = STEPS.map(() => ({}));
    if (!point.keysAvailable || !point.vm) e[S.point]._ = "This point cannot be opened with the keys this console holds";
    if (!target) e[S.target].targetVmExternalId = "Choose the VM the disks go to";
    if (request.disks.length === 0) e[S.disks]._ = "Choose at least one disk to restore";
    for (const [i, c] of choices.entries()) {
      if (!c.chosen || !site) continue;
      const label = pointDisks.find((d) => d.deviceKey === c.sourceDeviceKey)?.label ?? `Disk ${c.sourceDeviceKey}`;
      if (c.encrypted && !target?.encrypted) e[S.disks][`disks.${i}.encrypted`] ??= `${label}: ${target?.name} is not encrypted, so the disk can only be restored unencrypted`;
      const ds = site.datastores.find((d) => d.externalId === c.datastoreExternalId);
      if (!ds) e[S.disks][`disks.${i}.datastoreExternalId`] ??= `${label}: choose a datastore`;
      else {
        const refusal = datastoreRefusal(ds, "disk", c.encrypted, pointDisks.find((d) => d.deviceKey === c.sourceDeviceKey)?.capacityBytes ?? 0);
        if (refusal) e[S.disks][`disks.${i}.datastoreExternalId`] ??= `${label} on ${ds.name}: ${refusal.charAt(0).toLowerCase()}${refusal.slice(1)}`;
      }
      if (c.action === "replace" && c.replaceDeviceKey === undefined) e[S.disks][`disks.${i}.replaceDeviceKey`] ??= `${label}: choose the disk it replaces`;
    }
    if (!Object.keys(e[S.disks]).length && request.disks.length) {
      if (!check || check.key !== key || checking) e[S.disks]._ = "Checking…";
      else if (check.error) e[S.disks]._ = check.error;
      else if (check.result && !check.result.ok) e[S.disks]._ = check.result.problems[0].message;
    }
    if (!confirmed) e[S.confirm].confirm = "Confirm that the VM is powered off and that the disks it replaces are deleted";
    const r = restoreDisksSchema.shape.reason.safeParse(reason);
    if (!r.success) e[S.reason].reason = r.error.issues[0].message;
    return e;
  }, [point.keysAvailable, point.vm, target, request.disks.length, choices, site, pointDisks, check, key, checking, confirmed, reason]);
  const problem = (i: number) => Object.values(errors[i])[0];

  // The server's check, as the choices change (on the disks step and after), debounced.
  const lastSent = useRef("");
  const localOk = Object.keys(errors[S.disks]).every((k) => k === "_") && request.disks.length > 0 && !!target;
  useEffect(() => {
    if (step < S.disks || !localOk || lastSent.current === key) return;
    const t = setTimeout(() => {
      lastSent.current = key;
      startChecking(async () => {
        const r = await checkAction(null, request as unknown as Record<string, unknown>);
        if (r?.ok) setCheck({ key, result: r.data as DiskRestoreCheckDto, error: null });
        else setCheck({ key, result: null, error: r ? r.formError + (r.fieldErrors ? ` ${Object.values(r.fieldErrors).flat().join(" ")}` : "") : "The check did not answer" });
      });
    }, 300);
    return () => clearTimeout(t);
  }, [key, step, localOk]);

  const next = () => {
    setShown((s) => new Set(s).add(step));
    if (!problem(step)) setStep((s) => Math.min(S.summary, s + 1));
  };
  const submit = () => {
    const invalid = STEPS.findIndex((_, i) => i < S.summary && problem(i));
    if (invalid >= 0) {
      setShown(new Set(STEPS.map((_, i) => i)));
      setStep(invalid);
      return;
    }
    startTransition(async () => {
      const r = await startAction(null, { ...request, powerOn, confirm: true, reason });
      setResult(r);
      if (r?.ok && r.id) router.push(`/sessions/${r.id}`);
    });
  };
  const consequences = check?.key === key ? (check.result?.consequences ?? []) : [];
  const show = (i: number, field: string) => <FieldError show={shown.has(i)} message={errors[i][field]} field={field} />;

  return (
    <div className="grid gap-6 lg:grid-cols-[12rem_1fr]">
      <StepList steps={STEPS} step={step} problem={problem} onGo={setStep} />
      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-5 shadow-sm" data-testid={`wizard-step-${step}`} data-flow="disks">
        <h2 className="mb-4 text-lg font-semibold text-slate-900">{STEPS[step]}</h2>

        {step === S.point && <PointStep options={options} points={points} onPick={(id) => router.push(`/restore/new?point=${encodeURIComponent(id)}`)} />}

        {step === S.mode && <ModeStep options={options} mode="disks" onMode={onMode} disksAvailable={disksAvailable(options, targets)} />}

        {step === S.target && (
          <div className="max-w-3xl space-y-3 text-sm">
            <Field label="VM the disks go to" hint={`VMs of ${point.vm?.tenant?.name ?? "the provider (no tenant)"}, like ${point.vmName}: a disk never goes to another tenant's VM.`} error={show(S.target, "targetVmExternalId")}>
              <select value={targetId} onChange={(e) => chooseTarget(e.target.value)} className="input max-w-xl" data-testid="disk-target-vm">
                {targets.map((t) => (
                  <option key={t.externalId} value={t.externalId}>
                    {t.name}{t.isOriginal ? " — the VM this point is of" : ""} · {t.siteName} · {t.encrypted ? "encrypted" : "not encrypted"} · {t.powerState === "poweredOn" ? "running" : t.powerState === "poweredOff" ? "powered off" : t.powerState}
                  </option>
                ))}
              </select>
            </Field>
            {target && (
              <div className="rounded-md border border-slate-200 p-3" data-testid="disk-target-details">
                <div className="flex flex-wrap items-center gap-2">
                  <strong>{target.name}</strong> <EncryptionBadge encrypted={target.encrypted} /> <span className="text-slate-600">{target.hostName} ({target.siteName}), {target.folder}</span>
                </div>
                <ul className="mt-2 space-y-0.5 text-slate-700">
                  {target.disks.map((d) => (
                    <li key={d.deviceKey}>
                      {d.label} · {formatBytes(d.capacityBytes)} · {d.datastoreName} · {d.encrypted ? "encrypted" : "unencrypted"}
                    </li>
                  ))}
                </ul>
                {!target.encrypted && <p className="mt-2 text-amber-900">{target.name} is not encrypted: disks restored to it are unencrypted (an encrypted disk needs an encrypted VM).</p>}
              </div>
            )}
          </div>
        )}

        {step === S.disks && target && site && (
          <div className="space-y-3 text-sm">
            <p className="max-w-3xl text-slate-600">
              Choose the disks of the point to restore to <strong>{target.name}</strong>. Each one either <strong>replaces</strong> a disk of the VM (that disk is detached and deleted) or is <strong>added</strong> as a new disk. An encrypted disk needs an encrypted VM and a datastore under the <strong>VM Encryption Policy</strong> node; the others are listed but cannot be chosen.
            </p>
            {choices.map((c, i) => {
              const src = pointDisks.find((d) => d.deviceKey === c.sourceDeviceKey)!;
              const policies = policyChoices(site, site.datastores.find((d) => d.externalId === c.datastoreExternalId), c.encrypted);
              return (
                <div key={c.sourceDeviceKey} className={`rounded-md border p-3 ${c.chosen ? "border-brand-200" : "border-slate-200"}`} data-testid={`disk-choice-${i}`}>
                  <label className="flex items-center gap-2">
                    <input type="checkbox" checked={c.chosen} onChange={(e) => update(i, { chosen: e.target.checked })} data-testid={`disk-choice-${i}-chosen`} />
                    <span className="font-medium">{src.label}</span> <span className="text-slate-500">{formatBytes(src.capacityBytes)}, {src.encrypted ? "encrypted" : "unencrypted"} at backup</span>
                  </label>
                  {c.chosen && (
                    <div className="mt-2 grid gap-2 pl-6 md:grid-cols-2">
                      <fieldset className="space-y-1">
                        <legend className="text-xs font-semibold uppercase tracking-wide text-slate-500">On {target.name}</legend>
                        <label className="flex items-center gap-2">
                          <input type="radio" name={`action-${i}`} checked={c.action === "replace"} disabled={target.disks.length === 0} onChange={() => update(i, { action: "replace", replaceDeviceKey: target.disks.find((d) => d.deviceKey === c.sourceDeviceKey)?.deviceKey ?? target.disks[0]?.deviceKey })} data-testid={`disk-choice-${i}-replace`} />
                          Replace
                          {c.action === "replace" && (
                            <select value={c.replaceDeviceKey ?? ""} onChange={(e) => update(i, { replaceDeviceKey: Number(e.target.value) })} className="input py-0.5" data-testid={`disk-choice-${i}-replaces`}>
                              {target.disks.map((d) => (
                                <option key={d.deviceKey} value={d.deviceKey}>
                                  {d.label} ({formatBytes(d.capacityBytes)})
                                </option>
                              ))}
                            </select>
                          )}
                        </label>
                        <label className="flex items-center gap-2">
                          <input type="radio" name={`action-${i}`} checked={c.action === "add"} onChange={() => update(i, { action: "add", replaceDeviceKey: undefined })} data-testid={`disk-choice-${i}-add`} />
                          Add as a new disk
                        </label>
                      </fieldset>
                      <div className="space-y-1">
                        <div className="inline-flex overflow-hidden rounded-md border border-slate-300" role="radiogroup" aria-label={`${src.label}: encryption`}>
                          {[true, false].map((v) => (
                            <button key={String(v)} type="button" role="radio" aria-checked={c.encrypted === v} disabled={v && !target.encrypted} title={v && !target.encrypted ? `${target.name} is not encrypted: an encrypted disk needs an encrypted VM` : undefined} onClick={() => setEncrypted(i, v)} className={`px-3 py-1 disabled:cursor-not-allowed disabled:opacity-50 ${c.encrypted === v ? (v ? "bg-violet-600 text-white" : "bg-slate-700 text-white") : "bg-white text-slate-700 hover:bg-slate-50"}`} data-testid={`disk-choice-${i}-${v ? "encrypted" : "unencrypted"}`}>
                              {v ? "Encrypted" : "Unencrypted"}
                            </button>
                          ))}
                        </div>
                        <select value={c.datastoreExternalId} onChange={(e) => { const ds = site.datastores.find((d) => d.externalId === e.target.value); update(i, { datastoreExternalId: e.target.value, storagePolicyExternalId: policyFor(site, ds, c.storagePolicyExternalId, c.encrypted) }); }} className="input" data-testid={`disk-choice-${i}-datastore`} aria-label={`${src.label}: datastore`}>
                          {[true, false].map((node) => (
                            <optgroup key={String(node)} label={node ? "VM Encryption Policy" : "Other datastores (unencrypted disks only)"}>
                              {site.datastores.filter((d) => d.encryptionCompatible === node).map((d) => {
                                const refusal = datastoreRefusal(d, "disk", c.encrypted, src.capacityBytes);
                                return (
                                  <option key={d.externalId} value={d.externalId} disabled={!!refusal}>
                                    {d.name} · {formatBytes(d.freeBytes)} free{refusal ? ` — ${refusal}` : ""}
                                  </option>
                                );
                              })}
                            </optgroup>
                          ))}
                        </select>
                        <select value={c.storagePolicyExternalId} onChange={(e) => update(i, { storagePolicyExternalId: e.target.value })} className="input" data-testid={`disk-choice-${i}-policy`} aria-label={`${src.label}: storage policy`}>
                          {policies.map((p) => (
                            <option key={p.externalId} value={p.externalId} disabled={!!p.refusal}>
                              {p.name}{p.refusal ? ` — ${p.refusal}` : ""}
                            </option>
                          ))}
                        </select>
                        {show(S.disks, `disks.${i}.encrypted`)}
                        {show(S.disks, `disks.${i}.datastoreExternalId`)}
                        {show(S.disks, `disks.${i}.replaceDeviceKey`)}
                      </div>
                    </div>
                  )}
                </div>
              );
            })}
            {check?.key === key && check.result && check.result.problems.length > 0 && (
              <ul className="rounded-md bg-red-50 px-3 py-2 text-red-800" data-testid="disk-check-problems">
                {check.result.problems.map((p, i) => <li key={i}>{p.message}</li>)}
              </ul>
            )}
            {check?.key === key && check.error && <p className="rounded-md bg-red-50 px-3 py-2 text-red-800">{check.error}</p>}
          </div>
        )}

        {step === S.confirm && target && (
          <div className="max-w-3xl space-y-3 text-sm" data-testid="disk-confirm">
            <div className="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-red-900">
              <p className="font-semibold">Restoring disks to {target.name} changes that VM; it cannot be undone.</p>
              <ul className="mt-2 list-disc space-y-1 pl-5" data-testid="disk-consequences">
                {target.powerState !== "poweredOff" && <li>{target.name} is powered off first (the guest stops without a clean shutdown: shut it down from inside first if you can).</li>}
                {consequences.filter((c) => !/powered off before/.test(c)).map((c, i) => <li key={i}>{c}</li>)}
                <li>Its other disks, configuration and keys stay as they are.</li>
              </ul>
            </div>
            <label className="flex items-start gap-2">
              <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} data-testid="disk-confirm-check" className="mt-0.5" />
              <span>I understand that {target.name} is powered off and that the disks it replaces are deleted.</span>
            </label>
            {show(S.confirm, "confirm")}
          </div>
        )}

        {step === S.reason && (
          <div className="max-w-xl">
            <Field label="Why are you restoring these disks?" error={<FieldError show={shown.has(S.reason) || reason.length > 0} message={errors[S.reason].reason} field="reason" />} hint="Kept with the session and in the audit log (a ticket number helps).">
              <textarea value={reason} onChange={(e) => setReason(e.target.value)} className="input" rows={3} data-testid="restore-reason" />
            </Field>
          </div>
        )}

        {step === S.summary && target && (
          <div className="space-y-4 text-sm" data-testid="restore-summary">
            <dl className="grid max-w-3xl grid-cols-[11rem_1fr] gap-x-4 gap-y-2">
              <dt className="text-slate-500">Restore</dt>
              <dd>
                {request.disks.length === 1 ? "One disk" : `${request.disks.length} disks`} of <strong>{point.vmName}</strong> from the point of {formatDateTime(point.createdAt)} to <strong>{target.name}</strong>
              </dd>
              {request.disks.map((d) => {
                const src = pointDisks.find((x) => x.deviceKey === d.sourceDeviceKey)!;
                const replaced = target.disks.find((x) => x.deviceKey === d.replaceDeviceKey);
                return (
                  <div key={d.sourceDeviceKey} className="contents">
                    <dt className="text-slate-500">{src.label}</dt>
                    <dd>
                      {d.action === "replace" ? `replaces ${replaced?.label ?? d.replaceDeviceKey}` : "added as a new disk"} · {site?.datastores.find((x) => x.externalId === d.datastoreExternalId)?.name} · {d.encrypted ? <Badge tone="lock">Encrypted</Badge> : <Badge>Unencrypted</Badge>}
                    </dd>
                  </div>
                );
              })}
              <dt className="text-slate-500">Reason</dt>
              <dd className="whitespace-pre-wrap">{reason}</dd>
            </dl>
            <label className="flex items-center gap-2">
              <input type="checkbox" checked={powerOn} onChange={(e) => setPowerOn(e.target.checked)} data-testid="restore-power-on" />
              Power on after restore
            </label>
            <p className="text-slate-600">Start queues the disk restore on the job engine and opens its session.</p>
          </div>
        )}

        <ActionError result={result} />
        <StepNav step={step} last={S.summary} pending={pending} problem={problem(step)} finishLabel="Start disk restore" onBack={() => setStep(step - 1)} onNext={next} onFinish={submit} />
      </section>
    </div>
  );
}
