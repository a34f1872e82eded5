// Failback of one replica in failover back to the production site (FBK-1, REP-2, VME-1…3, TRN-6).
//
// The replica is the block source: its disks are read through a snapshot of it at the DR site
// (openDiskForBackup, so a running failed-over VM gives a consistent image); the replica is never
// written, reverted or reconfigured by failback — only that read snapshot is taken and released.
// The destination is written through the production site's restore host (openDiskForWrite).
//
//   original VM   only blocks that differ can be shipped: those the replica changed since the
//                 failover point (queryChangedAreas on the replica since the point's change id: the
//                 failed-over VM's writes) ∪ those the original changed since the state that point
//                 replicated (queryChangedAreas on the original since its change ids of that run:
//                 writes made there after the last replication, or before the disaster). Both sets
//                 are read from the replica and written with zeros included, so the original ends
//                 bit for bit the replica. The original is powered off first. A change id CBT no
//                 longer knows (FileFault) ships every block of that disk, and says so.
//   restored VM   the original restored in another location (e.g. from a backup): an existing VM
//                 of the production site with the replica's disks but no CBT history in common,
//                 so both are read over every block either holds and only the blocks that differ
//                 are written (zeros included) — a comparison instead of change tracking.
//   new VM        (a new location) a full copy into a VM created at the production site: the
//                 replica's written areas, all-zero blocks skipped. Placement follows create-vm-rules.ts, checked before anything happens:
//                 an encrypted result needs its home and disks on datastores under the VM
//                 Encryption Policy (FBK-1).
//
// Keys (REP-2): "re-key" — the result is under the production site's key provider, never the DR
// site's: the original keeps its own key (checked), a new VM gets a new key from the production
// provider named in the placement (the DR provider is refused). "shared" — the source's key id:
// the original's is checked to be the replica's (the common key), a new VM is registered with the
// replica's keyId and encryption.bundle (the source's) at a production provider that reaches that
// key. "unencrypted" — the replica was made without keys (REP-4); a new VM is unencrypted.
//
// Cut off (stop signal, a write error, the process killed): a new VM is deleted; the original (or
// the restored VM) is left powered off and part-written — it is not production until a failback completes, and the
// next attempt repairs it: the original's CBT records the cut-off attempt's writes, so its changes
// since the replicated state now include them, and the union is shipped again from the replica
// (a restored VM is compared again).
// The original's state before the attempt is not kept (it was the stale pre-failover image).
//
// After a completed failback to the original, replication can resume from it with the state passed
// as `changeIds` — the run that made the failover point (its ReplicaState, pointId = that point,
// which a failover's revert leaves the newest): the next run reverts the replica to that point and
// ships the original's CBT changes since those ids, which cover every block where the original now
// differs from it. After a failback to a restored or new VM there is no common CBT history:
// replication starts that VM afresh.

import type { VmBackupHost, VmFiles } from "../../platform/backup-host";
import type { InventorySnapshot, PlatformVm, TransportMode, VmRuntime } from "../../platform/connector";
import { planNewVm } from "../../platform/create-vm-rules";
import type { DiskArea, DiskWriter } from "../../platform/disk-io";
import { HostError } from "../../platform/errors";
import type { ReplicaSnapshot, VmReplicaHost } from "../../platform/replica-host";
import type { CreateVmRequest, VmRestoreHost } from "../../platform/restore-host";
import { blocksOfAreas } from "./backup-disk";
import type { ProxyTaskGate } from "./events";
import { formatRejection, type CandidateProxy, type SelectionDisk, type SelectionOptions } from "./proxy-selection";
import { claimProxy, type ClaimedProxy, type ClaimProxyOptions } from "./proxy-slots";
import { replicaRequest, type ReplicaKeyMode, type ReplicaPlacement } from "./replicate-vm";
import { bytesOfBlocks, shipBlocks, type ShipStats } from "./ship-blocks";

const MiB = 1024 * 1024;

/** The DR site as failback reads it: the replica's snapshot, its points, its files. */
export type FailbackReplicaHost = VmBackupHost & Pick<VmReplicaHost, "listSnapshots"> & { vmFiles(vmExternalId: string): Promise<VmFiles> };

/** The production site as failback writes it. */
export type FailbackDestinationHost = VmBackupHost &
  VmRestoreHost & {
    inventory(): Promise<InventorySnapshot>;
    vmRuntime(vmExternalId: string): Promise<VmRuntime>;
    powerOff(vmExternalId: string): Promise<VmRuntime>;
  };

export type FailbackDestination =
  /** The original VM, changes only. */
  | {
      kind: "original";
      vm: PlatformVm;
      /**
       * The original's disks' change ids as the replication run that made the failover point
       * read them (that run's ReplicaState.disks); null: not known — every block is shipped.
       */
      changeIds: Array<{ deviceKey: number; changeId: string }> | null;
    }
  /**
   * The original restored in another location (an existing VM of the production site, e.g. restored
   * from a backup, with the replica's disks): compared block by block, only differing blocks written.
   */
  | { kind: "restored-vm"; vm: PlatformVm }
  /** A new VM at the production site (a new location), a full copy. */
  | { kind: "new-vm"; placement: ReplicaPlacement };

