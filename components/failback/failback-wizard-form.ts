import type { FailbackOptionsDto } from "@/lib/services/failback/get-failback-options";

// The failback wizard's form, its per-step problems and its key plan in words (FBK-1), pure so it
// is tested without a browser: destination → keys → reason → summary. A step's first problem
// blocks Next and says what to do; the server checks every choice again when the failback starts.

export const FAILBACK_STEPS = ["Destination", "Keys", "Reason", "Summary"] as const;

export type DestinationKind = "original" | "restored-vm" | "new-vm";

export interface FailbackWizardForm {
  kind: DestinationKind;
  /** restored-vm: the production VM. */
  vmExternalId: string;
  /** new-vm */
  siteExternalId: string;
  hostExternalId: string;
  name: string;
  homeDatastore: string;
  disks: Record<number, string>;
  /** "" = the original VM's provider (or the site's default). */
  keyProviderExternalId: string;
  reason: string;
}

export function initialFailbackForm(o: FailbackOptionsDto): FailbackWizardForm {
  const site = o.sites[0];
  return {
    kind: o.original ? "original" : "new-vm",
    vmExternalId: "",
    siteExternalId: site?.externalId ?? "",
    hostExternalId: site?.hosts.find((h) => h.usable)?.externalId ?? "",
    name: `${o.replica.sourceVmName}-failback`,
    homeDatastore: "",
    disks: {},
    keyProviderExternalId: "",
    reason: "",
  };
}

/** Why a datastore cannot take an item of the new VM (null: it can): encrypted items only under the VM Encryption Policy node. */
export function datastoreRefusalFor(ds: { encryptionCompatible: boolean; freeBytes: number }, encrypted: boolean, bytes: number): string | null {
  if (encrypted && !ds.encryptionCompatible) return "Not under the VM Encryption Policy: an encrypted VM's home and encrypted disks must be on a datastore that policy covers.";
  if (ds.freeBytes < bytes) return "Not enough free space.";
  return null;
}

/** The storage policy a placement on `dsId` gets: the encryption policy for an encrypted item, else the first compatible one. */
export function policyFor(o: FailbackOptionsDto, siteId: string, dsId: string, encrypted: boolean): string {
  const site = o.sites.find((s) => s.externalId === siteId);
  const ds = site?.datastores.find((d) => d.externalId === dsId);
  if (!site || !ds) return "";
  const compatible = site.storagePolicies.filter((p) => ds.compatiblePolicyExternalIds.includes(p.externalId));
  return (encrypted ? compatible.find((p) => p.encryption) : compatible.find((p) => !p.encryption) ?? compatible[0])?.externalId ?? compatible[0]?.externalId ?? "";
}

export function reasonProblem(reason: string): string | undefined {
  const r = reason.trim();
  if (r.length < 3) return "Say why (at least 3 characters): it is kept in the session and the audit log.";
  if (r.length > 500) return "Use at most 500 characters.";
  return undefined;
}

export function failbackStepProblem(step: number, f: FailbackWizardForm, o: FailbackOptionsDto): string | undefined {
  if (step === 0) {
    if (f.kind === "original" && !o.original) return `The original VM ${o.replica.sourceVmName} is not at the production site any more: fail back to a restored VM or a new location.`;
    if (f.kind === "restored-vm" && !f.vmExternalId) return "Choose the production VM the original was restored to.";
    if (f.kind === "new-vm") {
      const site = o.sites.find((s) => s.externalId === f.siteExternalId);
      if (!site) return "Choose the production site.";
      if (!f.hostExternalId) return "Choose a host.";
      if (!f.name.trim()) return "Name the new VM.";
      if (site.datastores.length && !f.homeDatastore) return "Choose a datastore for the VM home.";
      const home = site.datastores.find((d) => d.externalId === f.homeDatastore);
      if (home) {
        const why = datastoreRefusalFor(home, o.replica.encrypted, 0);
        if (why) return `VM home on ${home.name}: ${why}`;
      }
      for (const d of o.replica.disks) {
        const ds = site.datastores.find((x) => x.externalId === f.disks[d.deviceKey]);
        if (!ds) return `Choose a datastore for ${d.label}.`;
        const why = datastoreRefusalFor(ds, o.replica.encrypted && d.encrypted, d.capacityBytes);
        if (why) return `${d.label} on ${ds.name}: ${why}`;
      }
    }
  }
  if (step === 1 && f.kind === "new-vm" && o.replica.encrypted && o.replica.keyMode !== "unencrypted") {
    const site = o.sites.find((s) => s.externalId === f.siteExternalId);
    const fallback = o.original && site?.keyProviders.some((k) => k.externalId === o.original!.keyProviderExternalId);
    if (!f.keyProviderExternalId && !fallback) return "Choose the production key provider the new VM's key comes from.";
  }
  if (step === 2) return reasonProblem(f.reason);
  return undefined;
}

