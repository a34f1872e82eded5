"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useRef, useState, useTransition } from "react";
import type { z } from "zod";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import { ErrorNotice } from "@/components/ui/states";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatBytes, formatDateTime } from "@/lib/format";
import { datastoreRefusal, policyChoices, policyFor, placementFor } from "@/lib/restore/placement";
import { restoreVmSchema, startRestoreSchema, type RestoreVmInput } from "@/lib/schemas/restore";
import type { RestoreCheckDto } from "@/lib/services/restore/check-restore";
import type { RestoreOptionsDto, RestoreOptionSite } from "@/lib/services/restore/get-restore-options";
import type { DiskRestoreTargetDto } from "@/lib/services/restore/list-disk-restore-targets";
import type { RestorablePointDto } from "@/lib/services/restore/list-restorable-vms";
import { DiskRestoreFlow, disksAvailable } from "./disk-restore-flow";
import { InPlaceFlow } from "./in-place-flow";
import { ModeStep, type RestoreMode } from "./mode-step";
import { PointStep } from "./point-step";
import { Field } from "./wizard-parts";
import { DatastoreTree } from "@/components/placement/datastore-tree";
import { defaultNetworkMapping, remapNetworks } from "@/lib/platform/network-mapping";
import { NetworkStep, NetworkSummary, networkStepErrors } from "./network-step";

const STEPS = ["Restore point", "Restore mode", "Target", "Placement", "Storage policy", "Keys", "Network", "Name and folder", "Pre-restore check", "Reason", "Summary"] as const;
const S = { point: 0, mode: 1, target: 2, placement: 3, policy: 4, keys: 5, network: 6, name: 7, check: 8, reason: 9, summary: 10 } as const;

type Action = (prev: ActionState, input: Record<string, unknown>) => Promise<ActionState>;

export interface RestoreWizardProps {
  options: RestoreOptionsDto;
  points: RestorablePointDto[];
  checkAction: Action;
  startAction: Action;
  /** In place (RST-1): overwrite or quick rollback of the VM itself. */
  rollbackAction: Action;
  /** RST-7: chosen disks attached to an existing VM (of the same tenant). */
  diskTargets: DiskRestoreTargetDto[];
  diskRestoreAction: Action;
  diskCheckAction: Action;
}

function errorsOf(schema: z.ZodType, value: unknown): Record<string, string> {
  const r = schema.safeParse(value);
  const out: Record<string, string> = {};
  if (!r.success) for (const i of r.error.issues) out[i.path.join(".") || "_"] ??= i.message;
  return out;
}

/** Which step a field of the form (or of the pre-restore check's problems) belongs to. */
function stepOf(field: string): number {
  if (field === "point" || field === "pointId") return S.point;
  if (field === "target" || field.startsWith("siteExternalId") || field.startsWith("hostExternalId")) return S.target;
  if (/storagePolicyExternalId$/.test(field)) return S.policy;
  if (field.startsWith("home") || field.startsWith("disks")) return S.placement;
  if (field.startsWith("keys")) return S.keys;
  if (field.startsWith("networks")) return S.network;
  if (field === "name" || field === "folder") return S.name;
  return S.check;
}

