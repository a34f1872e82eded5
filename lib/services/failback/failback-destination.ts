import "server-only";
import { db } from "@/lib/db/client";
import type { ReplicaKeyMode, ReplicaPlacement } from "@/lib/engine/pipeline/replicate-vm";
import { replicaRequest } from "@/lib/engine/pipeline/replicate-vm";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { planNewVm } from "@/lib/platform/create-vm-rules";
import type { FailbackDestinationInput } from "@/lib/schemas/failback";
import { failbackHosts, failoverHost } from "@/lib/services/inventory/platform";
import { failbackRefusal } from "@/lib/services/failover/failover-rules";

// Where a failback goes (FBK-1), checked against both sites before anything is queued — and again
// by the engine inside the job. Bad destinations are refused here with the reason in plain words:
// the original must still be at the production site with the replica's disks; a restored VM too;
// a new VM's host, datastores and policies obey the rules of a VM creation, and an encrypted
// result needs its home and encrypted disks on datastores under the VM Encryption Policy. Keys
// (REP-2): in re-key mode the result is under a production key provider, never the DR site's.

/** What the job is given (FailoverItem.destination). */
export type StoredFailbackDestination = { kind: "original"; vmExternalId: string } | { kind: "restored-vm"; vmExternalId: string } | { kind: "new-vm"; placement: ReplicaPlacement };

export interface FailbackDestinationPlan {
  replicaVmName: string;
  reasons: string[];
  destination: StoredFailbackDestination | null;
  /** Plain words: where the VM goes. */
  summary: string | null;
}

type ReplicaRow = NonNullable<Awaited<ReturnType<typeof loadReplica>>>;

function loadReplica(replicaId: string) {
  return db.replica.findUnique({ where: { id: replicaId }, include: { job: true } });
}

export async function planFailbackDestination(replicaId: string, input: FailbackDestinationInput): Promise<FailbackDestinationPlan> {
  const row = await loadReplica(replicaId);
  if (!row) return { replicaVmName: "(unknown replica)", reasons: ["This replica does not exist (its job may have been removed)."], destination: null, summary: null };
  const out: FailbackDestinationPlan = { replicaVmName: row.replicaVmName, reasons: [], destination: null, summary: null };
  const refusal = failbackRefusal("failback", row.state, row.replicaVmName);
  if (refusal) {
    out.reasons.push(refusal);
    return out;
  }
  const inv = await failoverHost().inventory();
  const replica = inv.vms.find((v) => v.externalId === row.replicaVmExternalId);
  if (!replica) {
    out.reasons.push(`The replica VM ${row.replicaVmName} is not at the DR site any more: there is nothing to fail back.`);
    return out;
  }
  if (!row.failoverPointId) out.reasons.push(`${row.replicaVmName} does not record the point it was failed over to: it cannot be failed back.`);
  const keyMode = row.keyMode as ReplicaKeyMode;
  if (input.kind === "original" || input.kind === "restored-vm") {
    const vmId = input.kind === "original" ? row.sourceVmExternalId : input.vmExternalId;
    const what = input.kind === "original" ? `The original VM ${row.sourceVmName}` : `The VM ${input.vmExternalId}`;
    const vm = inv.vms.find((v) => v.externalId === vmId);
    if (!vm) out.reasons.push(`${what} is not in the production site's inventory: ${input.kind === "original" ? "restore it first, or fail back to a new location" : "choose a VM that exists"}.`);
    else {
      checkExisting(vm, replica, keyMode, out.reasons);
      if (input.kind === "restored-vm" && vm.externalId === replica.externalId) out.reasons.push("Choose a VM of the production site, not the replica itself.");
    }
    if (!out.reasons.length) {
      out.destination = { kind: input.kind, vmExternalId: vmId };
      out.summary = input.kind === "original" ? `back to the original VM ${vm!.name}, shipping only the changes` : `to ${vm!.name}, the original restored elsewhere, writing only the blocks that differ`;
    }
    return out;
  }
  const placement = await newVmPlacement(row, replica, input, inv, out.reasons);
  if (placement && !out.reasons.length) {
    out.destination = { kind: "new-vm", placement };
    out.summary = `to a new VM ${placement.name} on ${inv.hosts.find((h) => h.externalId === placement.hostExternalId)?.name ?? placement.hostExternalId}, a full copy`;
  }
  return out;
}

