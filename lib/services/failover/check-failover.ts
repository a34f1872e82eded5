import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { parseInput } from "@/lib/errors/parse-input";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { HostError } from "@/lib/platform/errors";
import type { NetworkChoice } from "@/lib/platform/network-mapping";
import { checkFailoverSchema } from "@/lib/schemas/failover";
import type { ReplicaVmInput } from "@/lib/schemas/replication";
import { failoverHost } from "@/lib/services/inventory/platform";
import { failoverRefusal } from "./failover-rules";

// The pre-failover check (FOV-1), per replica and chosen point, before anything happens — and
// again inside the failover job: the replica and its point exist at the DR site; the DR site
// reaches the replica's key provider and the keys of the point unlock (the key provider itself is
// asked for each key id, past any cache); a vTPM is there where the source had one; the encrypted
// replica's home and disks sit on VM Encryption Policy datastores under an encryption policy; the
// job's network mapping still fits the replica's host. The result is go / no-go with the reasons
// in plain words; notes say what will happen (newer points lost, networks, keys).

export interface FailoverCheckResult {
  replicaId: string;
  replicaVmName: string;
  sourceVmName: string;
  point: { id: string; snapshotId: string; createdAt: string } | null;
  go: boolean;
  reasons: string[];
  notes: string[];
}

/** What the failover job needs besides the verdict. */
export interface FailoverPlan extends FailoverCheckResult {
  replicaVmExternalId: string | null;
  networks: NetworkChoice[];
  /** Points (snapshot ids) newer than the chosen one: the revert removes them. */
  newerSnapshotIds: string[];
}

/** The check for each replica asked (authorized: whoever may fail over). */
export async function checkFailover(actor: Actor, raw: unknown): Promise<FailoverCheckResult[]> {
  authorize(actor, "failover:run");
  const { replicas } = parseInput(checkFailoverSchema, raw);
  const inventory = await failoverHost().inventory();
  const out: FailoverCheckResult[] = [];
  for (const r of replicas) {
    const { replicaVmExternalId: _v, networks: _n, newerSnapshotIds: _s, ...result } = await planFailover(r.replicaId, r.pointId, inventory);
    out.push(result);
  }
  return out;
}