export function RestoreWizard({ options, points, checkAction, startAction, rollbackAction, diskTargets, diskRestoreAction, diskCheckAction }: RestoreWizardProps) {
  const router = useRouter();
  const point = options.point;
  const vm = point.vm;
  const [step, setStep] = useState(0);
  const [mode, setMode] = useState<RestoreMode>("new-location");
  const [shown, setShown] = useState<Set<number>>(new Set());
  const [form, setForm] = useState<RestoreVmInput | null>(options.defaults);
  const [reason, setReason] = useState("");
  const [reasonTouched, setReasonTouched] = useState(false);
  const [check, setCheck] = useState<{ key: string; result: RestoreCheckDto | null; error: string | null } | null>(null);
  const [checking, startChecking] = useTransition();
  const [pending, startTransition] = useTransition();
  const [result, setResult] = useState<ActionState>(null);

  const site = useMemo(() => options.sites.find((s) => s.externalId === form?.siteExternalId), [options.sites, form?.siteExternalId]);
  const anyEncrypted = !!form?.disks.some((d) => d.encrypted);
  const homeEncrypted = anyEncrypted || (!!vm?.vtpm && !!vm?.encrypted && form?.keys.kind === "same-key");
  const set = (patch: Partial<RestoreVmInput>) => setForm((f) => (f ? { ...f, ...patch } : f));

  // Each step's problems, as the user types; Next is blocked with the first reason.
  const errors = useMemo(() => {
    const e: Record<string, string>[] = STEPS.map(() => ({}));
    if (!form || !vm || !site) {
      e[S.point]._ = point.keysProblem ? "This point cannot be opened with the keys this console holds" : "This restore point cannot be restored";
      return e;
    }
    for (const [k, v] of Object.entries(errorsOf(restoreVmSchema, form))) e[stepOf(k)][k] ??= v;
    const host = site.hosts.find((h) => h.externalId === form.hostExternalId);
    if (!host) e[S.target].hostExternalId ??= "Choose the host to register the VM on";
    else if (!host.usable) e[S.target].hostExternalId ??= `${host.name}: ${host.why}`;
    const dsOf = (id: string) => site.datastores.find((d) => d.externalId === id);
    const items = [{ key: "home", label: "The VM home", encrypted: homeEncrypted, what: "home" as const, bytes: 0, ...form.home }, ...form.disks.map((d, i) => ({ key: `disks.${i}`, label: vm.disks.find((x) => x.deviceKey === d.deviceKey)?.label ?? `Disk ${d.deviceKey}`, what: "disk" as const, bytes: vm.disks.find((x) => x.deviceKey === d.deviceKey)?.capacityBytes ?? 0, ...d }))];
    const used = new Map<string, number>();
    for (const it of items) {
      const ds = dsOf(it.datastoreExternalId);
      if (!ds) {
        e[S.placement][`${it.key}.datastoreExternalId`] ??= `${it.label}: choose a datastore`;
        continue;
      }
      used.set(ds.externalId, (used.get(ds.externalId) ?? 0) + it.bytes);
      const refusal = datastoreRefusal(ds, it.what, it.encrypted, used.get(ds.externalId)!);
      if (refusal) e[S.placement][`${it.key}.datastoreExternalId`] ??= `${it.label} on ${ds.name}: ${refusal.charAt(0).toLowerCase()}${refusal.slice(1)}`;
      const pol = policyChoices(site, ds, it.encrypted).find((p) => p.externalId === it.storagePolicyExternalId);
      if (!pol) e[S.policy][`${it.key}.storagePolicyExternalId`] ??= `${it.label}: choose a storage policy`;
      else if (pol.refusal) e[S.policy][`${it.key}.storagePolicyExternalId`] ??= `${it.label}, ${pol.name}: ${pol.refusal.charAt(0).toLowerCase()}${pol.refusal.slice(1)}`;
    }
    if (homeEncrypted) {
      if (form.keys.kind === "same-key" && !site.sameKeyPossible) e[S.keys].keys ??= vm.encrypted ? "This site does not have the VM's key provider: choose a new key" : "The VM was not encrypted when it was backed up: choose a key provider for a new key";
      if (form.keys.kind === "new-key") {
        const kpId = form.keys.keyProviderExternalId;
        if (!site.keyProviders.some((k) => k.externalId === kpId)) e[S.keys]["keys.keyProviderExternalId"] ??= "Choose the key provider for the new key";
      }
    }
    Object.assign(e[S.network], networkStepErrors(vm, site, form.hostExternalId, form.networks), e[S.network]);
    if (site.vmNames.includes(form.name.trim())) e[S.name].name ??= `A VM named ${form.name.trim()} already exists on ${site.name}: choose another name`;
    const key = JSON.stringify(form);
    if (!check || check.key !== key || checking) e[S.check]._ = "Checking…";
    else if (check.error) e[S.check]._ = check.error;
    else if (check.result && !check.result.ok) e[S.check]._ = `${check.result.problems.length} problem(s) to fix before the restore can start`;
    for (const [k, v] of Object.entries(errorsOf(startRestoreSchema.shape.reason, reason))) e[S.reason][k === "_" ? "reason" : k] ??= v;
    return e;
  }, [form, vm, site, point.keysProblem, homeEncrypted, check, checking, reason]);

  const firstProblem = (i: number) => Object.values(errors[i])[0];
  const stepsBeforeCheckOk = STEPS.slice(0, S.check).every((_, j) => !firstProblem(j));

  // The pre-restore check runs (on the server) whenever the choices change while the keys step or
  // a later one is open, once the steps before it are valid: its consequences show on the keys step.
  const lastSent = useRef("");
  useEffect(() => {
    if (!form || step < S.keys || !STEPS.slice(0, S.check).every((_, j) => !firstProblem(j))) return;
    const key = JSON.stringify(form);
    if (lastSent.current === key) return;
    const t = setTimeout(() => {
      lastSent.current = key;
      startChecking(async () => {
        const r = await checkAction(null, form as unknown as Record<string, unknown>);
        if (r?.ok) setCheck({ key, result: r.data as RestoreCheckDto, error: null });
        else setCheck({ key, result: null, error: r ? r.formError + (r.fieldErrors ? ` ${Object.values(r.fieldErrors).flat().join(" ")}` : "") : "The check did not answer" });
      });
    }, 300);
    return () => clearTimeout(t);
  }, [form, step, stepsBeforeCheckOk]);

  const next = () => {
    setShown((s) => new Set(s).add(step));
    if (step === S.reason) setReasonTouched(true);
    if (!firstProblem(step)) setStep((s) => Math.min(STEPS.length - 1, s + 1));
  };
  const err = (i: number, field: string) =>
    (shown.has(i) || (i === S.reason ? reasonTouched : true)) && errors[i][field] ? (
      <span className="mt-1 block text-xs text-red-700" data-testid={`error-${field}`}>
        {errors[i][field]}
      </span>
    ) : null;

  const submit = () => {
    const invalid = STEPS.findIndex((_, i) => i < S.summary && firstProblem(i));
    if (invalid >= 0 || !form) {
      setShown(new Set(STEPS.map((_, i) => i)));
      setReasonTouched(true);
      setStep(Math.max(0, invalid));
      return;
    }
    startTransition(async () => {
      const r = await startAction(null, { vms: [form], reason });
      setResult(r);
      if (r?.ok && r.id) router.push(`/sessions/${r.id}`);
    });
  };

  const changeSite = (siteExternalId: string) => {
    const s = options.sites.find((x) => x.externalId === siteExternalId);
    if (!s || !form || !vm) return;
    const enc = form.disks.some((d) => d.encrypted);
    const host = s.hosts.find((h) => h.externalId === vm.hostExternalId && h.usable) ?? s.hosts.find((h) => h.usable);
    const kp = s.keyProviders.find((k) => k.reachable && k.tenantName) ?? s.keyProviders.find((k) => k.reachable && k.isDefault) ?? s.keyProviders.find((k) => k.reachable);
    set({
      siteExternalId,
      hostExternalId: host?.externalId ?? "",
      home: placementFor(s, vm.home.datastoreExternalId, vm.home.storagePolicyExternalId, "home", enc, 0),
      disks: form.disks.map((d) => {
        const src = vm.disks.find((x) => x.deviceKey === d.deviceKey)!;
        return { ...d, ...placementFor(s, src.datastoreExternalId, src.storagePolicyExternalId, "disk", d.encrypted, src.capacityBytes) };
      }),
      keys: s.sameKeyPossible ? { kind: "same-key" } : { kind: "new-key", keyProviderExternalId: kp?.externalId ?? "" },
      networks: defaultNetworkMapping(vm.nics, s.networks, host?.externalId ?? ""), // another site: its defaults, choices do not carry
      folder: s.folders.includes(form.folder) ? form.folder : form.folder,
    });
  };

  /** Moving an item to a datastore keeps its policy when it still fits there, else the policy the rule gives. */
  const placeItem = (index: number | "home", datastoreExternalId: string) => {
    if (!form || !site || !vm) return;
    const ds = site.datastores.find((d) => d.externalId === datastoreExternalId);
    if (index === "home") set({ home: { datastoreExternalId, storagePolicyExternalId: policyFor(site, ds, form.home.storagePolicyExternalId || vm.home.storagePolicyExternalId, homeEncrypted) } });
    else set({ disks: form.disks.map((d, i) => (i === index ? { ...d, datastoreExternalId, storagePolicyExternalId: policyFor(site, ds, vm.disks.find((x) => x.deviceKey === d.deviceKey)?.storagePolicyExternalId ?? d.storagePolicyExternalId, d.encrypted) } : d)) });
  };
  const setDiskEncrypted = (index: number, encrypted: boolean) => {
    if (!form || !site) return;
    const disks = form.disks.map((d, i) => (i === index ? { ...d, encrypted, storagePolicyExternalId: policyFor(site, site.datastores.find((x) => x.externalId === d.datastoreExternalId), d.storagePolicyExternalId, encrypted) } : d));
    const homeEnc = disks.some((d) => d.encrypted) || (!!vm?.vtpm && !!vm?.encrypted && form.keys.kind === "same-key");
    const homeDs = site.datastores.find((x) => x.externalId === form.home.datastoreExternalId);
    set({ disks, home: { ...form.home, storagePolicyExternalId: policyFor(site, homeDs, form.home.storagePolicyExternalId, homeEnc) } });
  };

  // The other modes are flows of their own; the point and mode steps are the same in each.
  const backToMode = (m: RestoreMode) => {
    setMode(m);
    setStep(S.mode);
  };
  if (mode === "overwrite" || mode === "quick-rollback") return <InPlaceFlow options={options} points={points} mode={mode} onMode={backToMode} startAction={rollbackAction} disksAvailable={disksAvailable(options, diskTargets)} />;
  if (mode === "disks") return <DiskRestoreFlow options={options} points={points} targets={diskTargets} onMode={backToMode} startAction={diskRestoreAction} checkAction={diskCheckAction} />;

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

        {step === S.point && <PointStep options={options} points={points} onPick={(id) => router.push(`/restore/new?point=${encodeURIComponent(id)}`)} />}

        {step === S.mode && <ModeStep options={options} mode={mode} onMode={setMode} disksAvailable={disksAvailable(options, diskTargets)} />}

        {step === S.target && form && (
          <div className="space-y-4">
            <Field label="Site (vCenter)">
              <select value={form.siteExternalId} onChange={(e) => changeSite(e.target.value)} className="input max-w-md" data-testid="restore-site">
                {options.sites.map((s) => (
                  <option key={s.externalId} value={s.externalId}>
                    {s.name} ({s.role === "dr" ? "DR" : "production"}){s.isSourceSite ? " — where the VM was backed up" : ""}
                  </option>
                ))}
              </select>
            </Field>
            {site && !site.sameKeyPossible && vm?.encrypted && <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900">This site does not have the VM&apos;s key provider ({vm.keyProvider?.name ?? vm.keyProvider?.externalId}): encrypted items get a new key from a provider of this site.</p>}
            <div>
              <div className="mb-1 text-sm font-medium text-slate-700">Host</div>
              <div className="max-h-72 overflow-y-auto rounded-md border border-slate-200" data-testid="restore-hosts">
                {site?.hosts.map((h) => (
                  <label key={h.externalId} className={`flex items-center gap-3 border-b border-slate-100 px-3 py-2 text-sm last:border-0 ${h.usable ? "" : "text-slate-400"}`} data-testid="restore-host" data-host={h.name}>
                    <input type="radio" name="host" disabled={!h.usable} checked={form.hostExternalId === h.externalId} onChange={() => set({ hostExternalId: h.externalId, networks: remapNetworks(vm?.nics ?? [], form.networks, site.networks, site.networks, h.externalId) })} />
                    <span className="w-48 font-medium">{h.name}</span>
                    <span className="text-xs text-slate-500">{h.cluster}</span>
                    {h.externalId === vm?.hostExternalId && <Badge tone="info">original host</Badge>}
                    {!h.usable && <span className="text-xs text-slate-500" data-testid="host-why">{h.why}</span>}
                  </label>
                ))}
              </div>
              {err(S.target, "hostExternalId")}
            </div>
          </div>
        )}

        {step === S.placement && form && site && vm && (
          <div className="space-y-4">
            <p className="text-sm text-slate-600">
              Choose, per disk, whether it is restored <strong>encrypted</strong> or <strong>unencrypted</strong>, and where each goes. Encrypted disks and, as soon as one disk is encrypted, the VM home (configuration and NVRAM) can go only to a datastore under the <strong>VM Encryption Policy</strong> node; the others are listed but cannot be chosen.
            </p>
            <PlacementItem
              testId="place-home"
              title="VM home (configuration, NVRAM)"
              subtitle={homeEncrypted ? (anyEncrypted ? "Encrypted, because at least one disk is" : "Encrypted, to keep the vTPM") : "Unencrypted, because no disk is encrypted"}
              encrypted={homeEncrypted}
              site={site}
              what="home"
              bytes={0}
              value={form.home.datastoreExternalId}
              onChange={(id) => placeItem("home", id)}
              error={err(S.placement, "home.datastoreExternalId")}
              wasDatastore={vm.home.datastoreExternalId}
            />
            {form.disks.map((d, i) => {
              const src = vm.disks.find((x) => x.deviceKey === d.deviceKey)!;
              return (
                <PlacementItem
                  key={d.deviceKey}
                  testId={`place-disk-${i}`}
                  title={`${src.label} · ${formatBytes(src.capacityBytes)}`}
                  subtitle={`${src.encrypted ? "Encrypted" : "Unencrypted"} when it was backed up`}
                  encrypted={d.encrypted}
                  onEncrypted={(v) => setDiskEncrypted(i, v)}
                  site={site}
                  what="disk"
                  bytes={src.capacityBytes}
                  value={d.datastoreExternalId}
                  onChange={(id) => placeItem(i, id)}
                  error={err(S.placement, `disks.${i}.datastoreExternalId`)}
                  wasDatastore={src.datastoreExternalId}
                />
              );
            })}
          </div>
        )}

        {step === S.policy && form && site && vm && (
          <div className="space-y-3">
            <p className="text-sm text-slate-600">
              Each item keeps the storage policy it had when it was backed up when that policy exists here and fits the datastore; otherwise choose one. Encrypted items default to the site&apos;s VM Encryption Policy.
            </p>
            <PolicyRow testId="policy-home" label="VM home" encrypted={homeEncrypted} site={site} datastore={form.home.datastoreExternalId} value={form.home.storagePolicyExternalId} was={vm.home.storagePolicyExternalId} onChange={(v) => set({ home: { ...form.home, storagePolicyExternalId: v } })} error={err(S.policy, "home.storagePolicyExternalId")} />
            {form.disks.map((d, i) => (
              <PolicyRow
                key={d.deviceKey}
                testId={`policy-disk-${i}`}
                label={vm.disks.find((x) => x.deviceKey === d.deviceKey)?.label ?? String(d.deviceKey)}
                encrypted={d.encrypted}
                site={site}
                datastore={d.datastoreExternalId}
                value={d.storagePolicyExternalId}
                was={vm.disks.find((x) => x.deviceKey === d.deviceKey)?.storagePolicyExternalId ?? ""}
                onChange={(v) => set({ disks: form.disks.map((x, j) => (j === i ? { ...x, storagePolicyExternalId: v } : x)) })}
                error={err(S.policy, `disks.${i}.storagePolicyExternalId`)}
              />
            ))}
          </div>
        )}

        {step === S.keys && form && site && vm && (
          <div className="max-w-3xl space-y-4 text-sm">
            {!homeEncrypted ? (
              <p className="rounded-md bg-slate-50 px-3 py-2 text-slate-700" data-testid="keys-none">Nothing is restored encrypted, so no key is needed.</p>
            ) : (
              <fieldset className="space-y-2">
                <label className={`flex items-start gap-2 rounded-md border p-3 ${site.sameKeyPossible ? "border-slate-200" : "border-slate-100 text-slate-400"}`}>
                  <input type="radio" disabled={!site.sameKeyPossible} checked={form.keys.kind === "same-key"} onChange={() => set({ keys: { kind: "same-key" } })} data-testid="keys-same" />
                  <span>
                    <strong>Same key</strong> — the VM&apos;s original key{vm.keyId ? <> (<code className="text-xs">{vm.keyId}</code>)</> : null} from {vm.keyProvider?.name ?? "its key provider"}.{" "}
                    {site.sameKeyPossible
                      ? vm.savedKeys
                        ? `The backup kept the encryption.bundle and NVRAM: the VM comes back with its NVRAM${vm.vtpm ? " and its vTPM" : ""} as they were.`
                        : "The backup did not keep the encryption.bundle and NVRAM: same key, generic NVRAM."
                      : vm.encrypted
                        ? `Not possible here: ${site.name} does not have that key provider.`
                        : "Not possible: the VM was not encrypted when it was backed up."}
                  </span>
                </label>
                <label className="flex items-start gap-2 rounded-md border border-slate-200 p-3">
                  <input type="radio" checked={form.keys.kind === "new-key"} onChange={() => set({ keys: { kind: "new-key", keyProviderExternalId: site.keyProviders.find((k) => k.reachable)?.externalId ?? site.keyProviders[0]?.externalId ?? "" } })} data-testid="keys-new" />
                  <span className="flex-1">
                    <strong>New key</strong> from a key provider {vm.tenant ? `of ${vm.tenant.name} (the VM's tenant) or of the site` : "of the site"}. Another tenant&apos;s key providers are never offered.
                    {form.keys.kind === "new-key" && (
                      <select value={form.keys.keyProviderExternalId} onChange={(e) => set({ keys: { kind: "new-key", keyProviderExternalId: e.target.value } })} className="input mt-2 max-w-2xl" data-testid="keys-provider">
                        <option value="">Choose a key provider…</option>
                        {site.keyProviders.map((k) => (
                          <option key={k.externalId} value={k.externalId}>
                            {k.name} ({k.kind === "native" ? "native" : "KMS"}{k.tenantName ? `, ${k.tenantName}` : ""}) — {k.reachable ? (k.why ?? "reachable") : "unreachable"}
                          </option>
                        ))}
                      </select>
                    )}
                    {form.keys.kind === "new-key" && (() => {
                      const kp = site.keyProviders.find((k) => k.externalId === (form.keys as { keyProviderExternalId: string }).keyProviderExternalId);
                      return kp && !kp.reachable ? (
                        <p className="mt-2 rounded-md bg-amber-50 px-3 py-2 text-amber-900" data-testid="keys-unreachable">
                          {kp.name} is unreachable: {kp.why?.replace(/^./, (c) => c.toLowerCase())}. The VM could not be encrypted with it and would not power on; the pre-restore check will refuse it.
                        </p>
                      ) : null;
                    })()}
                  </span>
                </label>
              </fieldset>
            )}
            {err(S.keys, "keys")}
            {err(S.keys, "keys.keyProviderExternalId")}
            <CheckFindings check={check?.key === JSON.stringify(form) ? check : null} checking={checking} only="consequences" />
          </div>
        )}

        {step === S.network && form && site && vm && <NetworkStep vm={vm} site={site} hostExternalId={form.hostExternalId} networks={form.networks} onChange={(networks) => set({ networks })} error={(f) => err(S.network, f)} />}

        {step === S.name && form && site && (
          <div className="max-w-xl space-y-4">
            <Field label="Name of the restored VM" error={err(S.name, "name")} hint="Letters, digits, dot, dash or underscore. The original VM keeps its name.">
              <input value={form.name} onChange={(e) => set({ name: e.target.value })} className="input" data-testid="restore-name" />
            </Field>
            <Field label="VM folder" error={err(S.name, "folder")} hint={`Folders in use on ${site.name} are suggested; a new one is created.`}>
              <input value={form.folder} onChange={(e) => set({ folder: e.target.value })} className="input" list="restore-folders" data-testid="restore-folder" />
              <datalist id="restore-folders">
                {site.folders.map((f) => (
                  <option key={f} value={f} />
                ))}
              </datalist>
            </Field>
          </div>
        )}

        {step === S.check && form && (
          <div className="space-y-3 text-sm" data-testid="restore-check">
            <p className="text-slate-600">The same checks run again on the server when the restore starts: the point opens, the placement is valid, the name is free, each datastore has space, the key provider belongs to the VM&apos;s tenant and the target site reaches it.</p>
            <CheckFindings check={check?.key === JSON.stringify(form) ? check : null} checking={checking} onGo={(f) => setStep(stepOf(f))} />
          </div>
        )}

        {step === S.reason && (
          <div className="max-w-xl">
            <Field label="Why are you restoring this VM?" error={err(S.reason, "reason")} hint="Kept with the session and in the audit log (a ticket number helps).">
              <textarea value={reason} onChange={(e) => { setReason(e.target.value); setReasonTouched(true); }} className="input" rows={3} data-testid="restore-reason" />
            </Field>
          </div>
        )}

        {step === S.summary && form && site && vm && <Summary options={options} form={form} site={site} reason={reason} homeEncrypted={homeEncrypted} check={check?.result ?? null} onPowerOn={(v) => set({ powerOn: v })} />}

        {result?.ok && requestSent(result) && (
          <div className="mt-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="restore-request-sent" role="status">
            <strong>Request sent.</strong> Nothing is restored until another Security Officer approves it; the restore then starts as yours.{" "}
            <Link href={`/approvals#request-${requestSent(result)}`} className="underline" data-testid="restore-request-link">
              See the request
            </Link>
          </div>
        )}

        {result && !result.ok && (
          <div className="mt-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">
            {result.formError}
            {result.fieldErrors && (
              <ul className="mt-1 list-disc pl-5">
                {Object.values(result.fieldErrors).flat().map((v, i) => <li key={i}>{v}</li>)}
              </ul>
            )}
          </div>
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
            <button type="button" className="btn-primary" onClick={submit} disabled={pending || (!!result?.ok && !!requestSent(result))} data-testid="wizard-finish">
              {pending ? "Starting…" : check?.result?.approval ? "Send for approval" : "Start restore"}
            </button>
          )}
          {step < STEPS.length - 1 && firstProblem(step) && (
            <span className="text-sm text-slate-600" data-testid="next-blocked">
              {firstProblem(step)}
            </span>
          )}
          <Link href="/restore" className="ml-auto text-sm text-slate-500 hover:underline">
            Cancel
          </Link>
        </div>
      </section>
    </div>
  );
}

