import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import type { InventorySnapshot, PlatformKeyProvider, PlatformVm } from "@/lib/platform/connector";
import { platform } from "@/lib/services/inventory/platform";
import type { RestoreOptionDatastore, RestoreOptionNetwork, RestoreOptionNic } from "@/lib/services/restore/get-restore-options";
import { reachOf } from "@/lib/services/restore/get-restore-options";
import { kmsClusterOf, reaches } from "./check-replication-job";

// What the replication job wizard offers (REP-1…4, TRN-5), in one round trip: the VMs that can be
// replicated (with their disks and network adapters, filterable by site, tenant and folder), every
// target site with its hosts, datastores grouped under the VM Encryption Policy node, storage
// policies and networks; per VM and target site the key providers its tenant may use there (never
// another tenant's) and whether shared keys are possible — the target reaches the source's key
// provider, decided by the same rule the job check applies (check-replication-job.ts `reaches`);
// the proxies of every site; the names in use.

/** Above this many VMs the wizard lists the first ones by name and asks to search (a 10 000-VM estate). */
const MAX_VMS = 2000;

export interface ReplicationKeyProviderOption {
  externalId: string;
  name: string;
  kind: "native" | "standard";
  tenantName: string | null;
  isDefault: boolean;
  reachable: boolean;
  why: string | null;
}

export interface ReplicationVmTarget {
  /** Key providers of the target site this VM's replica may be encrypted with (the VM's tenant's or the site's own). */
  keyProviders: ReplicationKeyProviderOption[];
  /** Providers of this site through which the replica may keep the source's key (shared keys), empty when none. */
  sharedKeyProviders: string[];
  /** Why shared keys are not possible here (null when they are, or when the VM is not encrypted). */
  sharedWhy: string | null;
}

export interface ReplicationWizardVm {
  externalId: string;
  name: string;
  siteExternalId: string;
  siteName: string;
  tenantExternalId: string | null;
  tenantName: string | null;
  folder: string;
  encrypted: boolean;
  vtpm: boolean;
  keyProviderName: string | null;
  disks: Array<{ deviceKey: number; label: string; capacityBytes: number; encrypted: boolean; storagePolicyExternalId: string }>;
  homeStoragePolicyExternalId: string;
  nics: RestoreOptionNic[];
  /** Per target site external id. */
  targets: Record<string, ReplicationVmTarget>;
}

export interface ReplicationWizardSite {
  externalId: string;
  name: string;
  role: string;
  hosts: Array<{ externalId: string; name: string; cluster: string; usable: boolean; why: string | null }>;
  datastores: RestoreOptionDatastore[];
  storagePolicies: Array<{ externalId: string; name: string; encryption: boolean }>;
  networks: RestoreOptionNetwork[];
  vmEncryptionPolicyExternalId: string | null;
  /** Whether the site has any key provider at all (REP-4: none means unencrypted replicas). */
  hasKeyProvider: boolean;
  vmNames: string[];
}

export interface ReplicationWizardOptionsDto {
  vms: ReplicationWizardVm[];
  /** VMs in the estate; more than `vms.length` when the list was cut at MAX_VMS. */
  vmTotal: number;
  sites: ReplicationWizardSite[];
  tenants: Array<{ externalId: string; name: string }>;
  proxies: Array<{ id: string; name: string; siteExternalId: string; siteName: string; transportModes: string[]; keyProvider: string | null; tenant: string | null }>;
  existingJobNames: string[];
  /** Repositories a first run may be seeded from, with the VMs each holds a usable restore point of. */
  seedRepositories: Array<{ id: string; name: string; vmExternalIds: string[] }>;
}