export type FailbackEvent =
  | { type: "original-powered-off"; vmExternalId: string; text: string }
  | { type: "vm-created"; vmExternalId: string; text: string }
  | { type: "changes-found"; vmExternalId: string; deviceKey: number; replicaBlocks: number; originalBlocks: number | null; blocksToShip: number; text: string }
  | { type: "compared"; vmExternalId: string; deviceKey: number; blocksCompared: number; blocksToShip: number; text: string }
  | { type: "disk-planned"; side: "replica" | "destination"; vmExternalId: string; deviceKey: number; proxyExternalId: string; proxyName: string; mode: TransportMode; reason: string; rejected: string[]; text: string }
  | { type: "task-start"; vmExternalId: string; deviceKey: number; proxyExternalId: string; slot: number; text: string }
  | { type: "task-end"; vmExternalId: string; deviceKey: number; proxyExternalId: string; slot: number; text: string }
  | { type: "waiting"; vmExternalId: string; deviceKey: number; text: string }
  | { type: "disk-progress"; vmExternalId: string; deviceKey: number; bytesToRead: number; bytesRead: number; bytesWritten: number; done: boolean; text: string }
  | { type: "disk-done"; vmExternalId: string; deviceKey: number; changesOnly: boolean; blocksShipped: number; bytesRead: number; bytesWritten: number; zeroBlocksSkipped: number; text: string }
  | { type: "check"; vmExternalId: string; ok: boolean; text: string }
  | { type: "warning"; vmExternalId: string | null; text: string }
  | { type: "done"; vmExternalId: string | null; status: "success" | "warning" | "failed"; blocksShipped: number; error: string | null; text: string };

export interface FailbackVmOptions {
  replicaHost: FailbackReplicaHost;
  /** The replica VM in failover (at the DR site). */
  replicaVm: PlatformVm;
  /** The replica point the VM failed over to: its per-disk change ids mark where the failover's writes begin. */
  failoverPoint: ReplicaSnapshot;
  destinationHost: FailbackDestinationHost;
  destination: FailbackDestination;
  /** The replication job's key mode (REP-2): what the failed-back VM is keyed with. */
  keyMode: ReplicaKeyMode;
  replicaProxies: readonly CandidateProxy[];
  destinationProxies: readonly CandidateProxy[];
  replicaSelection: SelectionOptions;
  destinationSelection: SelectionOptions;
  /** Proxy task slots across workers (TRN-6), at both ends; without it the counts in the lists are used. */
  tasks?: ProxyTaskGate;
  /** "nbdssl-only" (default): the destination writer is NBDSSL, the TLS hop between the sites (TRN-7). */
  destinationTransport?: "nbdssl-only" | "any";
  /** Bytes per block; default 1 MiB. */
  blockSize?: number;
  /** Writes in flight per disk; default 4. */
  inFlight?: number;
  /** Called once a new VM exists, before any byte is written to it. */
  onVmCreated?: (vm: PlatformVm) => Promise<void> | void;
  onEvent?: (e: FailbackEvent) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  busyWaitMs?: number;
  now?: () => number;
}

export interface FailedBackDisk {
  deviceKey: number;
  /** True: only changed (or differing) blocks were shipped; false: a full copy, or every block after a CBT reset. */
  changesOnly: boolean;
  /** Restored VM: blocks read on both sides and compared (null otherwise). */
  comparedBlocks: number | null;
  /** Blocks the replica changed since the failover point (null for a full copy). */
  replicaChangedBlocks: number | null;
  /** Blocks the original changed since the replicated state (null: not asked, or CBT did not know the id). */
  originalChangedBlocks: number | null;
  /** Blocks written to the destination. */
  blocksShipped: number;
  replicaMode: TransportMode;
  destinationMode: TransportMode;
  bytesRead: number;
  bytesWritten: number;
  zeroBlocksSkipped: number;
  durationMs: number;
}

export interface FailbackResult {
  status: "success" | "warning" | "failed";
  /** The VM that now holds the replica's data (the original, or the new VM); null when a new VM failed. */
  vmExternalId: string | null;
  keyProviderExternalId: string | null;
  keyId: string | null;
  disks: FailedBackDisk[];
  /** Blocks written over every disk. */
  blocksShipped: number;
  /** The replica disks' change ids at the snapshot read (what the destination now equals). */
  replicaChangeIds: Array<{ deviceKey: number; changeId: string }>;
  warnings: string[];
  error: string | null;
  /** A failed failback to the original may simply be run again (see the head of this file). */
  restartable: boolean;
}

/** Bad options: refused before anything is touched. */
export class FailbackRefusedError extends Error {}