function PlacementItem(props: {
  testId: string;
  title: string;
  subtitle: string;
  encrypted: boolean;
  onEncrypted?: (v: boolean) => void;
  site: RestoreOptionSite;
  what: "home" | "disk";
  bytes: number;
  value: string;
  onChange: (id: string) => void;
  error: React.ReactNode;
  wasDatastore: string;
}) {
  const { site } = props;
  return (
    <div className="rounded-md border border-slate-200 p-3" data-testid={props.testId}>
      <div className="flex flex-wrap items-center gap-3">
        <div>
          <div className="font-medium text-slate-900">{props.title}</div>
          <div className="text-xs text-slate-500">{props.subtitle}</div>
        </div>
        {props.onEncrypted ? (
          <div className="ml-auto inline-flex overflow-hidden rounded-md border border-slate-300 text-sm" role="radiogroup" aria-label={`${props.title}: encryption`}>
            {[true, false].map((v) => (
              <button key={String(v)} type="button" role="radio" aria-checked={props.encrypted === v} onClick={() => props.onEncrypted!(v)} className={`px-3 py-1 ${props.encrypted === v ? (v ? "bg-violet-600 text-white" : "bg-slate-700 text-white") : "bg-white text-slate-700 hover:bg-slate-50"}`} data-testid={`${props.testId}-${v ? "encrypted" : "unencrypted"}`}>
                {v ? "Encrypted" : "Unencrypted"}
              </button>
            ))}
          </div>
        ) : (
          <span className="ml-auto">{props.encrypted ? <Badge tone="lock">Encrypted</Badge> : <Badge>Unencrypted</Badge>}</span>
        )}
      </div>
      <DatastoreTree name={props.testId} label={`${props.title}: datastore`} datastores={site.datastores} what={props.what} encrypted={props.encrypted} bytes={props.bytes} value={props.value} onChange={props.onChange} mark={{ externalId: props.wasDatastore, text: "at backup" }} />
      {props.error}
    </div>
  );
}

