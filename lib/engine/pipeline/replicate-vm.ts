// One VM replicated to a target site, one run (REP-1…4, TRN-1…7, VME-1…3).
//
//   first run    create the replica VM at the target from the source's configuration, encrypted
//                as the key mode says (REP-2/REP-4), and copy every disk in full: the source's
//                written areas (QueryChangedDiskAreas "*"), all-zero blocks skipped (the new disk
//                reads zeros there already).
//   seeded       a first run given a backup restore point of the VM (`seed`, REP-1: "seeded from a
//                restore point already in a repository at the DR site") writes each new disk from
//                the point (read from the repository, nothing shipped), then copies only the
//                blocks CBT reports changed on the source since the point's change ids, zeros
//                included. The point is checked whole (its VM, disks, capacities, change ids)
//                before the replica is created. A change id CBT no longer knows copies the disk in
//                full instead, and says so.
//   later runs   revert the replica to its newest point first (a cut-off run's half-written blocks
//                disappear: the point was never touched, replica-host.ts), then copy only the
//                blocks CBT reports changed since the last run's change ids — zero blocks too, as
//                they override what the replica holds. An unknown change id (CBT reset, FileFault)
//                copies every block of the disk, zeros included, and says so.
//   every run    ends in a replica restore point (a snapshot on the replica) and reports the new
//                change ids; points beyond `keepPoints` are removed, oldest first. A run cut off
//                before its point (stopped, a write error, the process killed) reports no new
//                state: the previous point stays as it was and the next run resumes from it.
//                A first run that fails deletes the VM it created.
//
// Keys (REP-2, REP-4): "shared" registers the replica with the source's keyId and
// encryption.bundle (and its NVRAM), which only works where the target site reaches that key (the
// platform refuses otherwise, VME-3); "re-key" gives the replica a new key from a target key
// provider (new DEKs: the source's key never reaches the target); "unencrypted" makes a replica
// without encryption and warns when the source is encrypted.
//
// Data path (TRN-5, TRN-7): the source is read through the source site's backup host
// (openDiskForBackup: the VM's snapshot, KMS-aware proxy choice), the replica is written through the
// target site's restore host (openDiskForWrite), blocks in flight in parallel. Between sites the
// bytes travel under TLS: by default the target writer is limited to NBDSSL (TLS to the target
// host). In the lab both proxies live in this process, so the NBDSSL writer is the TLS hop; a
// product with proxy-to-proxy streams would put TLS there instead and allow HotAdd at the target.

import type { BackupDisk, VmBackupHost, VmFiles } from "../../platform/backup-host";
import type { PlatformVm, TransportMode, VmRuntime } from "../../platform/connector";
import type { DiskArea, DiskWriter } from "../../platform/disk-io";
import { HostError } from "../../platform/errors";
import type { ReplicaSnapshot, VmReplicaHost } from "../../platform/replica-host";
import type { CreateVmRequest, HomeCryptoSpec, NewVmNic, VmRestoreHost } from "../../platform/restore-host";
import type { NetworkChoice } from "../../platform/network-mapping";
import type { OpenPoint } from "../repository/open-point";
import { blocksOfAreas } from "./backup-disk";
import { diskIdOf } from "./backup-vm";
import type { ProxyTaskGate } from "./events";
import { formatRejection, type CandidateProxy, type SelectionDisk, type SelectionOptions } from "./proxy-selection";
import { claimProxy, type ClaimedProxy, type ClaimProxyOptions } from "./proxy-slots";
import { restoreDiskToWriter } from "./restore-disk";
import { pointVmAttributes } from "./restore-plan";
import { bytesOfBlocks, shipBlocks, type ShipStats } from "./ship-blocks";

const MiB = 1024 * 1024;

export type ReplicaKeyMode = "shared" | "re-key" | "unencrypted";

/** What a completed run leaves for the next one (the caller keeps it, e.g. in the database). */
export interface ReplicaState {
  replicaVmExternalId: string;
  /** The replica point the run ended in; null: the VM was created but no run completed (it is made again). */
  pointId: string | null;
  /** The source disks' change ids at that point. */
  disks: Array<{ deviceKey: number; changeId: string }>;
}

