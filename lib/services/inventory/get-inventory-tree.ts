import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { bySiteOrder } from "./site-order";
import { parseInput } from "@/lib/errors/parse-input";
import { idSchema } from "@/lib/schemas/inventory";

// The site → cluster → host → VM tree. Sites and hosts come at once (with counts); a host's VMs
// are fetched when it is opened, so the tree stays light with 10 000 VMs.
export interface TreeSiteDto {
  id: string;
  name: string;
  role: string;
  vcenterHost: string;
  clusters: { name: string; hosts: { id: string; name: string; connectionState: string; vmCount: number; encryptedCount: number }[] }[];
}

export async function getInventoryTree(actor: Actor): Promise<TreeSiteDto[]> {
  authorize(actor, "inventory:read");
  const [sites, encryptedPerHost] = await Promise.all([
    db.site.findMany({
      include: { hosts: { orderBy: [{ cluster: "asc" }, { name: "asc" }], include: { _count: { select: { vms: true } } } } },
    }),
    db.vm.groupBy({ by: ["hostId"], where: { encrypted: true }, _count: { _all: true } }),
  ]);
  const enc = new Map(encryptedPerHost.map((g) => [g.hostId, g._count._all]));
  return sites.sort(bySiteOrder((x) => x)).map((s) => {
    const clusters = new Map<string, TreeSiteDto["clusters"][number]>();
    for (const h of s.hosts) {
      const c = clusters.get(h.cluster) ?? { name: h.cluster, hosts: [] };
      c.hosts.push({ id: h.id, name: h.name, connectionState: h.connectionState, vmCount: h._count.vms, encryptedCount: enc.get(h.id) ?? 0 });
      clusters.set(h.cluster, c);
    }
    return { id: s.id, name: s.name, role: s.role, vcenterHost: s.vcenterHost, clusters: [...clusters.values()] };
  });
}

export interface TreeVmDto {
  id: string;
  name: string;
  encrypted: boolean;
  vtpm: boolean;
  powerState: string;
}

export async function listHostVms(actor: Actor, rawHostId: unknown): Promise<TreeVmDto[]> {
  authorize(actor, "inventory:read");
  const hostId = parseInput(idSchema, rawHostId);
  return db.vm.findMany({
    where: { hostId },
    orderBy: { name: "asc" },
    select: { id: true, name: true, encrypted: true, vtpm: true, powerState: true },
  });
}