function PolicyRow({ testId, label, encrypted, site, datastore, value, was, onChange, error }: { testId: string; label: string; encrypted: boolean; site: RestoreOptionSite; datastore: string; value: string; was: string; onChange: (v: string) => void; error: React.ReactNode }) {
  const ds = site.datastores.find((d) => d.externalId === datastore);
  const choices = policyChoices(site, ds, encrypted);
  const wasHere = site.storagePolicies.find((p) => p.externalId === was);
  return (
    <div className="grid grid-cols-[14rem_1fr] items-start gap-3 rounded-md border border-slate-200 p-3 text-sm" data-testid={testId}>
      <div>
        <div className="font-medium">{label}</div>
        <div className="text-xs text-slate-500">
          {encrypted ? "encrypted" : "unencrypted"} · {ds?.name ?? "no datastore"}
        </div>
      </div>
      <div>
        <select value={value} onChange={(e) => onChange(e.target.value)} className="input max-w-2xl" data-testid={`${testId}-select`}>
          <option value="">Choose a storage policy…</option>
          {choices.map((p) => (
            <option key={p.externalId} value={p.externalId} disabled={!!p.refusal}>
              {p.name}
              {p.encryption ? " (encrypts)" : ""}
              {p.externalId === was ? " · as backed up" : p.externalId === site.vmEncryptionPolicyExternalId ? " · site default for encrypted items" : ""}
              {p.refusal ? ` — ${p.refusal}` : ""}
            </option>
          ))}
        </select>
        <div className="mt-1 text-xs text-slate-500">{wasHere ? (value === was ? "As backed up." : `At backup: ${wasHere.name}.`) : "The policy it had at backup does not exist on this site: choose one."}</div>
        {error}
      </div>
    </div>
  );
}