export interface ReplicaPlacement {
  siteExternalId: string;
  hostExternalId: string;
  name: string;
  folder: string;
  home: { datastoreExternalId: string; storagePolicyExternalId: string };
  /** Per source disk (device key). */
  disks: Record<number, { datastoreExternalId: string; storagePolicyExternalId: string }>;
  /** The target site's key provider: "shared" — the one that reaches the source's key; "re-key" — the new key's. */
  keyProviderExternalId: string | null;
  /**
   * Each source adapter (device key) → a network of the target host, or null = disconnected; an
   * adapter not listed is disconnected, so a replica never comes up on a network nobody chose.
   */
  networks?: NetworkChoice[];
}

export type ReplicationSource = VmBackupHost & { vmFiles(vmExternalId: string): Promise<VmFiles> };
export type ReplicationTarget = VmRestoreHost & VmReplicaHost & { vmRuntime(vmExternalId: string): Promise<VmRuntime> };

export type ReplicationEvent =
  | { type: "replica-created"; vmExternalId: string; text: string }
  | { type: "reverted"; vmExternalId: string; pointId: string; text: string }
  | { type: "disk-planned"; side: "source" | "target"; vmExternalId: string; deviceKey: number; proxyExternalId: string; proxyName: string; mode: TransportMode; reason: string; rejected: string[]; text: string }
  | { type: "task-start"; vmExternalId: string; deviceKey: number; proxyExternalId: string; slot: number; text: string }
  | { type: "task-end"; vmExternalId: string; deviceKey: number; proxyExternalId: string; slot: number; text: string }
  | { type: "waiting"; vmExternalId: string; deviceKey: number; text: string }
  | { type: "disk-progress"; vmExternalId: string; deviceKey: number; bytesToRead: number; bytesRead: number; bytesWritten: number; done: boolean; text: string }
  | { type: "disk-seeded"; vmExternalId: string; deviceKey: number; pointId: string; blocksWritten: number; bytesWritten: number; text: string }
  | { type: "disk-done"; vmExternalId: string; deviceKey: number; incremental: boolean; bytesRead: number; bytesWritten: number; blocksWritten: number; zeroBlocksSkipped: number; text: string }
  | { type: "check"; vmExternalId: string; ok: boolean; text: string }
  | { type: "point-created"; vmExternalId: string; pointId: string; text: string }
  | { type: "point-removed"; vmExternalId: string; pointId: string; text: string }
  | { type: "warning"; vmExternalId: string | null; text: string }
  | { type: "done"; vmExternalId: string; status: "success" | "warning" | "failed"; pointId: string | null; error: string | null; text: string };

export interface ReplicateVmOptions {
  source: ReplicationSource;
  sourceVm: PlatformVm;
  target: ReplicationTarget;
  placement: ReplicaPlacement;
  keyMode: ReplicaKeyMode;
  /** The last completed run's state, or null for the first run. */
  last: ReplicaState | null;
  /**
   * Seeding (REP-1): a backup restore point of this VM (opened, e.g. from a repository at the DR
   * site). A first run writes the new replica's disks from it, then ships only the blocks CBT says
   * changed on the source since the point's change ids. Ignored once the replica has a point.
   */
  seed?: OpenPoint;
  /** Replica restore points to keep (≥ 1). */
  keepPoints: number;
  sourceProxies: readonly CandidateProxy[];
  targetProxies: readonly CandidateProxy[];
  sourceSelection: SelectionOptions;
  targetSelection: SelectionOptions;
  /** Proxy task slots across workers (TRN-6); without it the counts in the proxy lists are used. */
  tasks?: ProxyTaskGate;
  /** "nbdssl-only" (default): the target writer is NBDSSL, the TLS hop between sites (TRN-7). */
  targetTransport?: "nbdssl-only" | "any";
  /** Name of the point this run ends in; default "Replica <ISO time>". */
  pointName?: string;
  /** Bytes per read/write (a multiple of 512); default 1 MiB. */
  blockSize?: number;
  /** Writes in flight per disk; default 4. */
  inFlight?: number;
  /** Called once a replica VM exists, before any byte is written (keep its id: a retry after a crash reuses it). */
  onReplicaCreated?: (vm: PlatformVm) => Promise<void> | void;
  onEvent?: (e: ReplicationEvent) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  busyWaitMs?: number;
  now?: () => number;
}

