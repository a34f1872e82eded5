import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { parseInput } from "@/lib/errors/parse-input";
import { platform } from "@/lib/services/inventory/platform";

// The VMs a disk restore (RST-7) may attach disks to: those of the same tenant as the VM the point
// was backed up from (a provider VM's disks go only to provider VMs), the original first, each with
// its disks, power state and encryption — what the wizard's target and disk steps offer. The start
// checks the tenant again on the server.

export const diskRestoreTargetsSchema = z.object({
  /** The point's VM (listed first) and its tenant (null: the provider's own VMs). */
  vmExternalId: z.string().trim().min(1).max(200),
  tenantExternalId: z.string().trim().min(1).max(200).nullable(),
});

export interface DiskRestoreTargetDto {
  externalId: string;
  name: string;
  siteExternalId: string;
  siteName: string;
  hostName: string;
  folder: string;
  powerState: string;
  encrypted: boolean;
  isOriginal: boolean;
  disks: Array<{ deviceKey: number; label: string; capacityBytes: number; encrypted: boolean; datastoreName: string }>;
}

const MAX_TARGETS = 500;

export async function listDiskRestoreTargets(actor: Actor, raw: unknown): Promise<{ targets: DiskRestoreTargetDto[]; truncated: boolean }> {
  authorize(actor, "restore:run");
  const input = parseInput(diskRestoreTargetsSchema, raw);
  const inv = await platform().inventory();
  const site = new Map(inv.sites.map((s) => [s.externalId, s.name]));
  const host = new Map(inv.hosts.map((h) => [h.externalId, h.name]));
  const ds = new Map(inv.datastores.map((d) => [d.externalId, d.name]));
  const all = inv.vms
    .filter((v) => v.tenantExternalId === input.tenantExternalId)
    .sort((a, b) => Number(b.externalId === input.vmExternalId) - Number(a.externalId === input.vmExternalId) || a.name.localeCompare(b.name));
  const targets = all.slice(0, MAX_TARGETS).map((v) => ({
    externalId: v.externalId,
    name: v.name,
    siteExternalId: v.siteExternalId,
    siteName: site.get(v.siteExternalId) ?? v.siteExternalId,
    hostName: host.get(v.hostExternalId) ?? v.hostExternalId,
    folder: v.folder,
    powerState: v.powerState,
    encrypted: v.encrypted,
    isOriginal: v.externalId === input.vmExternalId,
    disks: v.disks.map((d) => ({ deviceKey: d.deviceKey, label: d.label, capacityBytes: d.capacityBytes, encrypted: d.encrypted, datastoreName: ds.get(d.datastoreExternalId) ?? d.datastoreExternalId })),
  }));
  return { targets, truncated: all.length > MAX_TARGETS };
}
