// Replication db tests: the DR site's placement choices, a job's input for one source VM, and the
// hash of a VM's disks over given areas (the replica compared with its source bit for bit).
import { diskPrint } from "@/lib/engine/pipeline/testing";
import type { DiskArea } from "@/lib/platform/disk-io";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { platform, replicationHosts } from "@/lib/services/inventory/platform";
import { uniqueEmail } from "./factories";

export function drSite(inv: InventorySnapshot) {
  const site = inv.sites.find((s) => s.role === "dr")!.externalId;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const encDs = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plainPolicy = encDs.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const kp = inv.keyProviders.find((k) => k.siteExternalId === site && k.kind === "native")!;
  return { site, encPolicy, encDs: encDs.externalId, plainPolicy, host, kp };
}

/** createReplicationJob's input: `vms` replicated re-keyed under the DR site's native provider unless `over` says otherwise. */
export async function replicationJobInput(vms: PlatformVm[], over: Record<string, unknown> = {}, perVm: Record<string, unknown> = {}) {
  const inv = await platform().inventory();
  const d = drSite(inv);
  const encrypted = over.keyMode !== "unencrypted";
  const place = { datastoreExternalId: d.encDs, storagePolicyExternalId: encrypted ? d.encPolicy : d.plainPolicy };
  return {
    name: uniqueEmail("replication"),
    vms: vms.map((source) => {
      const vm = inv.vms.find((v) => v.externalId === source.externalId)!;
      return {
        vmExternalId: vm.externalId,
        name: `${vm.name}_replica_${Math.random().toString(36).slice(2, 7)}`,
        folder: "/Replicas",
        home: place,
        // As replicaRequest encrypts them: an encrypted VM's encrypted disks; every disk of an unencrypted VM re-keyed.
        disks: vm.disks.map((x) => ({ deviceKey: x.deviceKey, ...(encrypted && (vm.encrypted ? x.encrypted : over.keyMode !== "shared") ? place : { datastoreExternalId: d.encDs, storagePolicyExternalId: d.plainPolicy }) })),
        networks: (vm.nics ?? []).map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: null })),
        ...perVm,
      };
    }),
    targetSiteExternalId: d.site,
    targetHostExternalId: d.host,
    keyMode: "re-key",
    targetKeyProviderExternalId: d.kp.externalId,
    refuseUnencrypted: false,
    keepPoints: 3,
    schedule: { kind: "manual" },
    ...over,
  };
}

/** Per disk of `source`: the hash of `vmId`'s disk over `areas` (default: what the source has written) and the areas. */
export async function diskHashes(vmId: string, source: PlatformVm, areas?: Map<number, DiskArea[]>): Promise<Map<number, { hash: string; written: DiskArea[] }>> {
  const out = new Map<number, { hash: string; written: DiskArea[] }>();
  for (const d of source.disks) out.set(d.deviceKey, await diskPrint(replicationHosts().source, vmId, d.deviceKey, areas?.get(d.deviceKey)));
  return out;
}

/** The areas of each disk in `hashes` (what to compare a replica over). */
export const areasOf = (hashes: Map<number, { written: DiskArea[] }>) => new Map([...hashes].map(([k, v]) => [k, v.written]));
