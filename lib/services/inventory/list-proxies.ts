import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { bySiteOrder } from "./site-order";

export interface ProxyDto {
  id: string;
  name: string;
  kind: string;
  site: { id: string; name: string };
  hostName: string | null;
  transportModes: string[];
  maxTasks: number;
  keyProvider: { id: string; name: string } | null;
  tenant: { id: string; name: string } | null;
  privileges: string[];
  /** Why this proxy cannot HotAdd encrypted disks as configured (TRN-3), if so. */
  warnings: string[];
}

export async function listProxies(actor: Actor): Promise<ProxyDto[]> {
  authorize(actor, "inventory:read");
  const rows = await db.proxy.findMany({
    include: { site: true, host: true, keyProvider: true, tenant: true },
    orderBy: { name: "asc" },
  });
  return rows.sort(bySiteOrder((p) => p.site)).map((p) => {
    const modes = p.transportModes.split(",").filter(Boolean);
    const privileges = p.privileges.split(",").filter(Boolean);
    const warnings: string[] = [];
    if (modes.includes("hotadd") && p.keyProviderId && !privileges.includes("Cryptographer.AddDisk")) {
      warnings.push("Missing Cryptographer.AddDisk: the host will refuse HotAdd of encrypted disks.");
    }
    if (p.tenant && p.keyProvider?.tenantId && p.keyProvider.tenantId !== p.tenantId) {
      warnings.push(`Dedicated to ${p.tenant.name} but encrypted with ${p.keyProvider.name}: it cannot HotAdd that tenant's encrypted disks.`);
    }
    return {
      id: p.id,
      name: p.name,
      kind: p.kind,
      site: { id: p.site.id, name: p.site.name },
      hostName: p.host?.name ?? null,
      transportModes: modes,
      maxTasks: p.maxTasks,
      keyProvider: p.keyProvider ? { id: p.keyProvider.id, name: p.keyProvider.name } : null,
      tenant: p.tenant ? { id: p.tenant.id, name: p.tenant.name } : null,
      privileges,
      warnings,
    };
  });
}