export async function failbackVm(o: FailbackVmOptions): Promise<FailbackResult> {
  const emit = (e: FailbackEvent) => o.onEvent?.(e);
  const warnings: string[] = [];
  const warn = (vmId: string | null, text: string) => {
    warnings.push(text);
    emit({ type: "warning", vmExternalId: vmId, text });
  };
  const replica = o.replicaVm;
  const result: FailbackResult = { status: "success", vmExternalId: null, keyProviderExternalId: null, keyId: null, disks: [], blocksShipped: 0, replicaChangeIds: [], warnings, error: null, restartable: true };
  let created: PlatformVm | null = null;
  let replicaSnapshotTaken = false;
  let touched = false;
  try {
    // ── everything checked before anything is touched ──
    const plan = await planFailback(o, (t) => warn(replica.externalId, t));
    o.signal?.throwIfAborted();

    touched = true;
    let destinationId: string;
    if (plan.kind !== "new-vm") {
      destinationId = plan.vm.externalId;
      const rt = await o.destinationHost.vmRuntime(destinationId);
      if (rt.powerState !== "poweredOff") {
        await o.destinationHost.powerOff(destinationId);
        emit({ type: "original-powered-off", vmExternalId: destinationId, text: `${plan.vm.name} powered off: the failed-over VM's data is written over it` });
      }
    } else {
      created = await o.destinationHost.createVm(plan.request);
      destinationId = created.externalId;
      await o.onVmCreated?.(created);
      emit({ type: "vm-created", vmExternalId: destinationId, text: `Created ${created.name} (${destinationId}) on ${plan.request.hostExternalId}${created.encrypted ? `, encrypted with key ${created.keyId} of ${created.keyProviderExternalId}` : ", unencrypted"}` });
    }
    result.vmExternalId = destinationId;
    const dest = await o.destinationHost.vmRuntime(destinationId);
    result.keyProviderExternalId = dest.keyProviderExternalId;
    result.keyId = dest.keyId;
    checkKeys(o, plan, dest, (ok, text) => emit({ type: "check", vmExternalId: destinationId, ok, text }));

    // The original's own changes since the replicated state, asked for once (one snapshot of it).
    const originalChanges = plan.kind === "original" ? await originalChangedAreas(o, plan.vm, plan.changeIds, (t) => warn(destinationId, t)) : null;
    // A restored VM: the blocks that differ from the replica, found by reading both (the replica's
    // snapshot taken here is the one the copy reads).
    replicaSnapshotTaken = true;
    const differing = plan.kind === "restored-vm" ? await differingBlocks(o, plan.vm, plan.blockSize) : null;

    // ── the disks, in parallel; one failing stops the others ──
    const blockSize = plan.blockSize;
    const stop = new AbortController();
    const onAbort = () => stop.abort(o.signal!.reason);
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    const copies = replica.disks.map(async (d) => {
      const dd = dest.disks.find((x) => x.deviceKey === d.deviceKey)!;
      const r = await failbackDisk(o, {
        deviceKey: d.deviceKey,
        label: `${replica.name} / ${d.label}`,
        replicaDisk: { label: `${replica.name} / ${d.label}`, encrypted: d.encrypted, keyProviderExternalId: d.encrypted ? replica.keyProviderExternalId : null, siteExternalId: replica.siteExternalId, tenantExternalId: replica.tenantExternalId },
        destinationDisk: { label: `${plan.destinationName} / ${d.label}`, encrypted: dd.encrypted, keyProviderExternalId: dd.encrypted ? dest.keyProviderExternalId : null, siteExternalId: plan.siteExternalId, tenantExternalId: replica.tenantExternalId },
        destinationId,
        sinceReplicaChangeId: plan.kind === "original" ? plan.pointChangeIds.get(d.deviceKey)! : null,
        originalAreas: originalChanges ? originalChanges.get(d.deviceKey)! : null,
        differing: differing ? differing.get(d.deviceKey)! : null,
        blockSize,
        signal: stop.signal,
        warn: (t) => warn(destinationId, t),
      }).catch((e: unknown) => {
        stop.abort(e);
        throw e;
      });
      result.replicaChangeIds.push({ deviceKey: d.deviceKey, changeId: r.changeId });
      result.disks.push(r.disk);
    });
    const settled = await Promise.allSettled(copies);
    o.signal?.removeEventListener("abort", onAbort);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    await o.replicaHost.releaseSnapshot(replica.externalId);
    replicaSnapshotTaken = false;
    o.signal?.throwIfAborted();

    result.disks.sort((a, b) => a.deviceKey - b.deviceKey);
    result.replicaChangeIds.sort((a, b) => a.deviceKey - b.deviceKey);
    result.blocksShipped = result.disks.reduce((s, d) => s + d.blocksShipped, 0);
    if (warnings.length) result.status = "warning";
    emit({ type: "done", vmExternalId: destinationId, status: result.status, blocksShipped: result.blocksShipped, error: null, text: `${replica.name} failed back to ${plan.destinationName}: ${result.blocksShipped} blocks shipped` });
    return result;
  } catch (e) {
    result.status = "failed";
    result.restartable = !(e instanceof FailbackRefusedError);
    result.error = o.signal?.aborted ? "stopped by request" : messageOf(e);
    result.blocksShipped = result.disks.reduce((s, d) => s + d.blocksShipped, 0);
    if (replicaSnapshotTaken) await o.replicaHost.releaseSnapshot(replica.externalId).catch((err: unknown) => warn(replica.externalId, `the read snapshot of ${replica.name} could not be removed: ${messageOf(err)}`));
    if (created) {
      const vm = created;
      await o.destinationHost.deleteVm(vm.externalId).then(
        () => (result.vmExternalId = null),
        (err: unknown) => warn(vm.externalId, `the half-made VM ${vm.name} could not be deleted: ${messageOf(err)}; delete it before trying again`),
      );
    }
    const original = o.destination.kind !== "new-vm" ? o.destination.vm : null;
    const after = !touched
      ? "nothing was changed"
      : original
        ? `${original.name} is powered off and only part-written: do not power it on; fail back again (the changes are shipped again) or undo the failback`
        : "the half-made VM is removed; the replica is as it was";
    emit({ type: "done", vmExternalId: result.vmExternalId, status: "failed", blocksShipped: result.blocksShipped, error: result.error, text: `${replica.name}: failback failed: ${result.error}; ${after}` });
    return result;
  }
}

