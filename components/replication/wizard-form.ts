// The replication wizard's state and its rules, kept out of the components: the form, the input
// Create sends (createReplicationJobSchema's shape), the defaults when VMs, the target or the key
// mode change, and each step's problems as the user types (the server checks again).
import { defaultNetworkMapping, networkMappingProblems, remapNetworks, type NetworkChoice } from "@/lib/platform/network-mapping";
import { defaultReplicaPlacement, replicaDatastoreRefusal, replicaDiskEncrypted, replicaHomeEncrypted, replicaPolicyRefusal, type ReplicaKeyModeName } from "@/lib/replication/replica-placement";
import { policyFor } from "@/lib/restore/placement";
import { scheduleSchema, type Schedule } from "@/lib/schemas/backup";
import { plainName } from "@/lib/schemas/plain-text";
import type { ReplicationKeyProviderOption, ReplicationWizardOptionsDto, ReplicationWizardSite, ReplicationWizardVm } from "@/lib/services/replication/get-replication-wizard-options";

export const STEPS = ["Name", "Virtual machines", "Destination", "Keys", "Restore points", "Data transfer", "Schedule", "Summary"] as const;
export const S = { name: 0, vms: 1, destination: 2, keys: 3, points: 4, transfer: 5, schedule: 6, summary: 7 } as const;

export interface Place {
  datastoreExternalId: string;
  storagePolicyExternalId: string;
}

export interface VmPlacement {
  home: Place;
  disks: Array<Place & { deviceKey: number }>;
  networks: NetworkChoice[];
}

export interface ReplicationWizardForm {
  name: string;
  description: string;
  vmIds: string[];
  targetSiteExternalId: string;
  targetHostExternalId: string;
  /** Per source VM external id. */
  placements: Record<string, VmPlacement>;
  suffix: string;
  keyMode: ReplicaKeyModeName;
  targetKeyProviderExternalId: string;
  refuseUnencrypted: boolean;
  keepPoints: number;
  proxyMode: "automatic" | "manual";
  proxyIds: string[];
  /** "" = the first run copies from the source; else the repository whose restore points seed it. */
  seedFromRepositoryId: string;
  schedule: Schedule;
  enabled: boolean;
}

export function initialForm(options: ReplicationWizardOptionsDto, initial?: Partial<ReplicationWizardForm>): ReplicationWizardForm {
  const site = options.sites.find((s) => s.role === "dr") ?? options.sites[0];
  const base: ReplicationWizardForm = {
    name: "",
    description: "",
    vmIds: [],
    targetSiteExternalId: site?.externalId ?? "",
    targetHostExternalId: site?.hosts.find((h) => h.usable)?.externalId ?? "",
    placements: {},
    suffix: "_replica",
    keyMode: site?.hasKeyProvider ? "re-key" : "unencrypted",
    targetKeyProviderExternalId: "",
    refuseUnencrypted: false,
    keepPoints: 7,
    proxyMode: "automatic",
    proxyIds: [],
    seedFromRepositoryId: "",
    schedule: { kind: "daily", time: "23:00", days: [0, 1, 2, 3, 4, 5, 6] },
    enabled: true,
  };
  return { ...base, ...initial };
}

export const vmsOf = (options: ReplicationWizardOptionsDto, form: Pick<ReplicationWizardForm, "vmIds">) => form.vmIds.map((id) => options.vms.find((v) => v.externalId === id)).filter((v): v is ReplicationWizardVm => !!v);
export const siteOf = (options: ReplicationWizardOptionsDto, form: Pick<ReplicationWizardForm, "targetSiteExternalId">) => options.sites.find((s) => s.externalId === form.targetSiteExternalId);

/** Key providers of the target site every selected VM may use (never another tenant's). */
export function allowedKeyProviders(vms: ReplicationWizardVm[], siteId: string): ReplicationKeyProviderOption[] {
  if (vms.length === 0) return [];
  const [first, ...rest] = vms;
  return (first.targets[siteId]?.keyProviders ?? []).filter((k) => rest.every((v) => v.targets[siteId]?.keyProviders.some((x) => x.externalId === k.externalId)));
}

