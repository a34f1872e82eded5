import "server-only";
import { authorize } from "@/lib/auth/authorize";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { AppError } from "@/lib/errors/app-error";
import { db } from "@/lib/db/client";
import { parseInput } from "@/lib/errors/parse-input";
import type { PlatformVm } from "@/lib/platform/connector";
import type { RestoreVmInput } from "@/lib/schemas/restore";
import { platform } from "@/lib/services/inventory/platform";
import { placementFor } from "@/lib/restore/placement";
import { defaultNetworkMapping } from "@/lib/platform/network-mapping";
import { openRestorePoint } from "./open-restore-point";

// What the restore wizard offers for one restore point (RST-1…6), in one round trip: the point as
// the backup kept it (disks, keys, whether the console can open it now), the source VM as it is
// now, and every target — sites, hosts (with why one cannot be used), datastores grouped under the
// VM Encryption Policy node, storage policies, the key providers the VM's tenant may use (never
// another tenant's) with their reachability, the folders in use — and the wizard's defaults.

export const restoreOptionsSchema = z.object({ pointId: z.string().trim().min(1).max(64) });

export interface RestoreOptionDisk {
  deviceKey: number;
  label: string;
  capacityBytes: number;
  /** Encrypted with VM Encryption when it was backed up. */
  encrypted: boolean;
  /** Where it was at backup time (ids at the source site). */
  datastoreExternalId: string;
  storagePolicyExternalId: string;
}

/** A network adapter as the backup recorded it. */
export interface RestoreOptionNic {
  deviceKey: number;
  label: string;
  adapterType: string;
  macAddress: string;
  /** Its port group at backup (a name of the source site), or null. */
  networkName: string | null;
  connected: boolean;
}

/** A port group of a site, with the hosts that have it. */
export interface RestoreOptionNetwork {
  externalId: string;
  name: string;
  vlanId: number;
  hostExternalIds: string[];
}

export interface RestoreOptionDatastore {
  externalId: string;
  name: string;
  type: string;
  capacityBytes: number;
  freeBytes: number;
  /** Under the VM Encryption Policy node: compatible with a storage policy that encrypts. */
  encryptionCompatible: boolean;
  compatiblePolicyExternalIds: string[];
}

export interface RestoreOptionKeyProvider {
  externalId: string;
  name: string;
  kind: "native" | "standard";
  tenantName: string | null;
  isDefault: boolean;
  reachable: boolean;
  /** Why it is not reachable (or "not checked yet"). */
  why: string | null;
  /** The provider that holds the VM's original key. */
  holdsOriginalKey: boolean;
}

export interface RestoreOptionSite {
  externalId: string;
  name: string;
  role: string;
  isSourceSite: boolean;
  hosts: Array<{ externalId: string; name: string; cluster: string; connectionState: string; usable: boolean; why: string | null }>;
  datastores: RestoreOptionDatastore[];
  storagePolicies: Array<{ externalId: string; name: string; encryption: boolean; description: string }>;
  /** Port groups of the site (a NIC maps to one its target host has). */
  networks: RestoreOptionNetwork[];
  /** The site's sample VM encryption policy: the default for encrypted items whose policy is gone. */
  vmEncryptionPolicyExternalId: string | null;
  keyProviders: RestoreOptionKeyProvider[];
  /** Whether the same key can be used here: the site has the VM's key provider. */
  sameKeyPossible: boolean;
  folders: string[];
  /** VM names on the site (the lab keeps one VM per name): the name step warns on a clash. */
  vmNames: string[];
}

export interface RestoreOptionsDto {
  point: {
    id: string;
    vmExternalId: string;
    vmName: string;
    createdAt: string;
    incremental: boolean;
    jobName: string | null;
    repositoryName: string;
    /** The keys that open the point (KEY-7). */
    keyIds: string[];
    /** Whether the console holds a key that opens it now; if not, `keysProblem` says which are missing. */
    keysAvailable: boolean;
    keysProblem: string | null;
    /** What the backup kept about the VM (null when the point cannot be opened). */
    vm: null | {
      guestOs: string;
      cpuCount: number;
      memoryMiB: number;
      folder: string;
      siteExternalId: string;
      hostExternalId: string;
      tenant: { externalId: string; name: string } | null;
      encrypted: boolean;
      keyId: string | null;
      keyProvider: { externalId: string; name: string | null } | null;
      /** keyId, encryption.bundle and NVRAM were saved: same key brings NVRAM (and a vTPM) back. */
      savedKeys: boolean;
      vtpm: boolean;
      home: { datastoreExternalId: string; storagePolicyExternalId: string };
      disks: RestoreOptionDisk[];
      /** The VM's network adapters at backup; `nicsRecorded` false for a point made before they were recorded. */
      nics: RestoreOptionNic[];
      nicsRecorded: boolean;
    };
  };
  /** The source VM as it is now, when it still exists. */
  source: null | { vmId: string | null; name: string; siteName: string; hostName: string; folder: string; powerState: string; encrypted: boolean; keyId: string | null };
  /**
   * Whether the VM can be brought back in place (RST-1: overwrite or quick rollback): it still
   * exists on the site it was backed up on, and per disk of the point whether the live VM still has
   * it at the same size (only such disks can be written back).
   */
  inPlace: InPlaceOptions;
  sites: RestoreOptionSite[];
  /** The wizard's starting choices (null when the point cannot be opened). */
  defaults: RestoreVmInput | null;
}

