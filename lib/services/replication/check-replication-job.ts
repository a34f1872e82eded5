import "server-only";
import { db } from "@/lib/db/client";
import { replicaRequest, type ReplicaPlacement } from "@/lib/engine/pipeline/replicate-vm";
import { AppError } from "@/lib/errors/app-error";
import type { InventorySnapshot, PlatformKeyProvider, PlatformVm } from "@/lib/platform/connector";
import { planNewVm } from "@/lib/platform/create-vm-rules";
import { networkMappingProblems } from "@/lib/platform/network-mapping";
import type { CreateReplicationJobInput, ReplicaVmInput } from "@/lib/schemas/replication";
import { platform } from "@/lib/services/inventory/platform";

// A replication job's choices checked on the server against the platform as it is now (REP-2…4).
// Every VM is planned exactly as the engine will create its replica (replicaRequest) and the plan
// is put through the platform's own create-VM rules (planNewVm), so a datastore outside the VM
// Encryption Policy node for an encrypted replica, a policy that does not encrypt, a host in
// maintenance, a missing disk placement are refused here with the platform's words (REP-3).
// The keys: the target key provider is one of the target site and never another tenant's; shared
// keys only when the target site reaches the source's key — the same registered KMS cluster (or
// the same provider, within one site); a native key never leaves its vCenter (REP-2). A target
// without any key provider leaves an unencrypted replica, allowed unless the job refuses
// unencrypted replicas (REP-4). The first problem refuses the whole job; nothing is written.

export interface CheckedReplicaVm {
  input: ReplicaVmInput;
  vm: PlatformVm;
  placement: ReplicaPlacement;
  /** What the replica will be told (warnings the session repeats). */
  warnings: string[];
}

const fail = (message: string, field: string): never => {
  throw new AppError("CONFLICT", message, { [field]: [message] });
};

export function placementOf(input: Pick<CreateReplicationJobInput, "targetSiteExternalId" | "targetHostExternalId" | "keyMode" | "targetKeyProviderExternalId">, vm: ReplicaVmInput): ReplicaPlacement {
  return {
    siteExternalId: input.targetSiteExternalId,
    hostExternalId: input.targetHostExternalId,
    name: vm.name,
    folder: vm.folder,
    home: vm.home,
    disks: Object.fromEntries(vm.disks.map((d) => [d.deviceKey, { datastoreExternalId: d.datastoreExternalId, storagePolicyExternalId: d.storagePolicyExternalId }])),
    keyProviderExternalId: input.keyMode === "unencrypted" ? null : input.targetKeyProviderExternalId,
    networks: vm.networks,
  };
}