export async function getReplicationWizardOptions(actor: Actor, inventory?: InventorySnapshot): Promise<ReplicationWizardOptionsDto> {
  authorize(actor, "job:manage");
  const inv = inventory ?? (await platform().inventory());
  const [clusters, kpRows, proxies, jobs, repositories, pointVms] = await Promise.all([
    kmsClusterOf(),
    db.keyProvider.findMany({ select: { externalId: true, site: { select: { externalId: true } }, kmsCluster: { select: { status: true } } } }),
    db.proxy.findMany({ orderBy: { name: "asc" }, include: { site: true, keyProvider: true, tenant: true } }),
    db.replicationJob.findMany({ select: { name: true } }),
    db.backupRepository.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true } }),
    db.restorePoint.findMany({ where: { status: { notIn: ["removed", "damaged"] } }, distinct: ["repositoryId", "vmExternalId"], select: { repositoryId: true, vmExternalId: true } }),
  ]);
  const cluster = new Map(kpRows.map((k) => [`${k.site.externalId}|${k.externalId}`, k.kmsCluster]));
  const tenantName = new Map(inv.tenants.map((t) => [t.externalId, t.name]));
  const siteName = new Map(inv.sites.map((s) => [s.externalId, s.name]));
  const kpOption = (k: PlatformKeyProvider): ReplicationKeyProviderOption => ({
    externalId: k.externalId,
    name: k.name,
    kind: k.kind,
    tenantName: k.tenantExternalId ? (tenantName.get(k.tenantExternalId) ?? k.tenantExternalId) : null,
    isDefault: k.isDefault,
    ...reachOf(k.kind, cluster.get(`${k.siteExternalId}|${k.externalId}`) ?? null),
  });

  const sites: ReplicationWizardSite[] = [...inv.sites]
    .sort((a, b) => Number(b.role === "dr") - Number(a.role === "dr") || a.name.localeCompare(b.name))
    .map((site) => {
      const policies = inv.storagePolicies.filter((p) => p.siteExternalId === site.externalId);
      const encIds = new Set(policies.filter((p) => p.encryption).map((p) => p.externalId));
      const sample = policies.find((p) => p.encryption && p.name === "VM Encryption Policy") ?? policies.find((p) => p.encryption) ?? null;
      return {
        externalId: site.externalId,
        name: site.name,
        role: site.role,
        hosts: inv.hosts
          .filter((h) => h.siteExternalId === site.externalId)
          .map((h) => ({ externalId: h.externalId, name: h.name, cluster: h.cluster, usable: h.connectionState === "connected", why: h.connectionState === "maintenance" ? "In maintenance mode: replicas cannot be registered on it" : h.connectionState === "disconnected" ? "Disconnected from vCenter" : null })),
        datastores: inv.datastores
          .filter((d) => d.siteExternalId === site.externalId)
          .map((d) => ({ externalId: d.externalId, name: d.name, type: d.type, capacityBytes: d.capacityBytes, freeBytes: d.freeBytes, encryptionCompatible: d.compatiblePolicyExternalIds.some((id) => encIds.has(id)), compatiblePolicyExternalIds: d.compatiblePolicyExternalIds }))
          .sort((a, b) => a.name.localeCompare(b.name)),
        storagePolicies: policies.map((p) => ({ externalId: p.externalId, name: p.name, encryption: p.encryption })).sort((a, b) => Number(b.encryption) - Number(a.encryption) || a.name.localeCompare(b.name)),
        networks: inv.networks
          .filter((n) => n.siteExternalId === site.externalId)
          .map((n) => ({ externalId: n.externalId, name: n.name, vlanId: n.vlanId, hostExternalIds: [...n.hostExternalIds] }))
          .sort((a, b) => a.name.localeCompare(b.name)),
        vmEncryptionPolicyExternalId: sample?.externalId ?? null,
        hasKeyProvider: inv.keyProviders.some((k) => k.siteExternalId === site.externalId),
        vmNames: inv.vms.filter((v) => v.siteExternalId === site.externalId).map((v) => v.name),
      };
    });

  const vms = [...inv.vms].sort((a, b) => a.name.localeCompare(b.name)).slice(0, MAX_VMS);
  return {
    vms: vms.map((vm) => toVm(vm, inv, clusters, kpOption, siteName, tenantName)),
    vmTotal: inv.vms.length,
    sites,
    tenants: inv.tenants.map((t) => ({ externalId: t.externalId, name: t.name })).sort((a, b) => a.name.localeCompare(b.name)),
    proxies: proxies.map((p) => ({ id: p.id, name: p.name, siteExternalId: p.site.externalId, siteName: p.site.name, transportModes: p.transportModes.split(",").filter(Boolean), keyProvider: p.keyProvider?.name ?? null, tenant: p.tenant?.name ?? null })),
    existingJobNames: jobs.map((j) => j.name),
    seedRepositories: repositories
      .map((r) => ({ id: r.id, name: r.name, vmExternalIds: pointVms.filter((p) => p.repositoryId === r.id).map((p) => p.vmExternalId) }))
      .filter((r) => r.vmExternalIds.length > 0),
  };
}

