"use client";
import type { ReplicationWizardOptionsDto } from "@/lib/services/replication/get-replication-wizard-options";
import { allowedKeyProviders, sharedKeys, siteOf, vmsOf, type ReplicationWizardForm } from "./wizard-form";

// The replication wizard's "Keys" step (REP-2, REP-4): shared keys (offered only where the target
// reaches the source's key provider, else why not), a new key at the target from a key provider
// the VMs' tenant may use (never another tenant's), or an unencrypted replica with its warning; and
// the setting that refuses unencrypted replicas of encrypted VMs.

export function WizardKeysStep({ options, form, change, error }: { options: ReplicationWizardOptionsDto; form: ReplicationWizardForm; change: (p: Partial<ReplicationWizardForm>) => void; error: (field: string) => React.ReactNode }) {
  const site = siteOf(options, form);
  const vms = vmsOf(options, form);
  if (!site) return null;
  const shared = sharedKeys(vms, site.externalId);
  const kps = allowedKeyProviders(vms, site.externalId);
  const encrypted = vms.filter((v) => v.encrypted);
  const tenants = [...new Set(vms.map((v) => v.tenantName).filter((t): t is string => !!t))];
  const offered = tenants.length === 0 ? "Offered: the site's own key providers (the chosen VMs belong to no tenant)." : `Offered: the key providers of ${tenants.join(" and ")} and the site's own; another tenant's are never offered.`;
  const kpName = (id: string) => kps.find((k) => k.externalId === id)?.name ?? id;
  return (
    <div className="max-w-4xl space-y-4 text-sm">
      {!site.hasKeyProvider && (
        <p className="rounded-md bg-amber-50 px-3 py-2 text-amber-900" data-testid="no-target-kp">
          {site.name} has no key provider, so its replicas cannot be encrypted. The job still runs: the replicas are unencrypted and every session says so with a warning — unless you refuse unencrypted replicas of encrypted VMs below.
        </p>
      )}
      <fieldset className="space-y-2">
        <label className={`flex items-start gap-2 rounded-md border p-3 ${shared.why ? "border-slate-100 text-slate-400" : "border-slate-200"}`}>
          <input type="radio" name="keyMode" disabled={!!shared.why} checked={form.keyMode === "shared"} onChange={() => change({ keyMode: "shared", targetKeyProviderExternalId: shared.providers[0] })} data-testid="key-shared" />
          <span className="flex-1">
            <strong>Shared keys</strong> — the replica keeps the source&apos;s key id and encryption bundle, so both sites must reach the same KMS (or KMS clusters holding common keys).{" "}
            {shared.why ? <span data-testid="shared-why">Not possible here: {shared.why}</span> : <>Reached through {shared.providers.map(kpName).join(", ")}.</>}
          </span>
        </label>
        <label className={`flex items-start gap-2 rounded-md border p-3 ${site.hasKeyProvider ? "border-slate-200" : "border-slate-100 text-slate-400"}`}>
          <input type="radio" name="keyMode" disabled={!site.hasKeyProvider} checked={form.keyMode === "re-key"} onChange={() => change({ keyMode: "re-key" })} data-testid="key-rekey" />
          <span className="flex-1">
            <strong>New key at the target (re-key)</strong> — each replica gets its own data key, wrapped by a key provider of {site.name}: the source&apos;s KMS is never shared with the target site. {offered}
            {form.keyMode === "re-key" && (
              <>
                {kps.length === 0 ? (
                  <span className="mt-2 block text-amber-800">No key provider of {site.name} may be used for {tenants.length ? tenants.join(" and ") : "these VMs"}{tenants.length > 1 ? " together: make one job per tenant" : ""}.</span>
                ) : (
                  <select value={form.targetKeyProviderExternalId} onChange={(e) => change({ targetKeyProviderExternalId: e.target.value })} className="input mt-2 max-w-2xl" data-testid="key-provider">
                    <option value="">Choose a key provider…</option>
                    {kps.map((k) => (
                      <option key={k.externalId} value={k.externalId}>
                        {k.name} ({k.kind === "native" ? "native key provider" : "KMS"}
                        {k.tenantName ? `, ${k.tenantName}` : ", the site's own"}) — {k.reachable ? (k.why ?? "reachable") : `unreachable: ${k.why}`}
                      </option>
                    ))}
                  </select>
                )}
                {(() => {
                  const k = kps.find((x) => x.externalId === form.targetKeyProviderExternalId);
                  return k && !k.reachable ? <span className="mt-1 block text-amber-800">{k.name} does not answer now: runs fail until its KMS answers, and a replica cannot be powered on without it.</span> : null;
                })()}
                {vms.some((v) => v.vtpm) && <span className="mt-1 block text-slate-600">A VM with a vTPM gets a new vTPM in its replica: what the guest sealed in the source&apos;s vTPM does not carry over.</span>}
                {error("targetKeyProviderExternalId")}
              </>
            )}
          </span>
        </label>
        <label className="flex items-start gap-2 rounded-md border border-slate-200 p-3">
          <input type="radio" name="keyMode" checked={form.keyMode === "unencrypted"} onChange={() => change({ keyMode: "unencrypted" })} data-testid="key-unencrypted" />
          <span className="flex-1">
            <strong>Unencrypted replica</strong> — the replicas are not encrypted at the target.
            {form.keyMode === "unencrypted" && encrypted.length > 0 && (
              <span className="mt-2 block rounded-md bg-amber-50 px-3 py-2 text-amber-900" data-testid="unencrypted-warning">
                {encrypted.map((v) => v.name).join(", ")} {encrypted.length === 1 ? "is" : "are"} encrypted, but {encrypted.length === 1 ? "its replica" : "their replicas"} would not be: the data sits unencrypted at {site.name}. The job does not fail for this — every session says so with a warning.
              </span>
            )}
          </span>
        </label>
      </fieldset>
      {error("keyMode")}
      <label className="flex items-start gap-2">
        <input type="checkbox" checked={form.refuseUnencrypted} onChange={(e) => change({ refuseUnencrypted: e.target.checked })} data-testid="refuse-unencrypted" />
        <span>
          <strong>Refuse unencrypted replicas of encrypted VMs</strong> — this job may then never leave an encrypted VM&apos;s data unencrypted at the target: with this setting on, it runs only with shared keys or a new key.
        </span>
      </label>
      {error("refuseUnencrypted")}
      {error("_placement")}
    </div>
  );
}