function CheckFindings({ check, checking, only, onGo }: { check: { result: RestoreCheckDto | null; error: string | null } | null; checking: boolean; only?: "consequences"; onGo?: (field: string) => void }) {
  if (!check || checking) return <p className="text-slate-500" data-testid="check-running">Checking the restore with the platform…</p>;
  if (check.error) return <ErrorNotice title="The pre-restore check could not run">{check.error}</ErrorNotice>;
  const r = check.result!;
  return (
    <div className="space-y-3" data-testid="check-findings" data-ok={r.ok ? "yes" : "no"}>
      {!only && (r.ok ? <p className="rounded-md bg-emerald-50 px-3 py-2 text-emerald-800" data-testid="check-ok">The pre-restore check passed: the restore can start.</p> : null)}
      {!only && r.problems.length > 0 && (
        <div className="rounded-md bg-red-50 px-3 py-2 text-red-800" data-testid="check-problems">
          <p className="font-medium">Fix these before the restore can start:</p>
          <ul className="mt-1 list-disc space-y-1 pl-5">
            {r.problems.map((p, i) => (
              <li key={i} data-testid="check-problem" data-field={p.field}>
                <span className="font-medium">{STEPS[stepOf(p.field)]}:</span> {p.message}{" "}
                {onGo && (
                  <button type="button" className="text-brand-600 underline" onClick={() => onGo(p.field)}>
                    Go to {STEPS[stepOf(p.field)].toLowerCase()}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
      {r.consequences.length > 0 && (
        <div className="rounded-md bg-amber-50 px-3 py-2 text-amber-900" data-testid="check-consequences">
          <p className="font-medium">What this restore means for the VM:</p>
          <ul className="mt-1 list-disc space-y-1 pl-5">{r.consequences.map((c, i) => <li key={i}>{c}</li>)}</ul>
        </div>
      )}
      {r.notes.length > 0 && (
        <ul className="space-y-1 text-slate-700" data-testid="check-notes">
          {r.notes.map((n, i) => <li key={i}>{n}</li>)}
        </ul>
      )}
      {only && r.consequences.length === 0 && r.notes.length === 0 && <p className="text-slate-500">No consequence for the NVRAM or a vTPM.</p>}
    </div>
  );
}

function Summary({ options, form, site, reason, homeEncrypted, check, onPowerOn }: { options: RestoreOptionsDto; form: RestoreVmInput; site: RestoreOptionSite; reason: string; homeEncrypted: boolean; check: RestoreCheckDto | null; onPowerOn: (v: boolean) => void }) {
  const vm = options.point.vm!;
  const dsName = (id: string) => site.datastores.find((d) => d.externalId === id)?.name ?? id;
  const polName = (id: string) => site.storagePolicies.find((p) => p.externalId === id)?.name ?? id;
  const host = site.hosts.find((h) => h.externalId === form.hostExternalId);
  const kp = form.keys.kind === "new-key" ? site.keyProviders.find((k) => k.externalId === (form.keys as { keyProviderExternalId: string }).keyProviderExternalId) : null;
  const unreachable = kp && !kp.reachable;
  return (
    <div className="space-y-4 text-sm" data-testid="restore-summary">
      <dl className="grid max-w-3xl grid-cols-[11rem_1fr] gap-x-4 gap-y-2">
        <dt className="text-slate-500">Restore</dt>
        <dd>
          <strong>{options.point.vmName}</strong> from the point of {formatDateTime(options.point.createdAt)} as a new VM <strong>{form.name}</strong>
        </dd>
        <dt className="text-slate-500">Target</dt>
        <dd>
          {site.name} · {host?.name} · folder {form.folder}
        </dd>
        <dt className="text-slate-500">VM home</dt>
        <dd>
          {dsName(form.home.datastoreExternalId)} · {polName(form.home.storagePolicyExternalId)} · {homeEncrypted ? <Badge tone="lock">Encrypted</Badge> : <Badge>Unencrypted</Badge>}
        </dd>
        {form.disks.map((d) => (
          <FragmentRow key={d.deviceKey} label={vm.disks.find((x) => x.deviceKey === d.deviceKey)?.label ?? String(d.deviceKey)}>
            {dsName(d.datastoreExternalId)} · {polName(d.storagePolicyExternalId)} · {d.encrypted ? <Badge tone="lock">Encrypted</Badge> : <Badge>Unencrypted</Badge>}
          </FragmentRow>
        ))}
        <NetworkSummary vm={vm} site={site} networks={form.networks} />
        <dt className="text-slate-500">Keys</dt>
        <dd>{!homeEncrypted ? "None (nothing encrypted)" : form.keys.kind === "same-key" ? `Same key (${vm.keyId ?? "original"}) from ${vm.keyProvider?.name ?? "the original provider"}` : `New key from ${kp?.name ?? "?"}`}</dd>
        <dt className="text-slate-500">Reason</dt>
        <dd className="whitespace-pre-wrap">{reason}</dd>
      </dl>
      {check?.approval && (
        <div className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-amber-900" data-testid="restore-needs-approval">
          <strong>Needs a Security Officer&apos;s approval.</strong> {check.approval}
        </div>
      )}
      {check && check.consequences.length > 0 && (
        <div className="rounded-md bg-amber-50 px-3 py-2 text-amber-900">
          <ul className="list-disc space-y-1 pl-5">{check.consequences.map((c, i) => <li key={i}>{c}</li>)}</ul>
        </div>
      )}
      <label className="flex items-center gap-2">
        <input type="checkbox" checked={form.powerOn} onChange={(e) => onPowerOn(e.target.checked)} data-testid="restore-power-on" />
        Power on after restore
        {unreachable && form.powerOn && <span className="text-amber-800">— the key provider is unreachable: the VM would not power on</span>}
      </label>
      <p className="text-slate-600">{check?.approval ? "Send for approval records the request; once approved, the restore is queued on the job engine." : "Start queues the restore on the job engine and opens its session."} The original VM is not touched.</p>
    </div>
  );
}

/** The approval request a four-eyes restore became (SEC-2), when Start answered one. */
function requestSent(r: ActionState): string | null {
  const data = r?.ok ? (r.data as { approvalRequestId?: unknown } | undefined) : undefined;
  return typeof data?.approvalRequestId === "string" ? data.approvalRequestId : null;
}

function FragmentRow({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <>
      <dt className="text-slate-500">{label}</dt>
      <dd>{children}</dd>
    </>
  );
}
