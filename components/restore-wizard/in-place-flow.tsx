"use client";
import { useRouter } from "next/navigation";
import { useMemo, useState, useTransition } from "react";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatBytes, formatDateTime } from "@/lib/format";
import { rollbackVmSchema } from "@/lib/schemas/restore";
import type { RestoreOptionsDto } from "@/lib/services/restore/get-restore-options";
import type { RestorablePointDto } from "@/lib/services/restore/list-restorable-vms";
import { ModeStep, type RestoreMode } from "./mode-step";
import { PointStep } from "./point-step";
import { ActionError, Field, FieldError, StepList, StepNav } from "./wizard-parts";

// The restore wizard for the original location (RST-1): overwrite, or a quick rollback of only the
// blocks that differ. The VM keeps its settings, keys and encryption, so there is no target,
// placement, policy, key or name step: the operator picks the disks (all by default), confirms
// what is lost — every change since the point on those disks, and the VM is powered off first —
// says why, and starts. The server (startRollback) checks it all again.

const STEPS = ["Restore point", "Restore mode", "Disks", "Confirm", "Reason", "Summary"] as const;
const S = { point: 0, mode: 1, disks: 2, confirm: 3, reason: 4, summary: 5 } as const;

type Action = (prev: ActionState, input: Record<string, unknown>) => Promise<ActionState>;