export interface ReplicatedDisk {
  deviceKey: number;
  incremental: boolean;
  /** Written from the seed restore point first (then only the changes since it were shipped). */
  seeded: boolean;
  /** Blocks written from the seed point (read from the repository, not shipped from the source). */
  seedBlocksWritten: number;
  sourceMode: TransportMode;
  targetMode: TransportMode;
  bytesRead: number;
  bytesWritten: number;
  blocksWritten: number;
  zeroBlocksSkipped: number;
  durationMs: number;
}

export interface ReplicationResult {
  status: "success" | "warning" | "failed";
  replicaVmExternalId: string | null;
  /** The point this run ended in (null when it failed: the previous point is still the newest). */
  point: ReplicaSnapshot | null;
  /** What to pass as `last` next time (null when the run failed: keep the previous state). */
  state: ReplicaState | null;
  disks: ReplicatedDisk[];
  removedPoints: string[];
  replicaKeyId: string | null;
  warnings: string[];
  error: string | null;
}

export async function replicateVm(o: ReplicateVmOptions): Promise<ReplicationResult> {
  const { source, target, sourceVm: vm, placement } = o;
  const emit = (e: ReplicationEvent) => o.onEvent?.(e);
  const warnings: string[] = [];
  const warn = (vmId: string | null, text: string) => {
    warnings.push(text);
    emit({ type: "warning", vmExternalId: vmId, text });
  };
  const result: ReplicationResult = { status: "success", replicaVmExternalId: null, point: null, state: null, disks: [], removedPoints: [], replicaKeyId: null, warnings, error: null };
  let created: PlatformVm | null = null;
  let sourceSnapshotTaken = false;
  try {
    if (!(Number.isInteger(o.keepPoints) && o.keepPoints >= 1)) throw new Error(`restore points to keep must be a whole number of at least 1, got ${o.keepPoints}`);
    const blockSize = o.blockSize ?? MiB;
    if (!(Number.isInteger(blockSize) && blockSize > 0 && blockSize % 512 === 0)) throw new Error("block size must be a positive multiple of 512");
    for (const d of vm.disks) if (!placement.disks[d.deviceKey]) throw new Error(`no target datastore chosen for ${vm.name} / ${d.label}`);
    // A seed is checked whole before anything is created or written.
    const seed = o.seed && !o.last?.pointId ? seedDisks(o.seed, vm) : null;
    o.signal?.throwIfAborted();

    // ── the replica: reverted to its newest point, or created ──
    let replicaId: string;
    let incremental = false;
    const last = o.last;
    if (last && last.pointId) {
      replicaId = last.replicaVmExternalId;
      const points = await target.listSnapshots(replicaId);
      if (!points.some((p) => p.id === last.pointId)) throw new Error(`the replica ${replicaId} no longer has its point ${last.pointId}: start the replica again (remove it and run a full replication)`);
      const newest = points[points.length - 1];
      await target.revertToSnapshot(replicaId, newest.id);
      emit({ type: "reverted", vmExternalId: replicaId, pointId: newest.id, text: `Replica reverted to its newest point "${newest.name}" (${newest.id}): anything a cut-off run wrote after it is gone` });
      incremental = true;
    } else {
      if (last) {
        // A first run that never completed (the process died): its VM holds half-work, make it again.
        await target.deleteVm(last.replicaVmExternalId).catch((e: unknown) => {
          if (!(e instanceof HostError && e.code === "NotFound")) throw e;
        });
      }
      const files = await source.vmFiles(vm.externalId);
      const request = replicaRequest(vm, files, placement, o.keyMode, (t) => warn(vm.externalId, t));
      created = await target.createVm(request);
      replicaId = created.externalId;
      await o.onReplicaCreated?.(created);
      emit({ type: "replica-created", vmExternalId: replicaId, text: `Created replica ${created.name} (${replicaId}) on ${placement.hostExternalId}${created.encrypted ? `, encrypted with key ${created.keyId} of ${created.keyProviderExternalId}` : ", unencrypted"}` });
      checkReplicaKeys(created, vm, files, o.keyMode, request.home.crypto, (ok, text) => emit({ type: "check", vmExternalId: replicaId, ok, text }));
    }
    result.replicaVmExternalId = replicaId;
    const replica = await target.vmRuntime(replicaId);
    result.replicaKeyId = replica.keyId;
    for (const d of vm.disks) {
      const r = replica.disks.find((x) => x.deviceKey === d.deviceKey);
      if (!r) throw new Error(`the replica has no disk ${d.deviceKey} (${d.label}): the source's disks changed; start the replica again`);
      if (r.capacityBytes !== d.capacityBytes) throw new Error(`${d.label} is ${d.capacityBytes} bytes at the source and ${r.capacityBytes} on the replica: the disk was resized; start the replica again`);
    }

    // ── the disks, in parallel ──
    const lastIds = new Map((incremental ? last!.disks : []).map((d) => [d.deviceKey, d.changeId]));
    const newIds: ReplicaState["disks"] = [];
    sourceSnapshotTaken = true;
    // One disk failing stops the others: the run is cut off anyway.
    const stop = new AbortController();
    const onAbort = () => stop.abort(o.signal!.reason);
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const copies = vm.disks.map(async (d) => {
      const rd = replica.disks.find((x) => x.deviceKey === d.deviceKey)!;
      const r = await copyDisk(o, {
        deviceKey: d.deviceKey,
        label: `${vm.name} / ${d.label}`,
        sourceDisk: { label: `${vm.name} / ${d.label}`, encrypted: d.encrypted, keyProviderExternalId: d.encrypted ? vm.keyProviderExternalId : null, siteExternalId: vm.siteExternalId, tenantExternalId: vm.tenantExternalId },
        targetDisk: { label: `${placement.name} / ${d.label}`, encrypted: rd.encrypted, keyProviderExternalId: rd.encrypted ? replica.keyProviderExternalId : null, siteExternalId: placement.siteExternalId, tenantExternalId: vm.tenantExternalId },
        replicaId,
        sinceChangeId: lastIds.get(d.deviceKey) ?? null,
        seed: seed ? { point: o.seed!, ...seed.get(d.deviceKey)! } : null,
        blockSize,
        signal: stop.signal,
        warn: (t) => warn(vm.externalId, t),
      }).catch((e: unknown) => {
        stop.abort(e);
        throw e;
      });
      newIds.push({ deviceKey: d.deviceKey, changeId: r.changeId });
      result.disks.push(r.disk);
    });
    const settled = await Promise.allSettled(copies);
    o.signal?.removeEventListener("abort", onAbort);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    await source.releaseSnapshot(vm.externalId);
    sourceSnapshotTaken = false;
    o.signal?.throwIfAborted();

    // ── the point, then retention ──
    const point = await target.createSnapshot(replicaId, o.pointName ?? `Replica ${new Date(o.now?.() ?? Date.now()).toISOString()}`);
    result.point = point;
    emit({ type: "point-created", vmExternalId: replicaId, pointId: point.id, text: `Replica restore point "${point.name}" (${point.id}) created` });
    result.state = { replicaVmExternalId: replicaId, pointId: point.id, disks: newIds.sort((a, b) => a.deviceKey - b.deviceKey) };
    try {
      const points = await target.listSnapshots(replicaId);
      for (const p of points.slice(0, Math.max(0, points.length - o.keepPoints))) {
        await target.removeSnapshot(replicaId, p.id);
        result.removedPoints.push(p.id);
        emit({ type: "point-removed", vmExternalId: replicaId, pointId: p.id, text: `Replica restore point "${p.name}" removed (the job keeps ${o.keepPoints})` });
      }
    } catch (e) {
      warn(replicaId, `old replica points could not all be removed: ${messageOf(e)}; the next run tries again`);
    }
    if (warnings.length) result.status = "warning";
    emit({ type: "done", vmExternalId: vm.externalId, status: result.status, pointId: point.id, error: null, text: `${vm.name} replicated to ${placement.name}: point ${point.id}` });
    return result;
  } catch (e) {
    result.status = "failed";
    result.error = o.signal?.aborted ? "stopped by request" : messageOf(e);
    result.point = null;
    result.state = null;
    if (sourceSnapshotTaken) await source.releaseSnapshot(vm.externalId).catch((err: unknown) => warn(vm.externalId, `the source snapshot of ${vm.name} could not be removed: ${messageOf(err)}`));
    if (created) {
      const id = created.externalId;
      await target.deleteVm(id).then(
        () => (result.replicaVmExternalId = null),
        (err: unknown) => warn(id, `the half-made replica ${created!.name} could not be deleted: ${messageOf(err)}; the next run makes it again`),
      );
    }
    emit({ type: "done", vmExternalId: vm.externalId, status: "failed", pointId: null, error: result.error, text: `${vm.name}: replication failed: ${result.error}${o.last?.pointId ? "; the replica's last point is intact" : ""}` });
    return result;
  }
}

