// One VM into one restore point (BKP-2…5): per disk, pick a proxy and transport mode (checked
// before anything is opened, TRN-5), open the snapshot's disk through the platform, read it (full,
// CBT incremental, or a full read deduplicated against the parent when the change id is unknown),
// and release the snapshot in `finally`, whatever happened. A failed disk fails the VM with its
// reason and aborts the session (no point, earlier points untouched — BKP-6); it never fails
// another VM (backupVms).
//
// BKP-4: the point keeps the VM configuration as the platform reports it, and for an encrypted VM
// its keyId, key provider, encryption.bundle and NVRAM file (as stored: encrypted); each disk keeps
// its storage policy, key id, device key and the CBT change id the next incremental starts from.

import type { PlatformVm, TransportMode } from "../../platform/connector";
import type { BackupDisk, VmBackupHost } from "../../platform/backup-host";
import { HostError } from "../../platform/errors";
import type { KeyRing } from "../keys/key-ring";
import type { ProtectionPlan } from "../keys/protection";
import type { BackupSession } from "../repository/backup-session";
import type { Repository } from "../repository/repository";
import { backupDisk, type DiskBackupResult, type DiskProgress, type DiskReadPlan } from "./backup-disk";
import type { BackupEvent, ProxyTaskGate, ProxyTaskLease } from "./events";
import { formatRejection, selectProxy, type CandidateProxy, type SelectionOptions } from "./proxy-selection";
import { takeProxySlot } from "./proxy-slots";

/** What a backup needs from the platform: the platform's backup host (VADP's role). */
export type { VmBackupHost, VmFiles } from "../../platform/backup-host";

export function diskIdOf(deviceKey: number): string {
  return `disk-${deviceKey}`;
}

export interface BackupVmOptions {
  host: VmBackupHost;
  repository: Repository;
  /** The VM as the platform's inventory reports it now. */
  vm: PlatformVm;
  proxies: readonly CandidateProxy[];
  selection: SelectionOptions;
  protection: ProtectionPlan;
  keyRing?: KeyRing;
  /** The chain (job × VM) to extend; a new chain when omitted. */
  chainId?: string;
  /**
   * The console's memory of the previous run's change ids, by device key. Advisory only: an
   * incremental always starts from the change ids recorded in the parent point in the repository;
   * a disagreement is logged as a rollback warning.
   */
  previousChangeIds?: Readonly<Record<number, string>>;
  onProgress?: (p: DiskProgress & { vmExternalId: string; deviceKey: number }) => void;
  progressIntervalMs?: number;
  /** Session log lines (transport choice and why, CBT fallbacks, warnings). */
  onLog?: (line: string) => void;
  /** Typed events: the proxy and mode of each disk, task slots, warnings, the VM's end. */
  onEvent?: (e: BackupEvent) => void;
  /** Task limits counted by the caller; without it the candidates' activeTasks are taken as they are. */
  tasks?: ProxyTaskGate;
  /** Stops the VM within a block: the point is not committed, earlier points are untouched. */
  signal?: AbortSignal;
  /** How long to wait between looks when every fitting proxy is at its task limit. */
  busyWaitMs?: number;
}

export interface DiskOutcome {
  deviceKey: number;
  diskId: string;
  proxyName: string;
  mode: TransportMode;
  /** Why this proxy and mode (TRN-5). */
  reason: string;
  /** Every candidate not used, with why. */
  rejected: string[];
  changeId: string;
  result: DiskBackupResult;
}

export interface VmBackupResult {
  vmExternalId: string;
  vmName: string;
  status: "success" | "warning" | "failed";
  pointId?: string;
  chainId?: string;
  keyIds?: string[];
  disks: DiskOutcome[];
  /** Next run's previousChangeIds. */
  changeIds: Record<number, string>;
  warnings: string[];
  error?: string;
  /** The error that failed the VM, as thrown (the caller may tell a passing outage from a real failure). */
  cause?: unknown;
  log: string[];
}

