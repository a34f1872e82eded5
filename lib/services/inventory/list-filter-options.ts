import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";

export interface FilterOptionsDto {
  sites: { id: string; name: string }[];
  tenants: { id: string; name: string }[];
  keyProviders: { id: string; name: string; siteName: string }[];
}

export async function listFilterOptions(actor: Actor): Promise<FilterOptionsDto> {
  authorize(actor, "inventory:read");
  const [sites, tenants, keyProviders] = await Promise.all([
    db.site.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true } }),
    db.tenant.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true } }),
    db.keyProvider.findMany({ orderBy: [{ name: "asc" }], select: { id: true, name: true, site: { select: { name: true } } } }),
  ]);
  return { sites, tenants, keyProviders: keyProviders.map((k) => ({ id: k.id, name: k.name, siteName: k.site.name })) };
}