/** The replica's configuration: the source's, placed and encrypted as asked (REP-2, REP-3, REP-4). */
export function replicaRequest(vm: PlatformVm, files: VmFiles, placement: ReplicaPlacement, keyMode: ReplicaKeyMode, warn: (text: string) => void): CreateVmRequest {
  let crypto: HomeCryptoSpec = { kind: "none" };
  let nvram: Buffer | undefined;
  let encryptDisk: (sourceEncrypted: boolean) => boolean = () => false;
  let vtpm = vm.vtpm;
  if (keyMode === "shared") {
    if (vm.encrypted) {
      if (!files.keyId || !files.encryptionBundle) throw new Error(`${vm.name} is encrypted but its keyId or encryption.bundle cannot be read: shared keys are not possible`);
      const kp = placement.keyProviderExternalId ?? files.keyProviderExternalId;
      if (!kp) throw new Error("shared keys need the target site's key provider that reaches the source's key");
      crypto = { kind: "saved-keys", keyProviderExternalId: kp, keyId: files.keyId, encryptionBundle: files.encryptionBundle };
      nvram = files.nvram ?? undefined;
      encryptDisk = (e) => e;
    } else nvram = files.nvram ?? undefined; // an unencrypted VM's NVRAM is cleartext: it carries over
  } else if (keyMode === "re-key") {
    if (!placement.keyProviderExternalId) throw new Error("re-key at target needs a key provider of the target site");
    crypto = { kind: "new-key", keyProviderExternalId: placement.keyProviderExternalId };
    encryptDisk = (e) => e || !vm.encrypted; // an unencrypted source is encrypted whole
    if (vm.vtpm) warn(`${vm.name} has a vTPM: the replica gets a new vTPM under the target's key; what the guest sealed in the source's vTPM does not carry over in re-key mode`);
  } else {
    if (vm.encrypted) warn(`${vm.name} is encrypted, but its replica is not: the target has no key provider for it. Its data sits unencrypted at the DR site`);
    else nvram = files.nvram ?? undefined;
    if (vm.vtpm) {
      vtpm = false;
      warn(`${vm.name} has a vTPM, which needs an encrypted VM: the unencrypted replica has none`);
    }
  }
  return {
    siteExternalId: placement.siteExternalId,
    hostExternalId: placement.hostExternalId,
    name: placement.name,
    folder: placement.folder,
    tenantExternalId: vm.tenantExternalId,
    guestOs: vm.guestOs,
    cpuCount: vm.cpuCount,
    memoryMiB: vm.memoryMiB,
    home: { ...placement.home, crypto },
    disks: vm.disks.map((d) => ({ deviceKey: d.deviceKey, label: d.label, capacityBytes: d.capacityBytes, ...placement.disks[d.deviceKey], encrypted: encryptDisk(d.encrypted) })),
    nics: replicaNics(vm, placement),
    vtpm,
    nvram,
  };
}