/** The check of one replica (no actor: the services authorize, the job runs it again). */
export async function planFailover(replicaId: string, pointId: string | undefined, inventory?: InventorySnapshot): Promise<FailoverPlan> {
  const row = await db.replica.findUnique({ where: { id: replicaId }, include: { job: true, points: { orderBy: { createdAt: "asc" } } } });
  if (!row) {
    return { replicaId, replicaVmName: "(unknown replica)", sourceVmName: "", point: null, go: false, reasons: ["This replica does not exist (its job may have been removed)."], notes: [], replicaVmExternalId: null, networks: [], newerSnapshotIds: [] };
  }
  const reasons: string[] = [];
  const notes: string[] = [];
  const name = row.replicaVmName;
  const refusal = failoverRefusal("failover", row.state, name);
  if (refusal) reasons.push(refusal);
  const chosen = pointId ? row.points.find((p) => p.id === pointId) : row.points[row.points.length - 1];
  const plan: FailoverPlan = {
    replicaId,
    replicaVmName: name,
    sourceVmName: row.sourceVmName,
    point: chosen ? { id: chosen.id, snapshotId: chosen.snapshotId, createdAt: chosen.createdAt.toISOString() } : null,
    go: false,
    reasons,
    notes,
    replicaVmExternalId: row.replicaVmExternalId,
    networks: [],
    newerSnapshotIds: [],
  };
  if (!row.replicaVmExternalId || row.points.length === 0) {
    reasons.push(`${name} has no replica point yet: run its replication job first.`);
    return plan;
  }
  if (!chosen) {
    reasons.push(`The chosen point no longer exists on ${name} (a later run may have removed it): choose another point.`);
    return plan;
  }
  const host = failoverHost();
  const inv = inventory ?? (await host.inventory());
  const vm = inv.vms.find((v) => v.externalId === row.replicaVmExternalId);
  if (!vm) {
    reasons.push(`The replica VM ${name} no longer exists at the DR site: run its replication job again to make a new replica.`);
    return plan;
  }
  const onPlatform = await host.listSnapshots(vm.externalId).catch(() => null);
  if (!onPlatform) reasons.push(`The DR site does not answer for ${name}'s points: check the DR vCenter and try again.`);
  else if (!onPlatform.some((p) => p.id === chosen.snapshotId)) reasons.push(`${name} no longer has the point of ${chosen.createdAt.toISOString()} at the DR site: choose another point.`);
  const newer = row.points.filter((p) => p.createdAt > chosen.createdAt);
  plan.newerSnapshotIds = newer.map((p) => p.snapshotId);
  if (newer.length) notes.push(`${newer.length} newer point(s) of ${name} are removed: failing over to an older point goes back along the chain.`);
  if (vm.powerState !== "poweredOff" && row.state === "Ready") reasons.push(`${name} is powered on at the DR site although it is not failed over: power it off (its point is kept) and check again.`);

  await checkKeys(vm, chosen.keyIds, inv, reasons, notes);
  if (!vm.encrypted && row.sourceEncrypted) notes.push(`${name} is unencrypted although ${row.sourceVmName} is encrypted: the job replicates without encryption, so no key is needed.`);
  checkVtpm(vm, inv.vms.find((v) => v.externalId === row.sourceVmExternalId), row.sourceVmName, reasons, notes);
  checkPolicies(vm, inv, reasons);

  const placements = JSON.parse(row.job.placements) as Record<string, ReplicaVmInput>;
  plan.networks = checkNetworks(vm, placements[row.sourceVmExternalId]?.networks ?? [], inv, reasons, notes);
  plan.go = reasons.length === 0;
  return plan;
}

/** The DR site reaches the replica's key provider and each key of the point unlocks (asked of the provider itself). */
async function checkKeys(vm: PlatformVm, pointKeyIds: string, inv: InventorySnapshot, reasons: string[], notes: string[]): Promise<void> {
  if (!vm.encrypted) return;
  const kp = inv.keyProviders.find((k) => k.externalId === vm.keyProviderExternalId && k.siteExternalId === vm.siteExternalId);
  if (!kp) {
    reasons.push(`${vm.name} is encrypted with key provider ${vm.keyProviderExternalId ?? "(none)"}, which the DR site does not have: the replica cannot be unlocked there.`);
    return;
  }
  const keyIds = [...new Set([vm.keyId, ...(JSON.parse(pointKeyIds) as string[])].filter((k): k is string => !!k))];
  for (const keyId of keyIds) {
    let answer;
    try {
      answer = await failoverHost().checkKey({ siteExternalId: vm.siteExternalId, keyProviderExternalId: kp.externalId, keyId });
    } catch (e) {
      reasons.push(`The DR site could not ask ${kp.name} for key ${keyId}: ${e instanceof HostError ? e.message : "the platform did not answer"}.`);
      return;
    }
    if (answer.ok) continue;
    if (answer.reason === "unreachable") {
      reasons.push(`The DR site cannot reach key provider ${kp.name} (${answer.message}): the replica could not be unlocked and would not power on. Repair its KMS connection under Key providers, then check again.`);
      return;
    }
    if (answer.reason === "key-not-found") reasons.push(`Key provider ${kp.name} does not hold key ${keyId}, which ${vm.name} is encrypted with at this point: the replica cannot be unlocked. Ask the KMS administrator to restore the key, or choose another point.`);
    else reasons.push(`Key provider ${kp.name} refused the DR site's request for key ${keyId} (${answer.message}): ask the KMS administrator to grant the DR site access.`);
  }
  if (keyIds.length && !reasons.some((r) => r.includes(kp.name))) notes.push(`Keys unlock: ${kp.name} answered for ${keyIds.length === 1 ? `key ${keyIds[0]}` : `keys ${keyIds.join(", ")}`}.`);
}