/** Providers through which every encrypted VM keeps its key at the target (shared keys), and why not. */
export function sharedKeys(vms: ReplicationWizardVm[], siteId: string): { providers: string[]; why: string | null } {
  const enc = vms.filter((v) => v.encrypted);
  if (enc.length === 0) return { providers: [], why: "None of the chosen VMs is encrypted: there is no key to share. Choose a new key at the target to encrypt the replicas." };
  const blocked = enc.find((v) => (v.targets[siteId]?.sharedKeyProviders.length ?? 0) === 0);
  if (blocked) return { providers: [], why: blocked.targets[siteId]?.sharedWhy ?? `The target does not reach the key of ${blocked.name}` };
  const common = enc[0].targets[siteId].sharedKeyProviders.filter((k) => enc.every((v) => v.targets[siteId].sharedKeyProviders.includes(k)));
  return common.length ? { providers: common, why: null } : { providers: [], why: "The chosen VMs are encrypted by different key providers: no single key provider at the target reaches all their keys. Make one job per key provider." };
}

/** The VM's placement at a site for a key mode: kept where it still fits, else the default. */
function placeVm(site: ReplicationWizardSite, vm: ReplicationWizardVm, keyMode: ReplicaKeyModeName, hostId: string, was?: VmPlacement): VmPlacement {
  const def = defaultReplicaPlacement(site, vm, keyMode);
  if (!was) return { ...def, networks: defaultNetworkMapping(vm.nics, site.networks, hostId) };
  return repolicy(site, vm, keyMode, was);
}

/** Keeps each item's datastore and picks the storage policy the key mode needs there. */
function repolicy(site: ReplicationWizardSite, vm: ReplicationWizardVm, keyMode: ReplicaKeyModeName, p: VmPlacement): VmPlacement {
  const ds = (id: string) => site.datastores.find((d) => d.externalId === id);
  return {
    ...p,
    home: { ...p.home, storagePolicyExternalId: policyFor(site, ds(p.home.datastoreExternalId), p.home.storagePolicyExternalId, replicaHomeEncrypted(vm, keyMode)) },
    disks: p.disks.map((d) => {
      const src = vm.disks.find((x) => x.deviceKey === d.deviceKey);
      return { ...d, storagePolicyExternalId: policyFor(site, ds(d.datastoreExternalId), d.storagePolicyExternalId, src ? replicaDiskEncrypted(vm, src, keyMode) : false) };
    }),
  };
}

/** The form after a change of VMs, target site or host, or key mode: placements follow. */
export function normalize(options: ReplicationWizardOptionsDto, input: ReplicationWizardForm, prev?: ReplicationWizardForm): ReplicationWizardForm {
  let f = input;
  // The first VMs chosen all run on the default target: offer another site instead (a replica belongs elsewhere).
  const firstPick = prev && prev.vmIds.length === 0 && f.vmIds.length > 0 && prev.targetSiteExternalId === f.targetSiteExternalId;
  if (firstPick && vmsOf(options, f).every((v) => v.siteExternalId === f.targetSiteExternalId)) {
    const other = options.sites.find((s) => s.externalId !== f.targetSiteExternalId && s.role === "dr") ?? options.sites.find((s) => s.externalId !== f.targetSiteExternalId);
    if (other) f = { ...f, targetSiteExternalId: other.externalId };
  }
  const site = siteOf(options, f);
  if (!site) return f;
  const siteChanged = prev && prev.targetSiteExternalId !== f.targetSiteExternalId;
  const out: ReplicationWizardForm = { ...f, placements: {} };
  if (siteChanged) out.targetHostExternalId = site.hosts.find((h) => h.usable)?.externalId ?? "";
  const vms = vmsOf(options, f);
  // key provider: keep it while allowed, else the first reachable one (the tenant's first)
  const kps = allowedKeyProviders(vms, site.externalId);
  if (!kps.some((k) => k.externalId === out.targetKeyProviderExternalId)) out.targetKeyProviderExternalId = (kps.find((k) => k.reachable) ?? kps[0])?.externalId ?? "";
  if (out.keyMode === "shared" && sharedKeys(vms, site.externalId).providers.length && !sharedKeys(vms, site.externalId).providers.includes(out.targetKeyProviderExternalId)) out.targetKeyProviderExternalId = sharedKeys(vms, site.externalId).providers[0];
  if (siteChanged && !site.hasKeyProvider) out.keyMode = "unencrypted";
  if (siteChanged && site.hasKeyProvider && out.keyMode === "unencrypted" && prev && !siteOf(options, prev)?.hasKeyProvider) out.keyMode = "re-key";
  for (const vm of vms) {
    const was = siteChanged ? undefined : f.placements[vm.externalId];
    const p = placeVm(site, vm, out.keyMode, out.targetHostExternalId, was);
    if (was && prev && prev.targetHostExternalId !== out.targetHostExternalId) p.networks = remapNetworks(vm.nics, was.networks, site.networks, site.networks, out.targetHostExternalId);
    out.placements[vm.externalId] = p;
  }
  return out;
}

