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
import { HostError, type DiskArea } from "../../platform/lab/data-plane/types";
import type { BackupDisk, ChangedAreasQuery, OpenDiskForBackupOptions } from "../../platform/lab/lab-backup-host";
import type { LabConnector } from "../../platform/lab/lab-connector";
import type { KeyRing } from "../keys/key-ring";
import type { ProtectionPlan } from "../keys/protection";
import type { BackupSession } from "../repository/backup-session";
import type { Repository } from "../repository/repository";
import { backupDisk, type DiskBackupResult, type DiskProgress, type DiskReadPlan } from "./backup-disk";
import { formatRejection, selectProxy, type CandidateProxy, type SelectionOptions } from "./proxy-selection";

/** What a backup needs from the platform (the lab connector; a VADP one later). */
export interface VmBackupHost {
  openDiskForBackup(o: OpenDiskForBackupOptions): Promise<BackupDisk>;
  queryChangedAreas(q: ChangedAreasQuery): Promise<DiskArea[]>;
  releaseSnapshot(vmExternalId: string): Promise<void>;
  /** The VM files a restore of an encrypted VM needs (BKP-4); omitted ⇒ not kept. */
  vmFiles?(vmExternalId: string): Promise<VmFiles>;
}

export interface VmFiles {
  /** The NVRAM file as stored (encrypted for an encrypted VM). */
  nvram: Buffer | null;
  keyId: string | null;
  keyProviderExternalId: string | null;
  encryptionBundle: string | null;
}

/** The lab connector as a VmBackupHost. */
export function labVmBackupHost(c: LabConnector): VmBackupHost {
  return {
    openDiskForBackup: (o) => c.openDiskForBackup(o),
    queryChangedAreas: (q) => c.queryChangedAreas(q),
    releaseSnapshot: (vm) => c.releaseSnapshot(vm),
    async vmFiles(vmExternalId) {
      const labVm = await c.labVm(vmExternalId);
      const cfg = labVm.config;
      return { nvram: await labVm.readNvramFile(), keyId: cfg.keyId, keyProviderExternalId: cfg.keyProviderId, encryptionBundle: cfg.encryptionBundle };
    },
  };
}

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
  /** Change ids of the previous point's disks by device key: incrementals start from them. */
  previousChangeIds?: Readonly<Record<number, string>>;
  onProgress?: (p: DiskProgress & { vmExternalId: string; deviceKey: number }) => void;
  progressIntervalMs?: number;
  /** Session log lines (transport choice and why, CBT fallbacks, warnings). */
  onLog?: (line: string) => void;
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
    if (!choice.ok) {
      result.error = choice.reason;
      say(`Error: ${choice.reason}`);
      return result;
    }
    say(`${label}: ${choice.reason}`);
    if (disk.encrypted && choice.mode === "nbd") warn(`${label} is read over NBD without TLS; use NBDSSL for encrypted VMs`);
    choices.push({ disk, choice });
  }

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
    const hasParent = session.parentPointId !== undefined;

    // 3. The disks, one after the other.
    for (const { disk, choice } of choices) {
      if (!choice.ok) continue;
      const label = `${vm.name} / ${disk.label}`;
      touched = true;
      let opened: BackupDisk | undefined;
      try {
        opened = await host.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey: disk.deviceKey, mode: choice.mode, proxy: choice.proxy });
        const plan = await readPlan(host, vm.externalId, disk.deviceKey, hasParent ? o.previousChangeIds?.[disk.deviceKey] : undefined, (line) => warn(`${label}: ${line}`));
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
        });
        say(`${label}: ${plan.kind === "incremental" ? "incremental" : "full"}, read ${diskResult.bytesRead} bytes, stored ${diskResult.bytesTransferred} bytes`);
        result.disks.push({ deviceKey: disk.deviceKey, diskId: diskIdOf(disk.deviceKey), proxyName: choice.proxy.name, mode: choice.mode, reason: choice.reason, rejected: choice.rejected.map(formatRejection), changeId: opened.changeId, result: diskResult });
        result.changeIds[disk.deviceKey] = opened.changeId;
      } catch (e) {
        throw new Error(`${label}: ${messageOf(e)}`, { cause: e });
      } finally {
        await opened?.reader.close().catch(() => undefined);
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
  return result;
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