export function InPlaceFlow({ options, points, mode, onMode, startAction, disksAvailable }: { options: RestoreOptionsDto; points: RestorablePointDto[]; mode: "overwrite" | "quick-rollback"; onMode: (m: RestoreMode) => void; startAction: Action; disksAvailable: { ok: boolean; why: string | null } }) {
  const router = useRouter();
  const point = options.point;
  const source = options.source;
  const usable = options.inPlace.disks.filter((d) => d.usable);
  const [step, setStep] = useState<number>(S.mode);
  const [shown, setShown] = useState<Set<number>>(new Set());
  const [keys, setKeys] = useState<number[]>(usable.map((d) => d.deviceKey));
  const [confirmed, setConfirmed] = useState(false);
  const [reason, setReason] = useState("");
  const [powerOn, setPowerOn] = useState(source?.powerState === "poweredOn");
  const [pending, startTransition] = useTransition();
  const [result, setResult] = useState<ActionState>(null);

  const chosen = options.inPlace.disks.filter((d) => keys.includes(d.deviceKey));
  const allChosen = chosen.length === options.inPlace.disks.length;
  const input = { pointId: point.id, mode, deviceKeys: keys, powerOn, confirm: confirmed, reason };

  const errors = useMemo(() => {
    const e: Record<string, string>[] = STEPS.map(() => ({}));
    if (!point.keysAvailable) e[S.point]._ = "This point cannot be opened with the keys this console holds";
    if (!options.inPlace.available) e[S.mode]._ = options.inPlace.why ?? "The VM cannot be restored in place";
    if (keys.length === 0) e[S.disks].deviceKeys = "Choose at least one disk to bring back";
    if (!confirmed) e[S.confirm].confirm = "Confirm that every change since the restore point on these disks is lost";
    const r = rollbackVmSchema.shape.reason.safeParse(reason);
    if (!r.success) e[S.reason].reason = r.error.issues[0].message;
    return e;
  }, [point.keysAvailable, options.inPlace, keys.length, confirmed, reason]);
  const problem = (i: number) => Object.values(errors[i])[0];

  const go = (i: number) => setStep(i);
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
      const r = await startAction(null, input);
      setResult(r);
      if (r?.ok && r.id) router.push(`/sessions/${r.id}`);
    });
  };
  const toggle = (deviceKey: number, on: boolean) => setKeys((k) => (on ? [...new Set([...k, deviceKey])] : k.filter((x) => x !== deviceKey)));
  const what = mode === "quick-rollback" ? "Quick rollback" : "Restore to the original location (overwrite)";
  const lost = (
    <>
      Every change made to {allChosen ? "the disks" : chosen.length === 1 ? "this disk" : "these disks"} of <strong>{source?.name ?? point.vmName}</strong> since the restore point of <strong>{formatDateTime(point.createdAt)}</strong> is lost
    </>
  );

  return (
    <div className="grid gap-6 lg:grid-cols-[12rem_1fr]">
      <StepList steps={STEPS} step={step} problem={problem} onGo={go} />
      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-5 shadow-sm" data-testid={`wizard-step-${step}`} data-flow="in-place">
        <h2 className="mb-4 text-lg font-semibold text-slate-900">{STEPS[step]}</h2>

        {step === S.point && <PointStep options={options} points={points} onPick={(id) => router.push(`/restore/new?point=${encodeURIComponent(id)}`)} />}

        {step === S.mode && <ModeStep options={options} mode={mode} onMode={onMode} disksAvailable={disksAvailable} />}

        {step === S.disks && (
          <div className="max-w-3xl space-y-3 text-sm">
            <p className="text-slate-600">
              {mode === "quick-rollback"
                ? "Each chosen disk gets back only the blocks that differ from the restore point; the others are left as they are now."
                : "Each chosen disk is written from the restore point, every block; the others are left as they are now."}{" "}
              The VM keeps its configuration, keys and encryption.
            </p>
            <table className="min-w-full text-sm" data-testid="in-place-disks">
              <thead>
                <tr className="text-left text-xs uppercase tracking-wide text-slate-500">
                  <th className="w-10 pb-1" />
                  <th className="pb-1 pr-4 font-semibold">Disk</th>
                  <th className="pb-1 pr-4 text-right font-semibold">Capacity</th>
                  <th className="pb-1 font-semibold">Now</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {options.inPlace.disks.map((d) => (
                  <tr key={d.deviceKey} className={d.usable ? "" : "text-slate-400"} data-testid="in-place-disk" data-disk={d.label}>
                    <td className="py-1.5">
                      <input type="checkbox" aria-label={`Bring back ${d.label}`} disabled={!d.usable} checked={keys.includes(d.deviceKey)} onChange={(e) => toggle(d.deviceKey, e.target.checked)} data-testid={`in-place-disk-${d.deviceKey}`} />
                    </td>
                    <td className="py-1.5 pr-4 font-medium">{d.label}</td>
                    <td className="py-1.5 pr-4 text-right tabular-nums">{formatBytes(d.capacityBytes)}</td>
                    <td className="py-1.5">{d.usable ? <EncryptionBadge encrypted={d.encrypted} /> : <span className="text-xs">{d.why}: cannot be written back in place</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <FieldError show={shown.has(S.disks)} message={errors[S.disks].deviceKeys} field="deviceKeys" />
          </div>
        )}

        {step === S.confirm && (
          <div className="max-w-3xl space-y-3 text-sm" data-testid="in-place-confirm">
            <div className="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-red-900">
              <p className="font-semibold">{what} of {source?.name ?? point.vmName} changes the VM itself; it cannot be undone.</p>
              <ul className="mt-2 list-disc space-y-1 pl-5">
                <li data-testid="confirm-lost">
                  {lost}: {chosen.map((d) => d.label).join(", ") || "no disk chosen"}.
                </li>
                <li data-testid="confirm-power">
                  {source?.name ?? point.vmName} is powered off first{source?.powerState === "poweredOn" ? " (it is running now: the guest stops without a clean shutdown, so shut it down from inside first if you can)" : ""}.
                </li>
                {!allChosen && <li>The disks you did not choose stay as they are now, so the guest may see disks from two different times.</li>}
                <li>Its configuration, keys and encryption stay as they are; nothing else on the site is touched.</li>
              </ul>
            </div>
            <label className="flex items-start gap-2">
              <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} data-testid="in-place-confirm-check" className="mt-0.5" />
              <span>I understand that every change since {formatDateTime(point.createdAt)} on {chosen.length === 1 ? "this disk" : `these ${chosen.length} disks`} is lost and that the VM is powered off.</span>
            </label>
            <FieldError show={shown.has(S.confirm)} message={errors[S.confirm].confirm} field="confirm" />
          </div>
        )}

        {step === S.reason && (
          <div className="max-w-xl">
            <Field label="Why are you restoring this VM?" error={<FieldError show={shown.has(S.reason) || reason.length > 0} message={errors[S.reason].reason} field="reason" />} hint="Kept with the session and in the audit log (a ticket number helps).">
              <textarea value={reason} onChange={(e) => setReason(e.target.value)} className="input" rows={3} data-testid="restore-reason" />
            </Field>
          </div>
        )}

        {step === S.summary && (
          <div className="space-y-4 text-sm" data-testid="restore-summary">
            <dl className="grid max-w-3xl grid-cols-[11rem_1fr] gap-x-4 gap-y-2">
              <dt className="text-slate-500">Restore</dt>
              <dd>
                <strong>{what}</strong> of <strong>{source?.name ?? point.vmName}</strong> from the point of {formatDateTime(point.createdAt)}
              </dd>
              <dt className="text-slate-500">Where</dt>
              <dd>
                In place: {source?.hostName} ({source?.siteName}), {source?.folder}
              </dd>
              <dt className="text-slate-500">Disks</dt>
              <dd>
                {chosen.map((d) => (
                  <span key={d.deviceKey} className="mr-3 inline-flex items-center gap-1">
                    {d.label} <span className="text-slate-500">{formatBytes(d.capacityBytes)}</span> {d.encrypted ? <Badge tone="lock">Encrypted</Badge> : <Badge>Unencrypted</Badge>}
                  </span>
                ))}
              </dd>
              <dt className="text-slate-500">Written</dt>
              <dd>{mode === "quick-rollback" ? "Only the blocks that differ from the point" : "Every block of each chosen disk"}</dd>
              <dt className="text-slate-500">Reason</dt>
              <dd className="whitespace-pre-wrap">{reason}</dd>
            </dl>
            <p className="rounded-md bg-amber-50 px-3 py-2 text-amber-900">{lost}; the VM is powered off first.</p>
            <label className="flex items-center gap-2">
              <input type="checkbox" checked={powerOn} onChange={(e) => setPowerOn(e.target.checked)} data-testid="restore-power-on" />
              Power on after restore
            </label>
            <p className="text-slate-600">Start queues the restore on the job engine and opens its session.</p>
          </div>
        )}

        <ActionError result={result} />
        <StepNav step={step} last={S.summary} pending={pending} problem={problem(step)} finishLabel={mode === "quick-rollback" ? "Start quick rollback" : "Start restore"} onBack={() => go(step - 1)} onNext={next} onFinish={submit} />
      </section>
    </div>
  );
}