type Plan =
  | { kind: "original" | "restored-vm"; vm: PlatformVm; changeIds: Map<number, string> | null; pointChangeIds: Map<number, string>; blockSize: number; siteExternalId: string; destinationName: string }
  | { kind: "new-vm"; request: CreateVmRequest; blockSize: number; siteExternalId: string; destinationName: string };

/** Validates the options against the two sites as they are now; reads only. */
async function planFailback(o: FailbackVmOptions, warn: (text: string) => void): Promise<Plan> {
  const refuse = (text: string): never => {
    throw new FailbackRefusedError(text);
  };
  const replica = o.replicaVm;
  const blockSize = o.blockSize ?? MiB;
  if (!(Number.isInteger(blockSize) && blockSize > 0 && blockSize % 512 === 0)) refuse("block size must be a positive multiple of 512");
  if (!["shared", "re-key", "unencrypted"].includes(o.keyMode)) refuse(`unknown key mode ${String(o.keyMode)}: use shared, re-key or unencrypted`);
  if (o.keyMode === "unencrypted" && replica.encrypted) refuse(`${replica.name} is encrypted: fail it back with the job's key mode (shared or re-key), not unencrypted`);

  const points = await o.replicaHost.listSnapshots(replica.externalId);
  if (!points.some((p) => p.id === o.failoverPoint.id)) refuse(`${replica.name} has no replica point ${o.failoverPoint.id}: it is not in failover to that point`);
  const pointChangeIds = new Map(o.failoverPoint.disks.map((d) => [d.deviceKey, d.changeId]));
  for (const d of replica.disks) if (!pointChangeIds.get(d.deviceKey)) refuse(`the failover point ${o.failoverPoint.id} has no change id for ${replica.name} / ${d.label}`);

  const inventory = await o.destinationHost.inventory();
  if (o.destination.kind !== "new-vm") {
    const dst = o.destination;
    const what = dst.kind === "original" ? "the original VM" : "the restored VM";
    const vm = inventory.vms.find((v) => v.externalId === dst.vm.externalId);
    if (!vm) refuse(`${what} ${dst.vm.name} (${dst.vm.externalId}) is not on the production site: fail back to a new location instead`);
    const original = vm!;
    if (original.siteExternalId === replica.siteExternalId) refuse(`${original.name} is at the replica's own site: failback goes back to the production site`);
    for (const d of replica.disks) {
      const od = original.disks.find((x) => x.deviceKey === d.deviceKey);
      if (!od) refuse(`${original.name} has no disk ${d.deviceKey} (${d.label}): its disks no longer match the replica; fail back to a new location instead`);
      if (od!.capacityBytes !== d.capacityBytes) refuse(`${d.label} is ${d.capacityBytes} bytes on the replica and ${od!.capacityBytes} on ${original.name}: the disk was resized; fail back to a new location instead`);
    }
    if (original.disks.length !== replica.disks.length) refuse(`${original.name} has ${original.disks.length} disks, the replica ${replica.disks.length}: fail back to a new location instead`);
    let changeIds: Map<number, string> | null = null;
    if (dst.kind === "restored-vm") {
      // compared block by block: no change ids
    } else if (dst.changeIds !== null) {
      if (!Array.isArray(dst.changeIds)) refuse("the original's change ids must be a list (or null when not known)");
      changeIds = new Map(dst.changeIds.map((d) => [d.deviceKey, d.changeId]));
      for (const d of replica.disks) if (typeof changeIds.get(d.deviceKey) !== "string" || !changeIds.get(d.deviceKey)) refuse(`no change id of ${original.name} / ${d.label} at the replicated state: pass every disk's, or none`);
    } else warn(`the original's change ids at the replicated state are not known: every block of ${original.name} is written from the replica`);
    // Key plan (REP-2): the original keeps its keys; they must be the production site's.
    if (o.keyMode === "re-key" && original.encrypted && original.keyProviderExternalId === replica.keyProviderExternalId) {
      refuse(`${original.name} is under ${original.keyProviderExternalId}, the replica's (DR) key provider: re-key failback keeps the DR site's keys off production`);
    }
    if (o.keyMode === "shared" && original.encrypted && original.keyId !== replica.keyId) {
      refuse(`${original.name}'s key id ${original.keyId} is not the replica's ${replica.keyId}: with shared keys both are the source's key; check the job's key mode`);
    }
    if (replica.encrypted && !original.encrypted) warn(`${original.name} is not encrypted: the failed-over VM's data comes back unencrypted`);
    return { kind: dst.kind, vm: original, changeIds, pointChangeIds, blockSize, siteExternalId: original.siteExternalId, destinationName: original.name };
  }

  const placement = o.destination.placement;
  if (placement.siteExternalId === replica.siteExternalId) refuse(`the new location is at the replica's own site: failback goes back to the production site`);
  for (const d of replica.disks) if (!placement.disks[d.deviceKey]) refuse(`no datastore chosen for ${replica.name} / ${d.label}`);
  const kp = placement.keyProviderExternalId;
  if (o.keyMode !== "unencrypted") {
    if (!kp) refuse(o.keyMode === "re-key" ? "re-key failback needs a key provider of the production site for the new VM's key" : "shared keys need the production site's key provider that reaches the source's key");
    const provider = inventory.keyProviders.find((k) => k.externalId === kp);
    if (!provider || provider.siteExternalId !== placement.siteExternalId) refuse(`${kp} is not a key provider of the production site ${placement.siteExternalId}`);
    if (o.keyMode === "re-key" && kp === replica.keyProviderExternalId) refuse(`${kp} is the replica's (DR) key provider: re-key failback takes the new VM's key from the production site's provider`);
  }
  const files = await o.replicaHost.vmFiles(replica.externalId);
  let request: CreateVmRequest;
  try {
    request = replicaRequest(replica, files, placement, o.keyMode, () => undefined);
  } catch (e) {
    return refuse(`the new VM cannot be planned: ${messageOf(e)}`);
  }
  if (o.keyMode === "re-key" && replica.vtpm) warn(`${replica.name} has a vTPM: the new VM gets a new vTPM under the production key; what the guest sealed in the replica's vTPM does not carry over in re-key mode`);
  // The replica kept the source's MACs; a VM of the production site that still has one keeps it.
  const inUse = new Set(inventory.vms.filter((v) => v.siteExternalId === placement.siteExternalId).flatMap((v) => (v.nics ?? []).map((n) => n.macAddress)));
  request.nics = (request.nics ?? []).map((n) => {
    if (!n.macAddress || !inUse.has(n.macAddress)) return n;
    warn(`${n.label}: MAC ${n.macAddress} is in use at the production site (the original still exists?): the new VM gets a new one`);
    const { macAddress: _m, ...rest } = n;
    return rest;
  });
  // FBK-1 with the placement rules a VM creation obeys (create-vm-rules.ts): an encrypted result only on datastores under the VM Encryption Policy.
  try {
    planNewVm(request, inventory, "failback-preview");
  } catch (e) {
    refuse(`the new location is refused: ${messageOf(e)}`);
  }
  return { kind: "new-vm", request, blockSize, siteExternalId: placement.siteExternalId, destinationName: placement.name };
}

