import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { bySiteOrder } from "./site-order";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { idSchema } from "@/lib/schemas/inventory";

const serversSchema = z.array(z.object({ host: z.string(), port: z.number() }));

export interface KeyProviderDto {
  id: string;
  name: string;
  kind: "NATIVE" | "STANDARD";
  site: { id: string; name: string };
  tenant: { id: string; name: string } | null;
  servers: { host: string; port: number }[];
  isDefault: boolean;
  /** The registered KMS cluster serving this provider, with its last known status. */
  kmsCluster: { id: string; name: string; status: string; unreachableSince: string | null } | null;
  vmCount: number;
  proxyCount: number;
}

export interface KeyProviderDetailDto extends KeyProviderDto {
  vms: { id: string; name: string; vtpm: boolean }[];
  proxies: { id: string; name: string; transportModes: string[] }[];
}

const include = {
  site: true,
  tenant: true,
  kmsCluster: { select: { id: true, name: true, status: true, unreachableSince: true } },
  _count: { select: { vms: true, proxies: true } },
} as const;

function toDto(k: {
  id: string;
  name: string;
  kind: "NATIVE" | "STANDARD";
  servers: string;
  isDefault: boolean;
  site: { id: string; name: string };
  tenant: { id: string; name: string } | null;
  kmsCluster: { id: string; name: string; status: string; unreachableSince: Date | null } | null;
  _count: { vms: number; proxies: number };
}): KeyProviderDto {
  const servers = serversSchema.safeParse(JSON.parse(k.servers || "[]"));
  return {
    id: k.id,
    name: k.name,
    kind: k.kind,
    site: { id: k.site.id, name: k.site.name },
    tenant: k.tenant ? { id: k.tenant.id, name: k.tenant.name } : null,
    servers: servers.success ? servers.data : [],
    isDefault: k.isDefault,
    kmsCluster: k.kmsCluster ? { ...k.kmsCluster, unreachableSince: k.kmsCluster.unreachableSince?.toISOString() ?? null } : null,
    vmCount: k._count.vms,
    proxyCount: k._count.proxies,
  };
}

export async function listKeyProviders(actor: Actor): Promise<KeyProviderDto[]> {
  authorize(actor, "inventory:read");
  const rows = await db.keyProvider.findMany({ include, orderBy: { name: "asc" } });
  return rows.sort(bySiteOrder((k) => k.site)).map(toDto);
}

/** One key provider with the VMs (first `vmLimit`) and proxies that depend on it. */
export async function getKeyProvider(actor: Actor, rawId: unknown, vmLimit = 200): Promise<KeyProviderDetailDto> {
  authorize(actor, "inventory:read");
  const id = parseInput(idSchema, rawId);
  const k = await db.keyProvider.findUnique({
    where: { id },
    include: {
      ...include,
      vms: { orderBy: { name: "asc" }, take: vmLimit, select: { id: true, name: true, vtpm: true } },
      proxies: { orderBy: { name: "asc" }, select: { id: true, name: true, transportModes: true } },
    },
  });
  if (!k) throw new AppError("NOT_FOUND", "No key provider with this id.");
  return {
    ...toDto(k),
    vms: k.vms,
    proxies: k.proxies.map((p) => ({ id: p.id, name: p.name, transportModes: p.transportModes.split(",").filter(Boolean) })),
  };
}