function toVm(
  vm: PlatformVm,
  inv: InventorySnapshot,
  clusters: Map<string, string | null>,
  kpOption: (k: PlatformKeyProvider) => ReplicationKeyProviderOption,
  siteName: Map<string, string>,
  tenantName: Map<string, string>,
): ReplicationWizardVm {
  const sourceKp = vm.encrypted ? inv.keyProviders.find((k) => k.externalId === vm.keyProviderExternalId && k.siteExternalId === vm.siteExternalId) : undefined;
  const targets: Record<string, ReplicationVmTarget> = {};
  for (const site of inv.sites) {
    // Never another tenant's key provider (REP-2): the VM's tenant's, or the site's own.
    const allowed = inv.keyProviders.filter((k) => k.siteExternalId === site.externalId && (k.tenantExternalId === null || k.tenantExternalId === vm.tenantExternalId));
    const shared = sourceKp ? allowed.filter((k) => reaches(sourceKp, k, clusters)).map((k) => k.externalId) : [];
    const sharedWhy = !vm.encrypted
      ? null
      : !sourceKp
        ? `The key provider of ${vm.name} is not known to the console`
        : shared.length > 0
          ? null
          : sourceKp.kind === "native"
            ? `${vm.name} is encrypted by ${sourceKp.name}, a native key provider: its keys never leave ${siteName.get(vm.siteExternalId) ?? "its vCenter"}`
            : `${site.name} does not reach ${sourceKp.name}: no key provider there is registered with the same KMS cluster`;
    targets[site.externalId] = {
      keyProviders: allowed.map(kpOption).sort((a, b) => Number(!!b.tenantName) - Number(!!a.tenantName) || a.name.localeCompare(b.name)),
      sharedKeyProviders: shared,
      sharedWhy,
    };
  }
  return {
    externalId: vm.externalId,
    name: vm.name,
    siteExternalId: vm.siteExternalId,
    siteName: siteName.get(vm.siteExternalId) ?? vm.siteExternalId,
    tenantExternalId: vm.tenantExternalId,
    tenantName: vm.tenantExternalId ? (tenantName.get(vm.tenantExternalId) ?? vm.tenantExternalId) : null,
    folder: vm.folder,
    encrypted: vm.encrypted,
    vtpm: vm.vtpm,
    keyProviderName: sourceKp?.name ?? null,
    disks: vm.disks.map((d) => ({ deviceKey: d.deviceKey, label: d.label, capacityBytes: d.capacityBytes, encrypted: d.encrypted, storagePolicyExternalId: d.storagePolicyExternalId })),
    homeStoragePolicyExternalId: vm.homeStoragePolicyExternalId,
    nics: (vm.nics ?? []).map((n) => ({ deviceKey: n.deviceKey, label: n.label, adapterType: n.adapterType, macAddress: n.macAddress, networkName: n.networkName, connected: n.connected })),
    targets,
  };
}
