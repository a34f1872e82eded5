import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { parseInput } from "@/lib/errors/parse-input";
import { vmListQuerySchema } from "@/lib/schemas/inventory";
import { bytes, type VmPageDto } from "./inventory-dto";
import { searchKey } from "./search-key";

/** The VM list: search, filters and server-side paging (stays fast at 10 000 VMs: indexed, one page fetched). */
export async function listVms(actor: Actor, raw: unknown): Promise<VmPageDto> {
  authorize(actor, "inventory:read");
  const q = parseInput(vmListQuerySchema, raw);
  const where = {
    ...(q.q ? { searchName: { contains: searchKey(q.q) } } : {}),
    ...(q.site ? { siteId: q.site } : {}),
    ...(q.tenant === "none" ? { tenantId: null } : q.tenant ? { tenantId: q.tenant } : {}),
    ...(q.keyProvider ? { keyProviderId: q.keyProvider } : {}),
    ...(q.encrypted !== undefined ? { encrypted: q.encrypted } : {}),
    ...(q.vtpm !== undefined ? { vtpm: q.vtpm } : {}),
  };
  const [total, vms] = await Promise.all([
    db.vm.count({ where }),
    db.vm.findMany({
      where,
      orderBy: [{ name: "asc" }, { id: "asc" }],
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
      select: {
        id: true,
        name: true,
        folder: true,
        powerState: true,
        encrypted: true,
        vtpm: true,
        guestOsEncrypted: true,
        diskCount: true,
        provisionedBytes: true,
        site: { select: { name: true } },
        tenant: { select: { name: true } },
        keyProvider: { select: { name: true } },
      },
    }),
  ]);
  return {
    rows: vms.map((v) => ({
      id: v.id,
      name: v.name,
      siteName: v.site.name,
      tenantName: v.tenant?.name ?? null,
      folder: v.folder,
      powerState: v.powerState,
      encrypted: v.encrypted,
      keyProviderName: v.keyProvider?.name ?? null,
      vtpm: v.vtpm,
      guestOsEncrypted: v.guestOsEncrypted,
      diskCount: v.diskCount,
      provisionedBytes: bytes(v.provisionedBytes),
    })),
    total,
    page: q.page,
    pageSize: q.pageSize,
    pageCount: Math.max(1, Math.ceil(total / q.pageSize)),
  };
}