/** After the destination exists (or was powered off): is it keyed as the key plan says? */
function checkKeys(o: FailbackVmOptions, plan: Plan, dest: VmRuntime, check: (ok: boolean, text: string) => void): void {
  const replica = o.replicaVm;
  const checks: Array<[boolean, string]> = [];
  if (o.keyMode === "re-key" && dest.encrypted) {
    const drKey = dest.keyProviderExternalId === replica.keyProviderExternalId || dest.keyId === replica.keyId;
    checks.push([!drKey, drKey ? `The failed-back VM holds the DR site's key (${dest.keyId} of ${dest.keyProviderExternalId}): re-key failback must not` : `Re-key: the failed-back VM is under the production key ${dest.keyId} of ${dest.keyProviderExternalId}, not the DR site's`]);
  }
  if (o.keyMode === "shared" && dest.encrypted) checks.push([dest.keyId === replica.keyId, dest.keyId === replica.keyId ? `Shared keys: the failed-back VM has the source's key id ${dest.keyId}` : `Shared keys: the failed-back VM's key id is ${dest.keyId}, not the source's ${replica.keyId}`]);
  if (plan.kind === "new-vm") {
    const planned = plan.request.home.crypto.kind !== "none";
    checks.push([dest.encrypted === planned, dest.encrypted === planned ? `The new VM is ${planned ? "encrypted" : "unencrypted"}, as planned` : `The new VM is ${dest.encrypted ? "encrypted" : "unencrypted"}, planned ${planned ? "encrypted" : "unencrypted"}`]);
  }
  for (const [ok, text] of checks) check(ok, text);
  const bad = checks.filter(([ok]) => !ok);
  if (bad.length) throw new Error(`the failed-back VM is not keyed as planned: ${bad.map(([, t]) => t).join("; ")}`);
}

