import "server-only";
import type { CandidateProxy } from "@/lib/engine/pipeline/proxy-selection";
import type { CryptoPrivilege, TransportMode } from "@/lib/platform/connector";
import { db } from "@/lib/db/client";
import type { SelectionItem } from "@/lib/schemas/backup";

// What a job's run and the wizard's preview both need from the catalogue: the VMs a selection
// names today (a folder, tenant or site picks up VMs added later), the proxies as the engine's
// selection sees them, and which key providers answer now (VME-3).

export const selectedVmInclude = {
  site: { select: { id: true, externalId: true, name: true } },
  tenant: { select: { id: true, externalId: true, name: true } },
  keyProvider: { select: { id: true, externalId: true, name: true, kmsCluster: { select: { status: true } } } },
  disks: { orderBy: { deviceKey: "asc" as const }, include: { storagePolicy: { select: { externalId: true } }, datastore: { select: { externalId: true } } } },
};

/** The VMs a selection names now, by name; unknown ids are reported, not fatal. */
export async function resolveSelection(selection: readonly SelectionItem[]) {
  const vmIds = selection.filter((s) => s.kind === "vm").map((s) => s.id);
  const tenantIds = selection.filter((s) => s.kind === "tenant").map((s) => s.id);
  const siteIds = selection.filter((s) => s.kind === "site").map((s) => s.id);
  const folders = selection
    .filter((s) => s.kind === "folder")
    .map((s) => {
      const i = s.id.indexOf(":");
      return { siteId: s.id.slice(0, i), folder: s.id.slice(i + 1) };
    });
  const or = [
    ...(vmIds.length ? [{ id: { in: vmIds } }] : []),
    ...(tenantIds.length ? [{ tenantId: { in: tenantIds } }] : []),
    ...(siteIds.length ? [{ siteId: { in: siteIds } }] : []),
    ...folders.flatMap((f) => [{ siteId: f.siteId, folder: f.folder }, { siteId: f.siteId, folder: { startsWith: f.folder.endsWith("/") ? f.folder : `${f.folder}/` } }]),
  ];
  // SQLite binds at most 999 values per statement: Prisma splits a long `in` list into several
  // statements, but not with an orderBy (it cannot merge the order), so a selection longer than
  // the job form's 500 VMs (a bench, an API) is sorted here instead.
  const long = vmIds.length > 500;
  const vms = or.length ? await db.vm.findMany({ where: { OR: or }, include: selectedVmInclude, ...(long ? {} : { orderBy: { name: "asc" as const } }) }) : [];
  if (long) vms.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const missing = selection.filter((s) => s.kind === "vm" && !vms.some((v) => v.id === s.id));
  return { vms, missing };
}
export type SelectedVm = Awaited<ReturnType<typeof resolveSelection>>["vms"][number];

/** Every proxy as a selection candidate; `activeTasks` from the caller's bookkeeping. */
export async function candidateProxies(activeTasks: ReadonlyMap<string, number> = new Map()): Promise<Array<CandidateProxy & { id: string }>> {
  const rows = await db.proxy.findMany({ include: { site: true, keyProvider: true, tenant: true }, orderBy: { name: "asc" } });
  return rows.map((p) => ({
    id: p.id,
    externalId: p.externalId,
    name: p.name,
    kind: p.kind as CandidateProxy["kind"],
    siteExternalId: p.site.externalId,
    transportModes: p.transportModes.split(",").filter(Boolean) as TransportMode[],
    maxTasks: p.maxTasks,
    keyProviderExternalId: p.keyProvider?.externalId ?? null,
    tenantExternalId: p.tenant?.externalId ?? null,
    privileges: p.privileges.split(",").filter(Boolean) as CryptoPrivilege[],
    activeTasks: activeTasks.get(p.externalId) ?? 0,
  }));
}

/** Key provider display names by external id, for the reasons in the session log. */
export async function keyProviderNames(): Promise<Record<string, string>> {
  const rows = await db.keyProvider.findMany({ select: { externalId: true, name: true } });
  return Object.fromEntries(rows.map((r) => [r.externalId, r.name]));
}

/** A standard provider whose registered cluster is known unreachable cannot unlock disks now (VME-3). */
export function keyProviderReachable(vm: Pick<SelectedVm, "encrypted" | "keyProvider">): boolean {
  return !vm.encrypted || vm.keyProvider?.kmsCluster?.status !== "unreachable";
}