export async function backupVm(o: BackupVmOptions): Promise<VmBackupResult> {
  const { vm, host } = o;
  const log: string[] = [];
  const warnings: string[] = [];
  const say = (line: string) => {
    log.push(line);
    o.onLog?.(line);
  };
  const warn = (line: string) => {
    warnings.push(line);
    say(`Warning: ${line}`);
    o.onEvent?.({ type: "warning", vmExternalId: vm.externalId, text: line });
  };
  const ended = (r: VmBackupResult): VmBackupResult => {
    o.onEvent?.({ type: "vm-done", vmExternalId: vm.externalId, status: r.status, pointId: r.pointId ?? null, error: r.error ?? null, text: r.pointId ? `${vm.name}: restore point ${r.pointId} (${r.status})` : `${vm.name}: ${r.error ?? r.status}` });
    return r;
  };
  const result: VmBackupResult = { vmExternalId: vm.externalId, vmName: vm.name, status: "failed", disks: [], changeIds: {}, warnings, log };

  // 1. Proxies and modes for every disk, before anything is opened or snapshotted (TRN-5).
  const choices = [];
  for (const disk of vm.disks) {
    const label = `${vm.name} / ${disk.label}`;
    const choice = selectProxy(
      { label, encrypted: disk.encrypted, keyProviderExternalId: disk.encrypted ? vm.keyProviderExternalId : null, siteExternalId: vm.siteExternalId, tenantExternalId: vm.tenantExternalId },
      o.proxies,
      o.selection,
    );
    for (const r of choice.rejected) say(`${label}: ${formatRejection(r)}`);
    // Task limits are taken when the disk is read (step 3); here only whether a proxy can at all.
    if (!choice.ok && !(choice.busy && o.tasks)) {
      result.error = choice.reason;
      say(`Error: ${choice.reason}`);
      return ended(result);
    }
    if (!choice.ok) continue;
    if (!o.tasks) say(`${label}: ${choice.reason}`);
    if (disk.encrypted && choice.mode === "nbd") warn(`${label} is read over NBD without TLS; use NBDSSL for encrypted VMs`);
    choices.push({ disk, choice });
  }
  for (const d of vm.disks) if (!choices.some((c) => c.disk === d)) choices.push({ disk: d, choice: null });

  let session: BackupSession | undefined;
  let touched = false;
  try {
    // 2. The point's attributes (BKP-4).
    const files = vm.encrypted && host.vmFiles ? await host.vmFiles(vm.externalId) : null;
    if (vm.encrypted && !files) warn(`${vm.name}: the platform gave no NVRAM or encryption.bundle; a restore will need new keys`);
    const attributes: Record<string, unknown> = {
      kind: "vm",
      vm: structuredClone(vm),
      encrypted: vm.encrypted,
      ...(files
        ? {
            keyId: files.keyId ?? vm.keyId,
            keyProviderExternalId: files.keyProviderExternalId ?? vm.keyProviderExternalId,
            encryptionBundle: files.encryptionBundle,
            nvram: files.nvram ? files.nvram.toString("base64") : null,
          }
        : {}),
      storagePolicies: { home: vm.homeStoragePolicyExternalId, ...Object.fromEntries(vm.disks.map((d) => [String(d.deviceKey), d.storagePolicyExternalId])) },
    };
    session = await o.repository.beginPoint({ chainId: o.chainId, protection: o.protection, keyRing: o.keyRing, attributes });

    // 3. The disks, one after the other.
    for (const planned of choices) {
      const { disk } = planned;
      const label = `${vm.name} / ${disk.label}`;
      let opened: BackupDisk | undefined;
      let lease: ProxyTaskLease | null = null;
      let leaseProxyId = "";
      try {
        o.signal?.throwIfAborted();
        // The proxy, chosen now against the task counts of every worker, and one of its slots.
        let choice = planned.choice && planned.choice.ok ? planned.choice : null;
        if (o.tasks) {
          ({ choice, lease } = await takeProxySlot({
            tasks: o.tasks,
            proxies: o.proxies,
            selection: o.selection,
            disk: { label, encrypted: disk.encrypted, keyProviderExternalId: disk.encrypted ? vm.keyProviderExternalId : null, siteExternalId: vm.siteExternalId, tenantExternalId: vm.tenantExternalId },
            vmExternalId: vm.externalId,
            deviceKey: disk.deviceKey,
            signal: o.signal,
            busyWaitMs: o.busyWaitMs,
            onEvent: o.onEvent,
          }));
          leaseProxyId = choice.proxy.externalId;
        }
        if (!choice) throw new Error(`${label}: no proxy can read the disk`);
        o.onEvent?.({ type: "disk-planned", vmExternalId: vm.externalId, deviceKey: disk.deviceKey, proxyExternalId: choice.proxy.externalId, proxyName: choice.proxy.name, mode: choice.mode, reason: choice.reason, rejected: choice.rejected.map(formatRejection), text: `${label}: ${choice.reason}` });
        if (o.tasks) say(`${label}: ${choice.reason}`);
        touched = true;
        opened = await host.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey: disk.deviceKey, mode: choice.mode, proxy: choice.proxy });
        const since = changeIdToExtend(session, disk.deviceKey, o.previousChangeIds?.[disk.deviceKey], (line) => warn(`${label}: ${line}`));
        const plan = await readPlan(host, vm.externalId, disk.deviceKey, since, (line) => warn(`${label}: ${line}`));
        const diskResult = await backupDisk({
          session,
          diskId: diskIdOf(disk.deviceKey),
          reader: opened.reader,
          blockSize: o.repository.config.blockSize,
          plan,
          attributes: {
            deviceKey: disk.deviceKey,
            label: disk.label,
            capacityBytes: disk.capacityBytes,
            storagePolicyExternalId: disk.storagePolicyExternalId,
            datastoreExternalId: disk.datastoreExternalId,
            encrypted: disk.encrypted,
            keyId: disk.keyId,
            changeId: opened.changeId,
            transportMode: choice.mode,
            proxy: choice.proxy.name,
          },
          onProgress: o.onProgress && ((p) => o.onProgress!({ ...p, vmExternalId: vm.externalId, deviceKey: disk.deviceKey })),
          progressIntervalMs: o.progressIntervalMs,
          signal: o.signal,
        });
        o.onEvent?.({ type: "disk-done", vmExternalId: vm.externalId, deviceKey: disk.deviceKey, incremental: plan.kind === "incremental", bytesRead: diskResult.bytesRead, bytesTransferred: diskResult.bytesTransferred, text: `${label}: done` });
        say(`${label}: ${plan.kind === "incremental" ? "incremental" : "full"}, read ${diskResult.bytesRead} bytes, stored ${diskResult.bytesTransferred} bytes`);
        result.disks.push({ deviceKey: disk.deviceKey, diskId: diskIdOf(disk.deviceKey), proxyName: choice.proxy.name, mode: choice.mode, reason: choice.reason, rejected: choice.rejected.map(formatRejection), changeId: opened.changeId, result: diskResult });
        result.changeIds[disk.deviceKey] = opened.changeId;
      } catch (e) {
        throw new Error(`${label}: ${messageOf(e)}`, { cause: e });
      } finally {
        await opened?.reader.close().catch(() => undefined);
        if (lease) {
          // Recorded before the slot is given back, as task-start is after it was taken: the
          // next holder's task-start then always comes after this end, and the events never
          // show more tasks than the proxy has slots (ended after the release, a busy process
          // recorded the end up to ~100 ms after another worker had taken the slot).
          o.onEvent?.({ type: "task-end", vmExternalId: vm.externalId, deviceKey: disk.deviceKey, proxyExternalId: leaseProxyId, slot: lease.slot, text: "" });
          await lease.release().catch(() => undefined);
        }
      }
    }

    const committed = await session.commit();
    session = undefined;
    for (const w of committed.warnings) warn(w);
    Object.assign(result, { pointId: committed.pointId, chainId: committed.chainId, keyIds: committed.keyIds });
    result.status = warnings.length ? "warning" : "success";
    say(`${vm.name}: restore point ${committed.pointId} (${result.status})`);
  } catch (e) {
    result.status = "failed";
    result.changeIds = {};
    result.error = messageOf(e);
    result.cause = e;
    say(`Error: ${result.error}`);
  } finally {
    await session?.abort().catch(() => undefined);
    if (touched) {
      await host.releaseSnapshot(vm.externalId).catch((e: unknown) => {
        const line = `${vm.name}: the snapshot was not removed: ${messageOf(e)}`;
        warnings.push(line);
        say(`Warning: ${line}`);
        if (result.status === "success") result.status = "warning";
      });
    }
  }
  return ended(result);
}


