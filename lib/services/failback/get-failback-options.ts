import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { failoverHost } from "@/lib/services/inventory/platform";

// What the failback wizard offers for one replica (FBK-1), in one round trip: the replica (its
// disks, key mode and key), whether the original VM is still at the production site, the
// production VMs an "original restored elsewhere" may be (same disks), and per production site its
// hosts, datastores (under the VM Encryption Policy node or not), storage policies and key
// providers (the VM's tenant's or the site's own, never the DR site's). The wizard's choices are
// checked again on the server by planFailbackDestination; this only lists what there is.

export interface FailbackOptionDatastore {
  externalId: string;
  name: string;
  type: string;
  capacityBytes: number;
  freeBytes: number;
  encryptionCompatible: boolean;
  compatiblePolicyExternalIds: string[];
}

export interface FailbackOptionSite {
  externalId: string;
  name: string;
  hosts: Array<{ externalId: string; name: string; usable: boolean }>;
  datastores: FailbackOptionDatastore[];
  storagePolicies: Array<{ externalId: string; name: string; encryption: boolean }>;
  keyProviders: Array<{ externalId: string; name: string; isDefault: boolean; tenant: boolean }>;
}

export interface FailbackOptionsDto {
  replica: {
    id: string;
    replicaVmName: string;
    sourceVmName: string;
    sourceVmExternalId: string;
    state: string;
    keyMode: string;
    /** The replica's key id (shared mode: the source's). */
    keyId: string | null;
    encrypted: boolean;
    drSiteName: string;
    drKeyProviderName: string | null;
    disks: Array<{ deviceKey: number; label: string; capacityBytes: number; encrypted: boolean }>;
  };
  /** The original VM at the production site, or null when it is gone. */
  original: { externalId: string; name: string; siteName: string; keyProviderExternalId: string | null; keyProviderName: string | null } | null;
  /** Production VMs with the replica's disks, for "the original restored elsewhere". */
  vms: Array<{ externalId: string; name: string; siteName: string; encrypted: boolean }>;
  sites: FailbackOptionSite[];
}

export async function getFailbackOptions(actor: Actor, replicaId: string): Promise<FailbackOptionsDto> {
  authorize(actor, "failback:run");
  const row = await db.replica.findUnique({ where: { id: replicaId } });
  if (!row) throw new AppError("NOT_FOUND", "This replica does not exist (its job may have been removed).");
  const inv = await failoverHost().inventory();
  const replica = inv.vms.find((v) => v.externalId === row.replicaVmExternalId) ?? null;
  const drSite = replica?.siteExternalId ?? null;
  const siteName = new Map(inv.sites.map((s) => [s.externalId, s.name]));
  const kpName = (id: string | null | undefined) => (id ? (inv.keyProviders.find((k) => k.externalId === id)?.name ?? id) : null);
  const originalVm = inv.vms.find((v) => v.externalId === row.sourceVmExternalId && v.siteExternalId !== drSite) ?? null;
  const tenant = originalVm?.tenantExternalId ?? replica?.tenantExternalId ?? null;
  const sameDisks = (disks: Array<{ deviceKey: number; capacityBytes: number }>) =>
    !!replica && disks.length === replica.disks.length && replica.disks.every((d) => disks.some((x) => x.deviceKey === d.deviceKey && x.capacityBytes === d.capacityBytes));

  const sites: FailbackOptionSite[] = inv.sites
    .filter((s) => s.externalId !== drSite)
    .map((site) => {
      const policies = inv.storagePolicies.filter((p) => p.siteExternalId === site.externalId);
      const enc = new Set(policies.filter((p) => p.encryption).map((p) => p.externalId));
      return {
        externalId: site.externalId,
        name: site.name,
        hosts: inv.hosts.filter((h) => h.siteExternalId === site.externalId).map((h) => ({ externalId: h.externalId, name: h.name, usable: h.connectionState === "connected" })),
        datastores: inv.datastores
          .filter((d) => d.siteExternalId === site.externalId)
          .map((d) => ({ externalId: d.externalId, name: d.name, type: d.type, capacityBytes: d.capacityBytes, freeBytes: d.freeBytes, encryptionCompatible: d.compatiblePolicyExternalIds.some((id) => enc.has(id)), compatiblePolicyExternalIds: [...d.compatiblePolicyExternalIds] }))
          .sort((a, b) => a.name.localeCompare(b.name)),
        storagePolicies: policies.map((p) => ({ externalId: p.externalId, name: p.name, encryption: p.encryption })).sort((a, b) => Number(b.encryption) - Number(a.encryption) || a.name.localeCompare(b.name)),
        // Never another tenant's key provider (REP-2), never the DR site's (this is a production site).
        keyProviders: inv.keyProviders
          .filter((k) => k.siteExternalId === site.externalId && (k.tenantExternalId === null || k.tenantExternalId === tenant))
          .map((k) => ({ externalId: k.externalId, name: k.name, isDefault: k.isDefault, tenant: k.tenantExternalId !== null })),
      };
    });

  return {
    replica: {
      id: row.id,
      replicaVmName: row.replicaVmName,
      sourceVmName: row.sourceVmName,
      sourceVmExternalId: row.sourceVmExternalId,
      state: row.state,
      keyMode: row.keyMode,
      keyId: replica?.keyId ?? null,
      encrypted: row.keyMode !== "unencrypted" && !!replica?.encrypted,
      drSiteName: drSite ? (siteName.get(drSite) ?? drSite) : "the DR site",
      drKeyProviderName: kpName(replica?.keyProviderExternalId),
      disks: (replica?.disks ?? []).map((d) => ({ deviceKey: d.deviceKey, label: d.label, capacityBytes: d.capacityBytes, encrypted: d.encrypted })),
    },
    original: originalVm
      ? { externalId: originalVm.externalId, name: originalVm.name, siteName: siteName.get(originalVm.siteExternalId) ?? originalVm.siteExternalId, keyProviderExternalId: originalVm.keyProviderExternalId ?? null, keyProviderName: kpName(originalVm.keyProviderExternalId) }
      : null,
    vms: inv.vms
      .filter((v) => v.siteExternalId !== drSite && v.externalId !== row.sourceVmExternalId && sameDisks(v.disks))
      .map((v) => ({ externalId: v.externalId, name: v.name, siteName: siteName.get(v.siteExternalId) ?? v.siteExternalId, encrypted: v.encrypted }))
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(0, 500),
    sites,
  };
}