/** An existing production VM (the original or a restored one) must match the replica and keep production's keys. */
function checkExisting(vm: PlatformVm, replica: PlatformVm, keyMode: ReplicaKeyMode, reasons: string[]): void {
  if (vm.siteExternalId === replica.siteExternalId) reasons.push(`${vm.name} is at the DR site, where the replica is: failback goes back to the production site.`);
  if (vm.disks.length !== replica.disks.length) reasons.push(`${vm.name} has ${vm.disks.length} disk(s), the replica ${replica.disks.length}: fail back to a new location instead.`);
  for (const d of replica.disks) {
    const od = vm.disks.find((x) => x.deviceKey === d.deviceKey);
    if (!od) reasons.push(`${vm.name} has no disk like ${d.label} of the replica: fail back to a new location instead.`);
    else if (od.capacityBytes !== d.capacityBytes) reasons.push(`${d.label} has a different size on ${vm.name} than on the replica (it was resized): fail back to a new location instead.`);
  }
  if (keyMode === "re-key" && vm.encrypted && vm.keyProviderExternalId === replica.keyProviderExternalId) reasons.push(`${vm.name} is encrypted with the DR site's key provider: a re-keyed failback must leave the DR site's keys behind.`);
  if (keyMode === "shared" && vm.encrypted && vm.keyId !== replica.keyId) reasons.push(`${vm.name} is not encrypted with the replica's (shared) key: check the replication job's key mode.`);
}

async function newVmPlacement(row: ReplicaRow, replica: PlatformVm, input: Extract<FailbackDestinationInput, { kind: "new-vm" }>, inv: InventorySnapshot, reasons: string[]): Promise<ReplicaPlacement | null> {
  const host = inv.hosts.find((h) => h.externalId === input.hostExternalId);
  if (!host) {
    reasons.push(`There is no host ${input.hostExternalId}: choose a host of the production site.`);
    return null;
  }
  if (host.siteExternalId === replica.siteExternalId) {
    reasons.push(`${host.name} is at the DR site, where the replica is: choose a host of the production site.`);
    return null;
  }
  const site = host.siteExternalId;
  const keyMode = row.keyMode as ReplicaKeyMode;
  const encrypted = keyMode !== "unencrypted" && replica.encrypted;
  const disks: ReplicaPlacement["disks"] = {};
  for (const d of replica.disks) {
    const p = input.disks.find((x) => x.deviceKey === d.deviceKey);
    if (!p) reasons.push(`Choose a datastore for ${d.label}.`);
    else disks[d.deviceKey] = { datastoreExternalId: p.datastoreExternalId, storagePolicyExternalId: p.storagePolicyExternalId };
  }
  // FBK-1: an encrypted result lives on datastores under the VM Encryption Policy.
  const underPolicy = (dsId: string) => inv.datastores.find((x) => x.externalId === dsId && x.siteExternalId === site)?.compatiblePolicyExternalIds.some((pid) => inv.storagePolicies.find((p) => p.externalId === pid)?.encryption) ?? false;
  const dsName = (dsId: string) => inv.datastores.find((x) => x.externalId === dsId)?.name ?? dsId;
  if (encrypted) {
    if (!underPolicy(input.home.datastoreExternalId)) reasons.push(`The VM home's datastore ${dsName(input.home.datastoreExternalId)} is not under the VM Encryption Policy: an encrypted VM must be placed on a datastore that policy covers.`);
    for (const d of replica.disks) {
      const p = disks[d.deviceKey];
      if (p && d.encrypted && !underPolicy(p.datastoreExternalId)) reasons.push(`${d.label}'s datastore ${dsName(p.datastoreExternalId)} is not under the VM Encryption Policy: an encrypted disk must be placed on a datastore that policy covers.`);
    }
  }
  let keyProviderExternalId: string | null = null;
  if (keyMode !== "unencrypted") {
    const original = inv.vms.find((v) => v.externalId === row.sourceVmExternalId);
    keyProviderExternalId = input.keyProviderExternalId ?? (original?.siteExternalId === site ? original.keyProviderExternalId : null) ?? null;
    const kp = inv.keyProviders.find((k) => k.externalId === keyProviderExternalId);
    if (!keyProviderExternalId) reasons.push("Choose the production key provider the new VM's key comes from.");
    else if (!kp || kp.siteExternalId !== site) reasons.push(`${kp?.name ?? keyProviderExternalId} is not a key provider of ${host.name}'s site: choose one of the production site.`);
    else if (keyMode === "re-key" && keyProviderExternalId === replica.keyProviderExternalId) reasons.push(`${kp.name} is the DR site's key provider: a re-keyed failback takes the new VM's key from the production site's provider.`);
  }
  if (reasons.length) return null;
  const placement: ReplicaPlacement = { siteExternalId: site, hostExternalId: host.externalId, name: input.name, folder: input.folder, home: input.home, disks, keyProviderExternalId };
  try {
    const files = await failbackHosts().replica.vmFiles(replica.externalId);
    const request = replicaRequest(replica, files, placement, keyMode, () => undefined);
    // As the engine does: a MAC still used at the production site (the original exists) is not kept.
    const inUse = new Set(inv.vms.filter((v) => v.siteExternalId === site).flatMap((v) => (v.nics ?? []).map((n) => n.macAddress)));
    request.nics = (request.nics ?? []).map(({ macAddress, ...rest }) => (macAddress && !inUse.has(macAddress) ? { ...rest, macAddress } : rest));
    planNewVm(request, inv, "failback-preview");
  } catch (e) {
    reasons.push(`The new VM cannot be made there: ${e instanceof Error ? e.message : String(e)}.`);
    return null;
  }
  return placement;
}
