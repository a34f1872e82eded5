import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { formatRejection, selectProxy } from "@/lib/engine/pipeline/proxy-selection";
import { parseInput } from "@/lib/errors/parse-input";
import { previewSelectionSchema } from "@/lib/schemas/backup";
import { candidateProxies, keyProviderNames, keyProviderReachable, resolveSelection } from "./job-context";

export interface JobPreviewDto {
  vms: Array<{
    id: string;
    name: string;
    site: string;
    tenant: string | null;
    folder: string;
    encrypted: boolean;
    keyProvider: string | null;
    disks: Array<{
      label: string;
      capacityBytes: number;
      encrypted: boolean;
      ok: boolean;
      proxy: string | null;
      mode: string | null;
      /** Why this proxy and mode, or why none can read the disk (TRN-5). */
      reason: string;
      rejected: string[];
    }>;
  }>;
  encryptedVmCount: number;
  /** Disks no proxy of the job can read as configured. */
  blockedDisks: number;
  missing: number;
}

/**
 * What a job would protect and how, before it is saved: the VMs its selection names today and,
 * per disk, the proxy and transport mode the engine would pick with the reason — or why none fits
 * (KMS compatibility and privileges checked first, TRN-5).
 */
export async function previewBackupJob(actor: Actor, raw: z.input<typeof previewSelectionSchema>): Promise<JobPreviewDto> {
  authorize(actor, "job:read");
  const input = parseInput(previewSelectionSchema, raw);
  const [{ vms, missing }, proxies, names] = await Promise.all([resolveSelection(input.selection), candidateProxies(), keyProviderNames()]);
  const manual = input.proxyMode === "manual" ? new Set(input.proxyIds) : null;
  const chosen = manual ? proxies.filter((p) => manual.has(p.id)).map((p) => p.externalId) : "automatic";
  let blocked = 0;
  const out = vms.slice(0, 500).map((vm) => ({
    id: vm.id,
    name: vm.name,
    site: vm.site.name,
    tenant: vm.tenant?.name ?? null,
    folder: vm.folder,
    encrypted: vm.encrypted,
    keyProvider: vm.keyProvider?.name ?? null,
    disks: vm.disks.map((d) => {
      const label = `${vm.name} / ${d.label}`;
      const choice = selectProxy(
        { label, encrypted: d.encrypted, keyProviderExternalId: d.encrypted ? (vm.keyProvider?.externalId ?? null) : null, siteExternalId: vm.site.externalId, tenantExternalId: vm.tenant?.externalId ?? null },
        proxies,
        { proxies: chosen, failoverToNetwork: input.failoverToNetwork, keyProviderReachable: keyProviderReachable(vm), keyProviderNames: names },
      );
      if (!choice.ok) blocked++;
      return {
        label: d.label,
        capacityBytes: Number(d.capacityBytes),
        encrypted: d.encrypted,
        ok: choice.ok,
        proxy: choice.ok ? choice.proxy.name : null,
        mode: choice.ok ? choice.mode : null,
        reason: choice.reason,
        rejected: choice.rejected.map(formatRejection),
      };
    }),
  }));
  return { vms: out, encryptedVmCount: vms.filter((v) => v.encrypted).length, blockedDisks: blocked, missing: missing.length };
}