export interface InPlaceOptions {
  available: boolean;
  /** Why not, in the operator's words (null when available). */
  why: string | null;
  disks: Array<{ deviceKey: number; label: string; capacityBytes: number; encrypted: boolean; usable: boolean; why: string | null }>;
}

/** The wizard's options for one point. Viewing needs "job:read" (every role that may restore has it); restoring needs "restore:run". */
export async function getRestoreOptions(actor: Actor, raw: unknown): Promise<RestoreOptionsDto> {
  authorize(actor, "job:read");
  const { pointId } = parseInput(restoreOptionsSchema, raw);
  const row = await db.restorePoint.findUnique({ where: { id: pointId }, include: { job: { select: { name: true } }, repository: { select: { name: true } } } });
  if (!row || row.status === "removed") throw new AppError("NOT_FOUND", "This restore point does not exist (retention may have removed it).");
  const inventory = await platform().inventory();

  let backedUp: PlatformVm | null = null;
  let saved = { encrypted: row.vmEncrypted, keyId: null as string | null, keyProviderExternalId: null as string | null, savedKeys: false, nicsRecorded: false };
  let keysProblem: string | null = null;
  try {
    const opened = await openRestorePoint(row.id, `strongroom/${process.pid}/restore-options`);
    try {
      backedUp = opened.source.vm;
      saved = {
        encrypted: opened.source.encrypted,
        keyId: opened.source.keyId ?? null,
        keyProviderExternalId: opened.source.keyProviderExternalId ?? null,
        savedKeys: Boolean(opened.source.encryptionBundle && opened.source.nvram && opened.source.keyId),
        nicsRecorded: opened.source.nicsRecorded,
      };
    } finally {
      await opened.close();
    }
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    keysProblem = e.message;
  }

  const tenantName = new Map(inventory.tenants.map((t) => [t.externalId, t.name]));
  const kpRows = await db.keyProvider.findMany({ select: { externalId: true, site: { select: { externalId: true } }, kmsCluster: { select: { status: true, name: true } } } });
  const kpRow = new Map(kpRows.map((k) => [`${k.site.externalId}|${k.externalId}`, k]));
  const vmTenant = backedUp?.tenantExternalId ?? null;
  const current = inventory.vms.find((v) => v.externalId === row.vmExternalId) ?? null;
  const currentRow = current ? await db.vm.findFirst({ where: { externalId: current.externalId }, select: { id: true } }) : null;

  const sites: RestoreOptionSite[] = [...inventory.sites].sort((a, b) => Number(a.role === "dr") - Number(b.role === "dr") || a.name.localeCompare(b.name)).map((site) => {
    const policies = inventory.storagePolicies.filter((p) => p.siteExternalId === site.externalId);
    const encIds = new Set(policies.filter((p) => p.encryption).map((p) => p.externalId));
    const sample = policies.find((p) => p.encryption && p.name === "VM Encryption Policy") ?? policies.find((p) => p.encryption) ?? null;
    const keyProviders = inventory.keyProviders
      .filter((k) => k.siteExternalId === site.externalId && (k.tenantExternalId === null || k.tenantExternalId === vmTenant))
      .map((k): RestoreOptionKeyProvider => {
        const r = reachOf(k.kind, kpRow.get(`${site.externalId}|${k.externalId}`)?.kmsCluster ?? null);
        return { externalId: k.externalId, name: k.name, kind: k.kind, tenantName: k.tenantExternalId ? (tenantName.get(k.tenantExternalId) ?? k.tenantExternalId) : null, isDefault: k.isDefault, ...r, holdsOriginalKey: k.externalId === saved.keyProviderExternalId };
      })
      .sort((a, b) => Number(b.holdsOriginalKey) - Number(a.holdsOriginalKey) || Number(!!b.tenantName) - Number(!!a.tenantName) || a.name.localeCompare(b.name));
    const siteVms = inventory.vms.filter((v) => v.siteExternalId === site.externalId);
    return {
      externalId: site.externalId,
      name: site.name,
      role: site.role,
      isSourceSite: backedUp?.siteExternalId === site.externalId,
      hosts: inventory.hosts
        .filter((h) => h.siteExternalId === site.externalId)
        .map((h) => ({ externalId: h.externalId, name: h.name, cluster: h.cluster, connectionState: h.connectionState, usable: h.connectionState === "connected", why: h.connectionState === "maintenance" ? "In maintenance mode: VMs cannot be registered on it" : h.connectionState === "disconnected" ? "Disconnected from vCenter" : null })),
      datastores: inventory.datastores
        .filter((d) => d.siteExternalId === site.externalId)
        .map((d) => ({ externalId: d.externalId, name: d.name, type: d.type, capacityBytes: d.capacityBytes, freeBytes: d.freeBytes, encryptionCompatible: d.compatiblePolicyExternalIds.some((id) => encIds.has(id)), compatiblePolicyExternalIds: d.compatiblePolicyExternalIds }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      storagePolicies: policies.map((p) => ({ externalId: p.externalId, name: p.name, encryption: p.encryption, description: p.description })).sort((a, b) => Number(b.encryption) - Number(a.encryption) || a.name.localeCompare(b.name)),
      networks: inventory.networks
        .filter((n) => n.siteExternalId === site.externalId)
        .map((n) => ({ externalId: n.externalId, name: n.name, vlanId: n.vlanId, hostExternalIds: [...n.hostExternalIds] }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      vmEncryptionPolicyExternalId: sample?.externalId ?? null,
      keyProviders,
      sameKeyPossible: saved.encrypted && !!saved.keyId && !!saved.keyProviderExternalId && keyProviders.some((k) => k.holdsOriginalKey),
      folders: [...new Set(siteVms.map((v) => v.folder))].sort(),
      vmNames: siteVms.map((v) => v.name),
    };
  });

  const disks: RestoreOptionDisk[] = (backedUp?.disks ?? []).map((d) => ({ deviceKey: d.deviceKey, label: d.label, capacityBytes: d.capacityBytes, encrypted: d.encrypted, datastoreExternalId: d.datastoreExternalId, storagePolicyExternalId: d.storagePolicyExternalId }));
  return {
    point: {
      id: row.id,
      vmExternalId: row.vmExternalId,
      vmName: row.vmName,
      createdAt: row.createdAt.toISOString(),
      incremental: row.incremental,
      jobName: row.job?.name ?? null,
      repositoryName: row.repository.name,
      keyIds: parseIds(row.keyIds),
      keysAvailable: keysProblem === null,
      keysProblem,
      vm: backedUp && {
        guestOs: backedUp.guestOs,
        cpuCount: backedUp.cpuCount,
        memoryMiB: backedUp.memoryMiB,
        folder: backedUp.folder,
        siteExternalId: backedUp.siteExternalId,
        hostExternalId: backedUp.hostExternalId,
        tenant: vmTenant ? { externalId: vmTenant, name: tenantName.get(vmTenant) ?? vmTenant } : null,
        encrypted: saved.encrypted,
        keyId: saved.keyId,
        keyProvider: saved.keyProviderExternalId ? { externalId: saved.keyProviderExternalId, name: inventory.keyProviders.find((k) => k.externalId === saved.keyProviderExternalId)?.name ?? null } : null,
        savedKeys: saved.savedKeys,
        vtpm: backedUp.vtpm,
        home: { datastoreExternalId: backedUp.homeDatastoreExternalId, storagePolicyExternalId: backedUp.homeStoragePolicyExternalId },
        disks,
        nics: backedUp.nics.map((n) => ({ deviceKey: n.deviceKey, label: n.label, adapterType: n.adapterType, macAddress: n.macAddress, networkName: n.networkName, connected: n.connected })),
        nicsRecorded: saved.nicsRecorded,
      },
    },
    source: current && {
      vmId: currentRow?.id ?? null,
      name: current.name,
      siteName: inventory.sites.find((s) => s.externalId === current.siteExternalId)?.name ?? current.siteExternalId,
      hostName: inventory.hosts.find((h) => h.externalId === current.hostExternalId)?.name ?? current.hostExternalId,
      folder: current.folder,
      powerState: current.powerState,
      encrypted: current.encrypted,
      keyId: current.keyId,
    },
    inPlace: inPlaceOptions(row.vmName, backedUp, current, disks, keysProblem),
    sites,
    defaults: backedUp ? defaultsFor(row.id, backedUp, saved, sites) : null,
  };
}

/** RST-1 in place: the point's VM still on its site, and which of the point's disks it still has at the same size. */
function inPlaceOptions(vmName: string, backedUp: PlatformVm | null, current: PlatformVm | null, disks: RestoreOptionDisk[], keysProblem: string | null): InPlaceOptions {
  const no = (why: string): InPlaceOptions => ({ available: false, why, disks: [] });
  if (!backedUp) return no(keysProblem ? "The restore point cannot be opened with the keys this console holds." : "The restore point cannot be opened.");
  if (!current) return no(`${vmName} no longer exists (it was deleted or removed from the inventory): restore it to a new location instead.`);
  if (current.siteExternalId !== backedUp.siteExternalId) return no(`${vmName} is no longer on the site it was backed up on: restore it to a new location instead.`);
  const out = disks.map((d) => {
    const live = current.disks.find((x) => x.deviceKey === d.deviceKey);
    const why = !live ? `${current.name} has no ${d.label} any more` : live.capacityBytes !== d.capacityBytes ? `${live.label} changed size since the restore point` : null;
    return { deviceKey: d.deviceKey, label: d.label, capacityBytes: d.capacityBytes, encrypted: live?.encrypted ?? d.encrypted, usable: why === null, why };
  });
  if (!out.some((d) => d.usable)) return { available: false, why: `None of the point's disks is still on ${current.name} at the same size: restore to a new location instead.`, disks: out };
  return { available: true, why: null, disks: out };
}

/** Reachability of a key provider as the console last saw it: native ones always answer. */
export function reachOf(kind: "native" | "standard", cluster: { status: string } | null): { reachable: boolean; why: string | null } {
  if (kind === "native") return { reachable: true, why: null };
  if (!cluster) return { reachable: false, why: "No KMS cluster is registered for it in Strongroom" };
  if (cluster.status === "unreachable") return { reachable: false, why: "Its KMS cluster did not answer the last check" };
  if (cluster.status === "unknown") return { reachable: true, why: "Not checked yet" };
  return { reachable: true, why: null };
}

/**
 * Each network adapter to the target host's network of the same name, else disconnected.
 * Original site, host and folder when they can take it, name "<vm>-restored", the home and each
 * disk encrypted as at backup on the datastore it was on when that fits (else the compatible
 * datastore with most free space), the storage policy as backed up when it exists (else the site's
 * VM encryption policy for encrypted items), and the same key when the site has its provider.
 */
function defaultsFor(pointId: string, vm: PlatformVm, saved: { encrypted: boolean }, sites: RestoreOptionSite[]): RestoreVmInput {
  const site = sites.find((s) => s.externalId === vm.siteExternalId) ?? sites[0];
  const host = site.hosts.find((h) => h.externalId === vm.hostExternalId && h.usable) ?? site.hosts.find((h) => h.usable) ?? site.hosts[0];
  const names = new Set(site.vmNames);
  let name = `${vm.name}-restored`.slice(0, 80);
  for (let i = 2; names.has(name); i++) name = `${vm.name}-restored-${i}`.slice(0, 80);
  const anyEncrypted = vm.disks.some((d) => d.encrypted);
  const home = placementFor(site, vm.homeDatastoreExternalId, vm.homeStoragePolicyExternalId, "home", anyEncrypted, 0);
  const sameKey = site.sameKeyPossible;
  const newKeyProvider = site.keyProviders.find((k) => k.reachable && k.tenantName) ?? site.keyProviders.find((k) => k.reachable && k.isDefault) ?? site.keyProviders.find((k) => k.reachable) ?? site.keyProviders[0];
  return {
    pointId,
    siteExternalId: site.externalId,
    hostExternalId: host?.externalId ?? "",
    name,
    folder: vm.folder,
    home,
    disks: vm.disks.map((d) => ({ deviceKey: d.deviceKey, encrypted: d.encrypted, ...placementFor(site, d.datastoreExternalId, d.storagePolicyExternalId, "disk", d.encrypted, d.capacityBytes) })),
    keys: sameKey && saved.encrypted ? { kind: "same-key" } : { kind: "new-key", keyProviderExternalId: newKeyProvider?.externalId ?? "" },
    networks: defaultNetworkMapping(vm.nics, site.networks, host?.externalId ?? ""),
    powerOn: true,
  };
}

function parseIds(s: string): string[] {
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}