/**
 * The change id an incremental of this disk starts from: the one recorded in the parent point the
 * new point extends — the chain's newest point as the repository holds it now — never the
 * caller's memory of the last run, which is stale when the repository folder was put back from an
 * older copy or its newest point was lost (BKP-2). Undefined ⇒ a full read, deduplicated against
 * the parent when there is one. A caller's id that disagrees is reported: it means a rollback.
 */
function changeIdToExtend(session: BackupSession, deviceKey: number, expected: string | undefined, warn: (line: string) => void): string | undefined {
  const parentId = session.parentPointId;
  if (!parentId) {
    if (expected) warn("the repository holds no earlier restore point of this chain, although the console recorded one (the repository folder was rolled back or its points were deleted): reading the whole disk");
    return undefined;
  }
  const attributes = session.parentDiskAttributes(diskIdOf(deviceKey));
  if (!attributes) {
    if (expected) warn(`the newest restore point in the repository (${parentId}) does not hold this disk: reading the whole disk`);
    return undefined;
  }
  const changeId = typeof attributes.changeId === "string" && attributes.changeId ? attributes.changeId : undefined;
  if (!changeId) {
    warn(`the newest restore point in the repository (${parentId}) records no change id for this disk: reading the whole disk, deduplicated against that point`);
    return undefined;
  }
  if (expected && expected !== changeId) {
    warn(`the newest restore point in the repository is ${parentId}, older than the last one the console recorded (the repository folder was rolled back or its newest point was lost): reading the changes since ${parentId}`);
  }
  return changeId;
}