/** The original's changed areas per disk since the replicated state (null for a disk CBT no longer knows, or no ids). */
async function originalChangedAreas(o: FailbackVmOptions, vm: PlatformVm, changeIds: Map<number, string> | null, warn: (text: string) => void): Promise<Map<number, readonly DiskArea[] | null>> {
  const out = new Map<number, readonly DiskArea[] | null>();
  if (!changeIds) {
    for (const d of vm.disks) out.set(d.deviceKey, null);
    return out;
  }
  // QueryChangedDiskAreas needs a snapshot of the VM: open one disk (which takes it), ask for every disk, release.
  const first = vm.disks[0];
  const proxies = destinationProxies(o);
  const slot = await claimProxy(claimOptions(o, proxies, o.destinationSelection, { label: `${vm.name} / ${first.label}`, encrypted: first.encrypted, keyProviderExternalId: first.encrypted ? vm.keyProviderExternalId : null, siteExternalId: vm.siteExternalId, tenantExternalId: vm.tenantExternalId }, vm.externalId, first.deviceKey, o.signal));
  let opened = false;
  try {
    const disk = await o.destinationHost.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey: first.deviceKey, mode: slot.choice.mode, proxy: slot.choice.proxy });
    opened = true;
    await disk.reader.close();
    for (const d of vm.disks) {
      try {
        out.set(d.deviceKey, await o.destinationHost.queryChangedAreas({ vmExternalId: vm.externalId, deviceKey: d.deviceKey, changeId: changeIds.get(d.deviceKey)! }));
      } catch (e) {
        if (!(e instanceof HostError && e.code === "FileFault")) throw e;
        warn(`${vm.name} / ${d.label}: changed block tracking does not know the replicated state's change id (${e.message}); every block of the disk is written from the replica`);
        out.set(d.deviceKey, null);
      }
    }
  } finally {
    if (opened) await o.destinationHost.releaseSnapshot(vm.externalId);
    await slot.release();
  }
  return out;
}

interface FailbackDiskInput {
  deviceKey: number;
  label: string;
  replicaDisk: SelectionDisk;
  destinationDisk: SelectionDisk;
  destinationId: string;
  /** Original: the failover point's change id of the replica disk; new VM: null (full copy). */
  sinceReplicaChangeId: string | null;
  /** Original: its changed areas since the replicated state (null: every block); otherwise null. */
  originalAreas: readonly DiskArea[] | null;
  /** Restored VM: the blocks that differ and how many were compared; otherwise null. */
  differing: { indexes: number[]; compared: number } | null;
  blockSize: number;
  signal: AbortSignal;
  warn: (text: string) => void;
}