/**
 * The replica's adapters: the source's, each on the network the job maps it to (or disconnected).
 * At another site the replica keeps the source's MAC, so a failed-over VM keeps its DHCP leases
 * and firewall rules; on the source's own site it gets new ones (two VMs must not share a MAC).
 */
function replicaNics(vm: PlatformVm, placement: ReplicaPlacement): NewVmNic[] {
  const mapping = placement.networks ?? [];
  const keepMac = placement.siteExternalId !== vm.siteExternalId;
  return (vm.nics ?? []).map((nic) => {
    const networkExternalId = mapping.find((m) => m.nicDeviceKey === nic.deviceKey)?.networkExternalId ?? null;
    return { deviceKey: nic.deviceKey, label: nic.label, adapterType: nic.adapterType, networkExternalId, connected: networkExternalId !== null && nic.connected, ...(keepMac ? { macAddress: nic.macAddress } : {}) };
  });
}

function checkReplicaKeys(replica: PlatformVm, vm: PlatformVm, files: VmFiles, keyMode: ReplicaKeyMode, crypto: HomeCryptoSpec, check: (ok: boolean, text: string) => void): void {
  const checks: Array<[boolean, string]> = [];
  if (crypto.kind === "saved-keys") checks.push([replica.keyId === files.keyId, `Shared keys: the replica's key id is ${replica.keyId === files.keyId ? "the source's" : `${replica.keyId}, not the source's ${files.keyId}`}`]);
  if (crypto.kind === "new-key")
    checks.push([replica.encrypted && replica.keyProviderExternalId === crypto.keyProviderExternalId && replica.keyId !== vm.keyId, `Re-keyed at the target: key ${replica.keyId} of ${replica.keyProviderExternalId}${replica.keyId === vm.keyId ? " — the source's key id, which re-key must not reuse" : ""}`]);
  if (crypto.kind === "none") checks.push([!replica.encrypted, replica.encrypted ? "The replica is encrypted, planned unencrypted" : "The replica is unencrypted, as planned"]);
  for (const [ok, text] of checks) check(ok, text);
  const bad = checks.filter(([ok]) => !ok);
  if (bad.length) throw new Error(`the replica is not keyed as planned: ${bad.map(([, t]) => t).join("; ")}`);
}

/**
 * Per source disk: the seed point's disk and the source's change id at the point. Refuses a point
 * of another VM, one without a disk of the VM, of another capacity, or without a change id (CBT
 * could not say what changed since it).
 */
export function seedDisks(point: OpenPoint, vm: PlatformVm): Map<number, { diskId: string; changeId: string }> {
  let of: PlatformVm;
  try {
    of = pointVmAttributes(point.attributes).vm;
  } catch (e) {
    throw new Error(`the seed restore point ${point.pointId} cannot seed a replica: ${messageOf(e)}`);
  }
  if (of.externalId !== vm.externalId) throw new Error(`the seed restore point ${point.pointId} is a backup of ${of.name} (${of.externalId}), not of ${vm.name}: a replica is only seeded from its own VM's backup. Choose a repository that holds ${vm.name}'s backups, or replicate without seeding`);
  const out = new Map<number, { diskId: string; changeId: string }>();
  for (const d of vm.disks) {
    const info = point.disks.find((x) => x.diskId === diskIdOf(d.deviceKey));
    const changeId = info?.attributes.changeId;
    if (!info) throw new Error(`the seed restore point ${point.pointId} has no ${d.label} of ${vm.name} (it was added after the backup): replicate without seeding, or back the VM up again first`);
    if (info.capacity !== d.capacityBytes) throw new Error(`${vm.name} / ${d.label} is ${d.capacityBytes} bytes now and ${info.capacity} in the seed restore point ${point.pointId} (the disk was resized): replicate without seeding, or back the VM up again first`);
    if (typeof changeId !== "string" || !changeId) throw new Error(`the seed restore point ${point.pointId} has no change id for ${d.label}, so what changed since it cannot be known: replicate without seeding`);
    out.set(d.deviceKey, { diskId: info.diskId, changeId });
  }
  return out;
}

interface CopyDiskInput {
  deviceKey: number;
  label: string;
  sourceDisk: SelectionDisk;
  targetDisk: SelectionDisk;
  replicaId: string;
  sinceChangeId: string | null;
  /** First run seeded from a backup: the point's disk is written first, then the source's changes since `changeId`. */
  seed: { point: OpenPoint; diskId: string; changeId: string } | null;
  blockSize: number;
  signal: AbortSignal;
  warn: (text: string) => void;
}

async function copyDisk(o: ReplicateVmOptions, d: CopyDiskInput): Promise<{ changeId: string; disk: ReplicatedDisk }> {
  const emit = (e: ReplicationEvent) => o.onEvent?.(e);
  const vmId = o.sourceVm.externalId;
  const now = o.now ?? Date.now;
  const started = now();
  const targetProxies = o.targetTransport === "any" ? o.targetProxies : o.targetProxies.map((p) => ({ ...p, transportModes: p.transportModes.filter((m) => m === "nbdssl") }));
  const src = await claim(o, o.sourceProxies, o.sourceSelection, d.sourceDisk, vmId, d.deviceKey, d.signal);
  let tgt: ClaimedProxy | null = null;
  let reader: BackupDisk | null = null;
  let writer: DiskWriter | null = null;
  try {
    emit({ type: "disk-planned", side: "source", vmExternalId: vmId, deviceKey: d.deviceKey, proxyExternalId: src.choice.proxy.externalId, proxyName: src.choice.proxy.name, mode: src.choice.mode, reason: src.choice.reason, rejected: src.choice.rejected.map(formatRejection), text: `${d.label}: read by ${src.choice.reason}` });
    tgt = await claim(o, targetProxies, o.targetSelection, d.targetDisk, d.replicaId, d.deviceKey, d.signal);
    emit({ type: "disk-planned", side: "target", vmExternalId: d.replicaId, deviceKey: d.deviceKey, proxyExternalId: tgt.choice.proxy.externalId, proxyName: tgt.choice.proxy.name, mode: tgt.choice.mode, reason: tgt.choice.reason, rejected: tgt.choice.rejected.map(formatRejection), text: `${d.targetDisk.label}: written by ${tgt.choice.reason}${tgt.choice.mode === "nbdssl" ? " — under TLS between the sites" : ""}` });
    reader = await o.source.openDiskForBackup({ vmExternalId: vmId, deviceKey: d.deviceKey, mode: src.choice.mode, proxy: src.choice.proxy });
    const capacity = reader.reader.capacityBytes;
    let areas: readonly DiskArea[] | "all";
    const since = d.seed?.changeId ?? d.sinceChangeId;
    let incremental = since !== null;
    let writeZeros = incremental;
    if (since !== null) {
      try {
        areas = await o.source.queryChangedAreas({ vmExternalId: vmId, deviceKey: d.deviceKey, changeId: since });
      } catch (e) {
        if (!(e instanceof HostError && e.code === "FileFault")) throw e;
        d.warn(`${d.label}: changed block tracking does not know the ${d.seed ? "seed restore point's" : "last run's"} change id (${e.message}); every block of the disk is copied this time`);
        areas = "all";
        incremental = false;
        writeZeros = true;
      }
    } else areas = await o.source.queryChangedAreas({ vmExternalId: vmId, deviceKey: d.deviceKey, changeId: "*" });
    writer = await o.target.openDiskForWrite({ vmExternalId: d.replicaId, deviceKey: d.deviceKey, mode: tgt.choice.mode, proxy: tgt.choice.proxy });
    if (writer.capacityBytes !== capacity) throw new Error(`${d.label}: the replica disk has ${writer.capacityBytes} bytes, the source ${capacity}`);
    let seedBlocksWritten = 0;
    if (d.seed && areas !== "all") {
      // The new replica disk (all zeros) gets the backup's blocks; the source's changes since go on top.
      const r = await restoreDiskToWriter({ point: d.seed.point, diskId: d.seed.diskId, writer, targetIsEmpty: true, signal: d.signal, inFlight: o.inFlight });
      seedBlocksWritten = r.dataBlocks;
      emit({ type: "disk-seeded", vmExternalId: vmId, deviceKey: d.deviceKey, pointId: d.seed.point.pointId, blocksWritten: r.dataBlocks, bytesWritten: r.bytesWritten, text: `${d.targetDisk.label}: seeded from restore point ${d.seed.point.pointId} (${r.dataBlocks} blocks, ${r.bytesWritten} bytes read from the repository, not shipped)` });
    }

    const indexes = blocksOfAreas(areas, capacity, d.blockSize);
    const bytesToRead = bytesOfBlocks(indexes, d.blockSize, capacity);
    let lastReport = -Infinity;
    const report = (s: ShipStats, done: boolean) => {
      const t = now();
      if (!done && t - lastReport < (o.progressIntervalMs ?? 500)) return;
      lastReport = t;
      emit({ type: "disk-progress", vmExternalId: vmId, deviceKey: d.deviceKey, bytesToRead, bytesRead: s.bytesRead, bytesWritten: s.bytesWritten, done, text: "" });
    };
    const stats = await shipBlocks({ reader: reader.reader, writer, indexes, blockSize: d.blockSize, capacityBytes: capacity, writeZeros, inFlight: o.inFlight ?? 4, signal: d.signal, onBlock: (s) => report(s, false) });
    d.signal.throwIfAborted();
    await writer.close();
    writer = null;
    await reader.reader.close();
    const changeId = reader.changeId;
    reader = null;
    report(stats, true);
    const seeded = d.seed !== null && areas !== "all";
    const disk: ReplicatedDisk = { deviceKey: d.deviceKey, incremental: incremental && !seeded, seeded, seedBlocksWritten, sourceMode: src.choice.mode, targetMode: tgt.choice.mode, ...stats, durationMs: now() - started };
    emit({ type: "disk-done", vmExternalId: vmId, deviceKey: d.deviceKey, incremental: disk.incremental, ...stats, text: `${d.label}: ${seeded ? "changes since the seed point" : incremental ? "incremental" : "full"}, ${stats.blocksWritten} blocks (${stats.bytesWritten} bytes) written${stats.zeroBlocksSkipped ? `, ${stats.zeroBlocksSkipped} zero blocks skipped` : ""}` });
    return { changeId, disk };
  } catch (e) {
    // A full target datastore says which and what to do (the run is cut off; its point is never made).
    if (e instanceof HostError && e.code === "InsufficientSpace" && !d.signal.aborted) {
      const ds = o.placement.disks[d.deviceKey]?.datastoreExternalId ?? "the target datastore";
      throw new HostError("InsufficientSpace", `${d.targetDisk.label}: the target datastore ${ds} is full (${e.message}): free space on the datastore or place the replica's disk on another datastore, then run the job again`);
    }
    throw e;
  } finally {
    if (writer) await writer.abort().catch(() => undefined);
    if (reader) await reader.reader.close().catch(() => undefined);
    await src.release();
    await tgt?.release();
  }
}

function claim(o: ReplicateVmOptions, proxies: readonly CandidateProxy[], selection: SelectionOptions, disk: SelectionDisk, vmId: string, deviceKey: number, signal: AbortSignal): Promise<ClaimedProxy> {
  return claimProxy({ tasks: o.tasks, proxies, selection, disk, vmExternalId: vmId, deviceKey, signal, busyWaitMs: o.busyWaitMs, onEvent: o.onEvent as ClaimProxyOptions["onEvent"] });
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