export async function checkReplicationJob(input: CreateReplicationJobInput, inventory?: InventorySnapshot): Promise<CheckedReplicaVm[]> {
  const inv = inventory ?? (await platform().inventory());
  const site = inv.sites.find((s) => s.externalId === input.targetSiteExternalId) ?? fail("The target site no longer exists: choose another.", "targetSiteExternalId");
  const host = inv.hosts.find((h) => h.externalId === input.targetHostExternalId && h.siteExternalId === site.externalId) ?? fail(`No host ${input.targetHostExternalId} at ${site.name}: choose a host of the target site.`, "targetHostExternalId");
  const siteProviders = inv.keyProviders.filter((k) => k.siteExternalId === site.externalId);
  let targetKp: PlatformKeyProvider | null = null;
  if (input.keyMode !== "unencrypted") {
    targetKp = siteProviders.find((k) => k.externalId === input.targetKeyProviderExternalId) ?? fail(`${site.name} has no key provider ${input.targetKeyProviderExternalId}: choose one of the target site.`, "targetKeyProviderExternalId");
  }
  const clusters = await kmsClusterOf();
  const checked: CheckedReplicaVm[] = [];
  const names = new Set<string>();
  for (const [i, v] of input.vms.entries()) {
    const at = (f: string) => `vms.${i}.${f}`;
    const vm = inv.vms.find((x) => x.externalId === v.vmExternalId) ?? fail(`The VM ${v.vmExternalId} no longer exists: remove it from the job.`, at("vmExternalId"));
    const key = `${v.folder}|${v.name}`;
    if (names.has(key)) fail(`Two replicas of this job would both be named ${v.name} in ${v.folder}.`, at("name"));
    names.add(key);
    if (targetKp && targetKp.tenantExternalId !== null && targetKp.tenantExternalId !== vm.tenantExternalId) {
      fail(`${targetKp.name} belongs to another tenant: the replica of ${vm.name} is never encrypted with another tenant's key provider. Choose a provider of ${vm.tenantExternalId ? "the VM's tenant" : "the site"}.`, "targetKeyProviderExternalId");
    }
    if (input.keyMode === "shared" && vm.encrypted) {
      const sourceKp = inv.keyProviders.find((k) => k.externalId === vm.keyProviderExternalId && k.siteExternalId === vm.siteExternalId);
      if (!sourceKp || !reaches(sourceKp, targetKp!, clusters)) {
        fail(`${site.name} cannot reach the key of ${vm.name} through ${targetKp!.name}: shared keys need both sites to reach the same KMS. Choose a new key at the target instead.`, "keyMode");
      }
    }
    if (input.keyMode === "unencrypted" && vm.encrypted && input.refuseUnencrypted) {
      fail(
        siteProviders.length === 0
          ? `${site.name} has no key provider, so the replica of ${vm.name} would be unencrypted, and this job refuses unencrypted replicas of encrypted VMs. Configure a key provider at the target first.`
          : `This job refuses unencrypted replicas of encrypted VMs, and ${vm.name} is encrypted: choose shared keys or a new key at the target.`,
        "refuseUnencrypted",
      );
    }
    const missing = vm.disks.find((d) => !v.disks.some((p) => p.deviceKey === d.deviceKey));
    if (missing) fail(`Choose where ${vm.name} / ${missing.label} goes at the target.`, at("disks"));
    const unknown = v.disks.find((p) => !vm.disks.some((d) => d.deviceKey === p.deviceKey));
    if (unknown) fail(`${vm.name} has no disk ${unknown.deviceKey}.`, at("disks"));
    const nicProblem = networkMappingProblems(vm.nics ?? [], v.networks, inv.networks, host.externalId, host.name)[0];
    if (nicProblem) fail(`${vm.name}: ${nicProblem.message}`, at("networks"));
    const placement = placementOf(input, v);
    const warnings: string[] = [];
    try {
      // The files the engine reads at the first run: only their presence matters to the rules.
      const files = { nvram: null, keyId: vm.keyId, keyProviderExternalId: vm.keyProviderExternalId, encryptionBundle: vm.encrypted ? "(checked at the run)" : null };
      planNewVm(replicaRequest(vm, files, placement, input.keyMode, (t) => warnings.push(t)), inv, "replica-check");
    } catch (e) {
      fail(`The replica of ${vm.name} cannot be created as chosen: ${e instanceof Error ? e.message : String(e)}.`, at("home"));
    }
    checked.push({ input: v, vm, placement, warnings });
  }
  return checked;
}

/** Registered KMS cluster per site|provider (VME-4): two sites sharing a cluster reach the same keys. */
export async function kmsClusterOf(): Promise<Map<string, string | null>> {
  const rows = await db.keyProvider.findMany({ select: { externalId: true, kmsClusterId: true, site: { select: { externalId: true } } } });
  return new Map(rows.map((r) => [`${r.site.externalId}|${r.externalId}`, r.kmsClusterId]));
}

export function reaches(source: PlatformKeyProvider, target: PlatformKeyProvider, clusters: Map<string, string | null>): boolean {
  if (source.siteExternalId === target.siteExternalId) return source.externalId === target.externalId;
  if (source.kind === "native" || target.kind === "native") return false; // a native key stays in its vCenter
  const a = clusters.get(`${source.siteExternalId}|${source.externalId}`);
  const b = clusters.get(`${target.siteExternalId}|${target.externalId}`);
  return !!a && a === b;
}