/** What Create (and the server check) receives. */
export function toInput(options: ReplicationWizardOptionsDto, f: ReplicationWizardForm) {
  return {
    name: f.name,
    description: f.description,
    vms: vmsOf(options, f).map((vm) => {
      const p = f.placements[vm.externalId];
      return { vmExternalId: vm.externalId, name: `${vm.name}${f.suffix}`, folder: vm.folder, home: p?.home, disks: p?.disks ?? [], networks: p?.networks ?? [] };
    }),
    targetSiteExternalId: f.targetSiteExternalId,
    targetHostExternalId: f.targetHostExternalId,
    keyMode: f.keyMode,
    targetKeyProviderExternalId: f.keyMode === "unencrypted" ? null : f.targetKeyProviderExternalId || null,
    refuseUnencrypted: f.refuseUnencrypted,
    keepPoints: f.keepPoints,
    proxyMode: f.proxyMode,
    proxyIds: f.proxyMode === "manual" ? f.proxyIds : [],
    seedFromRepositoryId: f.seedFromRepositoryId || null,
    schedule: f.schedule,
    enabled: f.enabled,
  };
}

/** Which step a field of the input (or of the server check's problem) belongs to. */
export function stepOf(field: string): number {
  if (field === "name" || field === "description") return S.name;
  if (field === "vms" || /^vms\.\d+\.vmExternalId$/.test(field)) return S.vms;
  if (field.startsWith("vms") || field.startsWith("target") && field !== "targetKeyProviderExternalId") return S.destination;
  if (field === "keyMode" || field === "targetKeyProviderExternalId" || field === "refuseUnencrypted") return S.keys;
  if (field === "keepPoints") return S.points;
  if (field.startsWith("proxy") || field === "seedFromRepositoryId") return S.transfer;
  if (field.startsWith("schedule")) return S.schedule;
  return S.summary;
}

const nameSchema = plainName("replication job");
const suffixRe = /^[A-Za-z0-9 _.\-]{0,40}$/;

