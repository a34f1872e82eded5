import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { bySiteOrder } from "./site-order";
import { findAttentionItems, type AttentionItem } from "./attention";

export interface DashboardDto {
  totals: { sites: number; hosts: number; vms: number; encrypted: number; vtpm: number; guestOsEncrypted: number; disks: number; keyProviders: number; proxies: number };
  perSite: { id: string; name: string; role: string; vms: number; encrypted: number; lastSyncAt: string | null }[];
  perTenant: { id: string | null; name: string; vms: number; encrypted: number; keyProviders: string[] }[];
  attention: AttentionItem[];
  lastSyncAt: string | null;
}

export async function getDashboard(actor: Actor): Promise<DashboardDto> {
  authorize(actor, "inventory:read");
  const [sites, hosts, vms, encrypted, vtpm, guestOsEncrypted, disks, keyProviders, proxies, bySite, bySiteEnc, byTenant, byTenantEnc, tenants] =
    await Promise.all([
      db.site.findMany().then((s) => s.sort(bySiteOrder((x) => x))),
      db.host.count(),
      db.vm.count(),
      db.vm.count({ where: { encrypted: true } }),
      db.vm.count({ where: { vtpm: true } }),
      db.vm.count({ where: { guestOsEncrypted: true } }),
      db.virtualDisk.count(),
      db.keyProvider.count(),
      db.proxy.count(),
      db.vm.groupBy({ by: ["siteId"], _count: { _all: true } }),
      db.vm.groupBy({ by: ["siteId"], where: { encrypted: true }, _count: { _all: true } }),
      db.vm.groupBy({ by: ["tenantId"], _count: { _all: true } }),
      db.vm.groupBy({ by: ["tenantId"], where: { encrypted: true }, _count: { _all: true } }),
      db.tenant.findMany({ orderBy: { name: "asc" }, include: { keyProviders: { select: { name: true } } } }),
    ]);
  const count = (rows: { _count: { _all: number } }[], pick: (r: never) => boolean) =>
    rows.find((r) => pick(r as never))?._count._all ?? 0;
  const lastSync = sites.map((s) => s.lastSyncAt?.getTime() ?? 0).reduce((a, b) => Math.max(a, b), 0);
  return {
    totals: { sites: sites.length, hosts, vms, encrypted, vtpm, guestOsEncrypted, disks, keyProviders, proxies },
    perSite: sites.map((s) => ({
      id: s.id,
      name: s.name,
      role: s.role,
      vms: count(bySite, (r: { siteId: string }) => r.siteId === s.id),
      encrypted: count(bySiteEnc, (r: { siteId: string }) => r.siteId === s.id),
      lastSyncAt: s.lastSyncAt?.toISOString() ?? null,
    })),
    perTenant: [
      ...tenants.map((t) => ({
        id: t.id,
        name: t.name,
        vms: count(byTenant, (r: { tenantId: string | null }) => r.tenantId === t.id),
        encrypted: count(byTenantEnc, (r: { tenantId: string | null }) => r.tenantId === t.id),
        keyProviders: [...new Set(t.keyProviders.map((k) => k.name))],
      })),
      {
        id: null,
        name: "Provider (no tenant)",
        vms: count(byTenant, (r: { tenantId: string | null }) => r.tenantId === null),
        encrypted: count(byTenantEnc, (r: { tenantId: string | null }) => r.tenantId === null),
        keyProviders: [],
      },
    ],
    attention: await findAttentionItems(),
    lastSyncAt: lastSync ? new Date(lastSync).toISOString() : null,
  };
}