/** A vTPM where the source had one (its sealed secrets, BitLocker's keys, live in it). */
function checkVtpm(vm: PlatformVm, source: PlatformVm | undefined, sourceName: string, reasons: string[], notes: string[]): void {
  if (vm.vtpm && !vm.encrypted) reasons.push(`${vm.name} has a vTPM but is not encrypted: a vTPM needs an encrypted VM, so it would not power on.`);
  if (!source) {
    notes.push(`${sourceName} is not in the inventory (the production site may be down): the vTPM check looks at the replica only${vm.vtpm ? " (it has a vTPM)" : ""}.`);
    return;
  }
  if (source.vtpm && !vm.vtpm) reasons.push(`${sourceName} has a vTPM and ${vm.name} has none: secrets the guest sealed in it (BitLocker, credentials) would not open. Replicate the VM again with its vTPM.`);
}

/** An encrypted replica's home and encrypted disks under the VM Encryption Policy (INV-3, REP-3). */
function checkPolicies(vm: PlatformVm, inv: InventorySnapshot, reasons: string[]): void {
  if (!vm.encrypted) return;
  const policy = (id: string) => inv.storagePolicies.find((p) => p.externalId === id);
  const ds = (id: string) => inv.datastores.find((d) => d.externalId === id);
  const compliant = (dsId: string, policyId: string) => !!policy(policyId)?.encryption && !!ds(dsId)?.compatiblePolicyExternalIds.includes(policyId);
  const where = (dsId: string, policyId: string) => `${ds(dsId)?.name ?? dsId} under ${policy(policyId)?.name ?? policyId}`;
  if (!compliant(vm.homeDatastoreExternalId, vm.homeStoragePolicyExternalId)) reasons.push(`${vm.name}'s VM home is on ${where(vm.homeDatastoreExternalId, vm.homeStoragePolicyExternalId)}, not on a VM Encryption Policy datastore: an encrypted VM must be there to power on encrypted.`);
  for (const d of vm.disks) {
    if (d.encrypted && !compliant(d.datastoreExternalId, d.storagePolicyExternalId)) reasons.push(`${vm.name} / ${d.label} is encrypted but on ${where(d.datastoreExternalId, d.storagePolicyExternalId)}, not on a VM Encryption Policy datastore.`);
  }
}

/** The job's network mapping applied to the replica's adapters; a network its host lacks is a no-go. */
function checkNetworks(vm: PlatformVm, mapping: NetworkChoice[], inv: InventorySnapshot, reasons: string[], notes: string[]): NetworkChoice[] {
  const out: NetworkChoice[] = [];
  const said: string[] = [];
  for (const nic of vm.nics ?? []) {
    const c = mapping.find((m) => m.nicDeviceKey === nic.deviceKey);
    const networkExternalId = c?.networkExternalId ?? null;
    if (networkExternalId === null) {
      out.push({ nicDeviceKey: nic.deviceKey, networkExternalId: null });
      said.push(`${nic.label} stays disconnected`);
      continue;
    }
    const net = inv.networks.find((n) => n.externalId === networkExternalId && n.siteExternalId === vm.siteExternalId);
    if (!net || !net.hostExternalIds.includes(vm.hostExternalId)) {
      reasons.push(`${vm.name} / ${nic.label}: the job maps it to a network the replica's host does not have (${net?.name ?? networkExternalId}): change the job's network mapping.`);
      continue;
    }
    out.push({ nicDeviceKey: nic.deviceKey, networkExternalId });
    said.push(`${nic.label} on ${net.name}`);
  }
  if (said.length) notes.push(`Networks: ${said.join("; ")}.`);
  return out;
}