/** Incremental from CBT when possible; a full read (deduplicated against the parent) otherwise. */
async function readPlan(host: VmBackupHost, vmExternalId: string, deviceKey: number, changeId: string | undefined, warn: (line: string) => void): Promise<DiskReadPlan> {
  if (changeId) {
    try {
      return { kind: "incremental", areas: await host.queryChangedAreas({ vmExternalId, deviceKey, changeId }) };
    } catch (e) {
      if (!(e instanceof HostError && e.code === "FileFault")) throw e;
      warn(`changed block tracking does not know change id ${changeId} (reset?): reading the whole disk, deduplicated against the previous point`);
    }
  }
  try {
    return { kind: "full", areas: await host.queryChangedAreas({ vmExternalId, deviceKey, changeId: "*" }) };
  } catch (e) {
    if (!(e instanceof HostError && e.code === "FileFault")) throw e;
    return { kind: "full", areas: "all" };
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Several VMs, one after the other: a failed VM never fails the others (BKP-5). */
export async function backupVms(vms: readonly PlatformVm[], options: (vm: PlatformVm) => BackupVmOptions): Promise<VmBackupResult[]> {
  const results: VmBackupResult[] = [];
  for (const vm of vms) {
    try {
      results.push(await backupVm(options(vm)));
    } catch (e) {
      results.push({ vmExternalId: vm.externalId, vmName: vm.name, status: "failed", disks: [], changeIds: {}, warnings: [], error: messageOf(e), log: [] });
    }
  }
  return results;
}
