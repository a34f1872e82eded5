import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { bySiteOrder } from "./site-order";
import { bytes } from "./inventory-dto";

// Datastores grouped exactly as the restore/replication wizards will show them (INV-3, REP-3):
// per site, a "VM Encryption Policy" node holding the datastores compatible with an encryption
// storage policy, and the other datastores beside it.
export interface DatastoreDto {
  id: string;
  name: string;
  type: string;
  capacityBytes: number;
  freeBytes: number;
  encryptionCompatible: boolean;
  policies: { name: string; encryption: boolean }[];
  diskCount: number;
}

export interface DatastoreSiteGroupDto {
  site: { id: string; name: string; role: string };
  encryptionPolicies: string[];
  encryptionNode: DatastoreDto[];
  otherDatastores: DatastoreDto[];
}

export async function listDatastoresGrouped(actor: Actor): Promise<DatastoreSiteGroupDto[]> {
  authorize(actor, "inventory:read");
  const sites = await db.site.findMany({
    include: {
      storagePolicies: { where: { encryption: true }, orderBy: { name: "asc" } },
      datastores: {
        orderBy: { name: "asc" },
        include: { policies: { include: { policy: true } }, _count: { select: { disks: true } } },
      },
    },
  });
  return sites.sort(bySiteOrder((x) => x)).map((s) => {
    const all: DatastoreDto[] = s.datastores.map((d) => ({
      id: d.id,
      name: d.name,
      type: d.type,
      capacityBytes: bytes(d.capacityBytes),
      freeBytes: bytes(d.freeBytes),
      encryptionCompatible: d.encryptionCompatible,
      policies: d.policies.map((p) => ({ name: p.policy.name, encryption: p.policy.encryption })).sort((a, b) => a.name.localeCompare(b.name)),
      diskCount: d._count.disks,
    }));
    return {
      site: { id: s.id, name: s.name, role: s.role },
      encryptionPolicies: s.storagePolicies.map((p) => p.name),
      encryptionNode: all.filter((d) => d.encryptionCompatible),
      otherDatastores: all.filter((d) => !d.encryptionCompatible),
    };
  });
}