async function failbackDisk(o: FailbackVmOptions, d: FailbackDiskInput): Promise<{ changeId: string; disk: FailedBackDisk }> {
  const emit = (e: FailbackEvent) => o.onEvent?.(e);
  const replicaId = o.replicaVm.externalId;
  const now = o.now ?? Date.now;
  const started = now();
  const toOriginal = o.destination.kind === "original";
  const toExisting = o.destination.kind !== "new-vm";
  const src = await claimProxy(claimOptions(o, o.replicaProxies, o.replicaSelection, d.replicaDisk, replicaId, d.deviceKey, d.signal));
  let dst: ClaimedProxy | null = null;
  let reader: Awaited<ReturnType<VmBackupHost["openDiskForBackup"]>> | null = null;
  let writer: DiskWriter | null = null;
  try {
    emit({ type: "disk-planned", side: "replica", vmExternalId: replicaId, deviceKey: d.deviceKey, proxyExternalId: src.choice.proxy.externalId, proxyName: src.choice.proxy.name, mode: src.choice.mode, reason: src.choice.reason, rejected: src.choice.rejected.map(formatRejection), text: `${d.label}: read by ${src.choice.reason}` });
    dst = await claimProxy(claimOptions(o, destinationProxies(o), o.destinationSelection, d.destinationDisk, d.destinationId, d.deviceKey, d.signal));
    emit({ type: "disk-planned", side: "destination", vmExternalId: d.destinationId, deviceKey: d.deviceKey, proxyExternalId: dst.choice.proxy.externalId, proxyName: dst.choice.proxy.name, mode: dst.choice.mode, reason: dst.choice.reason, rejected: dst.choice.rejected.map(formatRejection), text: `${d.destinationDisk.label}: written by ${dst.choice.reason}${dst.choice.mode === "nbdssl" ? " — under TLS between the sites" : ""}` });
    reader = await o.replicaHost.openDiskForBackup({ vmExternalId: replicaId, deviceKey: d.deviceKey, mode: src.choice.mode, proxy: src.choice.proxy });
    const capacity = reader.reader.capacityBytes;

    let indexes: number[];
    let changesOnly = false;
    let replicaBlocks: number | null = null;
    let originalBlocks: number | null = null;
    let comparedBlocks: number | null = null;
    if (d.differing) {
      indexes = d.differing.indexes;
      comparedBlocks = d.differing.compared;
      changesOnly = true;
    } else if (toOriginal) {
      let replicaAreas: readonly DiskArea[] | "all";
      try {
        replicaAreas = await o.replicaHost.queryChangedAreas({ vmExternalId: replicaId, deviceKey: d.deviceKey, changeId: d.sinceReplicaChangeId! });
      } catch (e) {
        if (!(e instanceof HostError && e.code === "FileFault")) throw e;
        d.warn(`${d.label}: changed block tracking on the replica does not know the failover point's change id (${e.message}); every block of the disk is shipped`);
        replicaAreas = "all";
      }
      const fromReplica = blocksOfAreas(replicaAreas, capacity, d.blockSize);
      replicaBlocks = replicaAreas === "all" ? null : fromReplica.length;
      const fromOriginal = d.originalAreas ? blocksOfAreas(d.originalAreas, capacity, d.blockSize) : null;
      originalBlocks = fromOriginal ? fromOriginal.length : null;
      changesOnly = replicaAreas !== "all" && fromOriginal !== null;
      indexes = changesOnly ? [...new Set([...fromReplica, ...fromOriginal!])].sort((a, b) => a - b) : blocksOfAreas("all", capacity, d.blockSize);
      emit({ type: "changes-found", vmExternalId: replicaId, deviceKey: d.deviceKey, replicaBlocks: fromReplica.length, originalBlocks, blocksToShip: indexes.length, text: `${d.label}: ${changesOnly ? `${replicaBlocks} blocks changed on the replica since failover, ${originalBlocks} on the original since the last replication: ${indexes.length} to ship` : `every block (${indexes.length}) is shipped`}` });
    } else {
      indexes = blocksOfAreas(await o.replicaHost.queryChangedAreas({ vmExternalId: replicaId, deviceKey: d.deviceKey, changeId: "*" }), capacity, d.blockSize);
    }

    writer = await o.destinationHost.openDiskForWrite({ vmExternalId: d.destinationId, deviceKey: d.deviceKey, mode: dst.choice.mode, proxy: dst.choice.proxy });
    if (writer.capacityBytes !== capacity) throw new Error(`${d.label}: the destination disk has ${writer.capacityBytes} bytes, the replica ${capacity}`);
    const bytesToRead = bytesOfBlocks(indexes, d.blockSize, capacity);
    let lastReport = -Infinity;
    const report = (s: ShipStats, done: boolean) => {
      const t = now();
      if (!done && t - lastReport < (o.progressIntervalMs ?? 500)) return;
      lastReport = t;
      emit({ type: "disk-progress", vmExternalId: replicaId, deviceKey: d.deviceKey, bytesToRead, bytesRead: s.bytesRead, bytesWritten: s.bytesWritten, done, text: "" });
    };
    // To an existing VM every listed block is written, zeros too (they override what it holds); a new disk reads zeros already.
    const stats = await shipBlocks({ reader: reader.reader, writer, indexes, blockSize: d.blockSize, capacityBytes: capacity, writeZeros: toExisting, inFlight: o.inFlight ?? 4, signal: d.signal, onBlock: (s) => report(s, false) });
    d.signal.throwIfAborted();
    await writer.close();
    writer = null;
    await reader.reader.close();
    const changeId = reader.changeId;
    reader = null;
    report(stats, true);
    const disk: FailedBackDisk = {
      deviceKey: d.deviceKey,
      changesOnly,
      comparedBlocks,
      replicaChangedBlocks: replicaBlocks,
      originalChangedBlocks: originalBlocks,
      blocksShipped: stats.blocksWritten,
      replicaMode: src.choice.mode,
      destinationMode: dst.choice.mode,
      bytesRead: stats.bytesRead,
      bytesWritten: stats.bytesWritten,
      zeroBlocksSkipped: stats.zeroBlocksSkipped,
      durationMs: now() - started,
    };
    emit({ type: "disk-done", vmExternalId: d.destinationId, deviceKey: d.deviceKey, changesOnly, blocksShipped: disk.blocksShipped, bytesRead: disk.bytesRead, bytesWritten: disk.bytesWritten, zeroBlocksSkipped: disk.zeroBlocksSkipped, text: `${d.destinationDisk.label}: ${changesOnly ? "changes only" : "full copy"}, ${disk.blocksShipped} blocks (${disk.bytesWritten} bytes) shipped${disk.zeroBlocksSkipped ? `, ${disk.zeroBlocksSkipped} zero blocks skipped` : ""}` });
    return { changeId, disk };
  } finally {
    if (writer) await writer.abort().catch(() => undefined);
    if (reader) await reader.reader.close().catch(() => undefined);
    await src.release();
    await dst?.release();
  }
}