/** The key plan in plain words (REP-2): re-key → a production key provider, never the DR site's; shared → the source's key id. */
export function keyPlanWords(f: FailbackWizardForm, o: FailbackOptionsDto): string {
  const r = o.replica;
  if (r.keyMode === "unencrypted" || !r.encrypted) return "The replica is not encrypted: the failed-back VM is not encrypted either.";
  const dr = r.drKeyProviderName ? ` (${r.drKeyProviderName})` : "";
  if (f.kind === "new-vm") {
    if (r.keyMode === "shared") return `Shared keys: the new VM ${f.name.trim() || "(unnamed)"} is registered with the source's key, ${r.keyId ?? "(key id not known)"}, at a production key provider that reaches it. No new key is made.`;
    const site = o.sites.find((s) => s.externalId === f.siteExternalId);
    const provider = site?.keyProviders.find((k) => k.externalId === f.keyProviderExternalId)?.name ?? (o.original && site?.keyProviders.some((k) => k.externalId === o.original!.keyProviderExternalId) ? o.original.keyProviderName : null);
    return `Re-key: the new VM ${f.name.trim() || "(unnamed)"} gets a new key from the production site's key provider ${provider ?? "(choose one below)"}, never from the DR site's${dr}: the replica's key stays at the DR site.`;
  }
  const restored = f.kind === "restored-vm" ? o.vms.find((v) => v.externalId === f.vmExternalId) : null;
  const target = f.kind === "original" ? `The original VM ${o.original?.name ?? r.sourceVmName}` : (restored?.name ?? "The chosen VM");
  const encrypted = f.kind === "original" ? !!o.original?.keyProviderExternalId : !!restored?.encrypted;
  if (r.keyMode === "shared") return `Shared keys: ${target} keeps the source's key, ${r.keyId ?? "(key id not known)"}, as the replica does (it is checked before anything is written). No key changes hands.`;
  if (!encrypted) return `${target} is not encrypted and stays so: its data is written into it as it is. The replica's key${dr} stays at the DR site.`;
  const provider = f.kind === "original" ? ` under the production site's key provider ${o.original?.keyProviderName}` : " under its production key provider";
  return `Re-key: ${target} keeps its own key,${provider} — never the DR site's${dr}: the replica's key stays at the DR site.`;
}

/** The destination as startFailbackSchema takes it. */
export function destinationInput(f: FailbackWizardForm, o: FailbackOptionsDto): Record<string, unknown> {
  if (f.kind === "original") return { kind: "original" };
  if (f.kind === "restored-vm") return { kind: "restored-vm", vmExternalId: f.vmExternalId };
  const enc = o.replica.encrypted;
  return {
    kind: "new-vm",
    hostExternalId: f.hostExternalId,
    name: f.name.trim(),
    home: { datastoreExternalId: f.homeDatastore, storagePolicyExternalId: policyFor(o, f.siteExternalId, f.homeDatastore, enc) },
    disks: o.replica.disks.map((d) => ({ deviceKey: d.deviceKey, datastoreExternalId: f.disks[d.deviceKey] ?? "", storagePolicyExternalId: policyFor(o, f.siteExternalId, f.disks[d.deviceKey] ?? "", enc && d.encrypted) })),
    ...(f.keyProviderExternalId ? { keyProviderExternalId: f.keyProviderExternalId } : {}),
  };
}