/** Each step's problems by field, as the user types; Next is blocked with the first. */
export function wizardErrors(options: ReplicationWizardOptionsDto, f: ReplicationWizardForm, server: { field: string; message: string } | null): Record<string, string>[] {
  const e: Record<string, string>[] = STEPS.map(() => ({}));
  const name = nameSchema.safeParse(f.name);
  if (!name.success) e[S.name].name = name.error.issues[0].message;
  else if (options.existingJobNames.some((n) => n.toLowerCase() === f.name.trim().toLowerCase())) e[S.name].name = "A replication job with this name exists";
  if (f.description.length > 500) e[S.name].description = "Use at most 500 characters";

  const vms = vmsOf(options, f);
  if (vms.length === 0) e[S.vms].vms = "Choose at least one VM";
  if (vms.length > 50) e[S.vms].vms = "At most 50 VMs per replication job";

  const site = siteOf(options, f);
  const d = e[S.destination];
  if (!site) d.targetSiteExternalId = "Choose the target site";
  else {
    const host = site.hosts.find((h) => h.externalId === f.targetHostExternalId);
    if (!host) d.targetHostExternalId = "Choose the host the replicas are registered on";
    else if (!host.usable) d.targetHostExternalId = `${host.name}: ${host.why}`;
    if (!suffixRe.test(f.suffix)) d.suffix = "Use letters, digits, spaces, _ . or - (at most 40)";
    else if (f.suffix.trim() === "" && vms.some((v) => v.siteExternalId === site.externalId)) d.suffix = "A replica on the VM's own site needs a suffix: its name would be the VM's";
    for (const vm of vms) {
      const p = f.placements[vm.externalId];
      if (!p) continue;
      const replicaName = `${vm.name}${f.suffix}`;
      if (site.vmNames.includes(replicaName)) d[`${vm.externalId}.name`] ??= `A VM named ${replicaName} already exists on ${site.name}: change the suffix`;
      const used = new Map<string, number>();
      const items = [
        { key: `${vm.externalId}.home`, label: `${vm.name}: the replica's home`, what: "home" as const, encrypted: replicaHomeEncrypted(vm, f.keyMode), bytes: 0, ...p.home },
        ...p.disks.map((x) => {
          const src = vm.disks.find((s) => s.deviceKey === x.deviceKey);
          return { key: `${vm.externalId}.disk.${x.deviceKey}`, label: `${vm.name} / ${src?.label ?? x.deviceKey}`, what: "disk" as const, encrypted: src ? replicaDiskEncrypted(vm, src, f.keyMode) : false, bytes: src?.capacityBytes ?? 0, ...x };
        }),
      ];
      for (const it of items) {
        const ds = site.datastores.find((x) => x.externalId === it.datastoreExternalId);
        if (!ds) {
          d[it.key] ??= `${it.label}: choose a datastore`;
          continue;
        }
        used.set(ds.externalId, (used.get(ds.externalId) ?? 0) + it.bytes);
        const refusal = replicaDatastoreRefusal(ds, it.what, it.encrypted, used.get(ds.externalId)!);
        if (refusal) {
          d[it.key] ??= `${it.label} on ${ds.name}: ${refusal.charAt(0).toLowerCase()}${refusal.slice(1)}`;
          continue;
        }
        const pol = replicaPolicyRefusal(site, ds, it.storagePolicyExternalId, it.encrypted);
        if (pol) d[`${it.key}.policy`] ??= `${it.label}: ${pol.charAt(0).toLowerCase()}${pol.slice(1)}`;
      }
      const host = site.hosts.find((h) => h.externalId === f.targetHostExternalId);
      for (const prob of networkMappingProblems(vm.nics, p.networks, site.networks, f.targetHostExternalId, host?.name ?? "the target host")) d[`${vm.externalId}.networks.${prob.nicDeviceKey ?? ""}`] ??= `${vm.name}: ${prob.message}`;
    }
  }

  const k = e[S.keys];
  if (site && vms.length) {
    if (f.keyMode === "shared") {
      const s = sharedKeys(vms, site.externalId);
      if (s.why) k.keyMode = `Shared keys are not possible: ${s.why.charAt(0).toLowerCase()}${s.why.slice(1)}`;
      else if (!s.providers.includes(f.targetKeyProviderExternalId)) k.targetKeyProviderExternalId = "Choose the target key provider that reaches the source's key";
    }
    if (f.keyMode === "re-key") {
      if (!site.hasKeyProvider) k.keyMode = `${site.name} has no key provider: a new key cannot be made there`;
      else if (!allowedKeyProviders(vms, site.externalId).some((x) => x.externalId === f.targetKeyProviderExternalId)) k.targetKeyProviderExternalId = "Choose the key provider that encrypts the replicas";
    }
    if (f.keyMode === "unencrypted" && f.refuseUnencrypted && vms.some((v) => v.encrypted)) k.refuseUnencrypted = "This job refuses unencrypted replicas of encrypted VMs, and some chosen VMs are encrypted: choose shared keys or a new key at the target, or allow unencrypted replicas";
    const firstPlacement = Object.values(e[S.destination])[0];
    if (firstPlacement && Object.keys(e[S.destination]).some((x) => x.includes(".home") || x.includes(".disk."))) k._placement ??= `With this key mode the destination no longer fits — ${firstPlacement}. Go back to Destination.`;
  }

  if (!Number.isInteger(f.keepPoints) || f.keepPoints < 1) e[S.points].keepPoints = "Keep at least 1 point (whole points only)";
  else if (f.keepPoints > 100) e[S.points].keepPoints = "Keep at most 100 points";

  if (f.proxyMode === "manual" && f.proxyIds.length === 0) e[S.transfer].proxyIds = "Choose at least one proxy (one at the source site and one at the target)";
  if (f.seedFromRepositoryId) {
    const repo = options.seedRepositories.find((r) => r.id === f.seedFromRepositoryId);
    const missing = vms.filter((v) => !repo?.vmExternalIds.includes(v.externalId));
    if (!repo) e[S.transfer].seedFromRepositoryId = "This repository holds no restore point to seed from: choose another, or copy from the source";
    else if (missing.length) e[S.transfer].seedFromRepositoryId = `${repo.name} holds no restore point of ${missing.map((v) => v.name).join(", ")}: back ${missing.length === 1 ? "it" : "them"} up there first, or copy from the source`;
  }

  const sch = scheduleSchema.safeParse(f.schedule);
  if (!sch.success) for (const i of sch.error.issues) e[S.schedule][`schedule.${i.path.join(".")}`] ??= i.message;

  if (server) e[stepOf(server.field)][`server:${server.field}`] ??= server.message;
  return e;
}