/**
 * Per disk of a restored VM, the blocks whose content differs from the replica's: every block either
 * side holds (QueryChangedDiskAreas "*" on both; elsewhere both read zeros) is read on both and
 * compared. Disk by disk, each holding a proxy slot at each end; the destination's snapshot is
 * released before anything is written, the replica's is kept for the copy.
 */
async function differingBlocks(o: FailbackVmOptions, vm: PlatformVm, blockSize: number): Promise<Map<number, { indexes: number[]; compared: number }>> {
  const replica = o.replicaVm;
  const out = new Map<number, { indexes: number[]; compared: number }>();
  let destinationSnapshot = false;
  try {
    for (const d of replica.disks) {
      const vd = vm.disks.find((x) => x.deviceKey === d.deviceKey)!;
      o.signal?.throwIfAborted();
      const src = await claimProxy(claimOptions(o, o.replicaProxies, o.replicaSelection, { label: `${replica.name} / ${d.label}`, encrypted: d.encrypted, keyProviderExternalId: d.encrypted ? replica.keyProviderExternalId : null, siteExternalId: replica.siteExternalId, tenantExternalId: replica.tenantExternalId }, replica.externalId, d.deviceKey, o.signal));
      let dst: ClaimedProxy | null = null;
      try {
        dst = await claimProxy(claimOptions(o, destinationProxies(o), o.destinationSelection, { label: `${vm.name} / ${vd.label}`, encrypted: vd.encrypted, keyProviderExternalId: vd.encrypted ? vm.keyProviderExternalId : null, siteExternalId: vm.siteExternalId, tenantExternalId: vm.tenantExternalId }, vm.externalId, d.deviceKey, o.signal));
        const a = await o.replicaHost.openDiskForBackup({ vmExternalId: replica.externalId, deviceKey: d.deviceKey, mode: src.choice.mode, proxy: src.choice.proxy });
        try {
          destinationSnapshot = true;
          const b = await o.destinationHost.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey: d.deviceKey, mode: dst.choice.mode, proxy: dst.choice.proxy });
          try {
            const capacity = a.reader.capacityBytes;
            const held = [
              ...blocksOfAreas(await o.replicaHost.queryChangedAreas({ vmExternalId: replica.externalId, deviceKey: d.deviceKey, changeId: "*" }), capacity, blockSize),
              ...blocksOfAreas(await o.destinationHost.queryChangedAreas({ vmExternalId: vm.externalId, deviceKey: d.deviceKey, changeId: "*" }), capacity, blockSize),
            ];
            const blocks = [...new Set(held)].sort((x, y) => x - y);
            const x = Buffer.allocUnsafe(blockSize);
            const y = Buffer.allocUnsafe(blockSize);
            const indexes: number[] = [];
            for (const i of blocks) {
              o.signal?.throwIfAborted();
              const n = Math.min(blockSize, capacity - i * blockSize);
              const [xa, ya] = [x.subarray(0, n), y.subarray(0, n)];
              await Promise.all([a.reader.readInto(i * blockSize, xa), b.reader.readInto(i * blockSize, ya)]);
              if (!xa.equals(ya)) indexes.push(i);
            }
            out.set(d.deviceKey, { indexes, compared: blocks.length });
            o.onEvent?.({ type: "compared", vmExternalId: vm.externalId, deviceKey: d.deviceKey, blocksCompared: blocks.length, blocksToShip: indexes.length, text: `${vm.name} / ${vd.label}: ${blocks.length} blocks compared with the replica, ${indexes.length} differ` });
          } finally {
            await b.reader.close();
          }
        } finally {
          await a.reader.close();
        }
      } finally {
        await src.release();
        await dst?.release();
      }
    }
  } finally {
    if (destinationSnapshot) await o.destinationHost.releaseSnapshot(vm.externalId);
  }
  return out;
}

function destinationProxies(o: FailbackVmOptions): readonly CandidateProxy[] {
  return o.destinationTransport === "any" ? o.destinationProxies : o.destinationProxies.map((p) => ({ ...p, transportModes: p.transportModes.filter((m) => m === "nbdssl") }));
}

function claimOptions(o: FailbackVmOptions, proxies: readonly CandidateProxy[], selection: SelectionOptions, disk: SelectionDisk, vmId: string, deviceKey: number, signal: AbortSignal | undefined): ClaimProxyOptions {
  return { tasks: o.tasks, proxies, selection, disk, vmExternalId: vmId, deviceKey, signal, busyWaitMs: o.busyWaitMs, onEvent: o.onEvent as ClaimProxyOptions["onEvent"] };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
