// A VM that still exists brought back to a restore point in place (RST-1, original location):
//
//   overwrite       every block of each chosen disk is written from the point (zero blocks too),
//                   so the disk is the point's, whatever happened to it since;
//   quick rollback  only the blocks that differ from the point are written: the blocks CBT says
//                   changed since the point's change id, or — when CBT cannot say (reset, unknown
//                   id) — the blocks whose BLAKE3 differs from the point's content hash, read from
//                   the live disk. Meant for guest-level damage (a bad update, ransomware inside the
//                   guest); after a storage failure CBT cannot be trusted, so use overwrite.
//
// The VM is powered off first (a running guest would write under us) and powered on after when
// asked. Its configuration, keys and encryption stay as they are: the disks keep their DEKs, the
// host encrypts what is written. A disk whose capacity no longer matches the point is refused
// before anything is written.

import { blake3 } from "@napi-rs/blake-hash";
import type { VmBackupHost } from "../../platform/backup-host";
import type { PlatformVm, TransportMode } from "../../platform/connector";
import { HostError } from "../../platform/errors";
import { isAllZero } from "../bytes";
import type { OpenPoint } from "../repository/open-point";
import { blockCountOf, blockLength } from "../repository/open-point";
import { diskIdOf } from "./backup-vm";
import { formatRejection, selectProxy, type CandidateProxy, type SelectionOptions } from "./proxy-selection";
import { restoreDiskToWriter, type RestoreProgress, type RestoreToWriterResult } from "./restore-disk";
import type { RestoreEvent, RestorePlatform } from "./restore-vm";

export type RollbackMode = "overwrite" | "quick-rollback";

export interface RollbackVmOptions {
  host: RestorePlatform & VmBackupHost & { powerOff(vmExternalId: string): Promise<unknown> };
  point: OpenPoint;
  /** The VM as the platform reports it now (it must be the point's VM). */
  vm: PlatformVm;
  /** Device keys of the disks to bring back; every disk of the point by default. */
  deviceKeys?: number[];
  mode: RollbackMode;
  proxies: readonly CandidateProxy[];
  selection: SelectionOptions;
  powerOn: boolean;
  onEvent?: (e: RestoreEvent) => void;
  onProgress?: (p: RestoreProgress & { deviceKey: number }) => void;
  signal?: AbortSignal;
}

export interface RolledBackDisk {
  deviceKey: number;
  mode: TransportMode;
  proxyName: string;
  /** How the blocks to write were found (quick rollback): "cbt" or "hash". */
  found: "all" | "cbt" | "hash";
  blocksWritten: number;
  result: RestoreToWriterResult;
}

export interface VmRollbackResult {
  status: "success" | "warning" | "failed";
  disks: RolledBackDisk[];
  poweredOn: boolean;
  warnings: string[];
  error: string | null;
}

export async function rollbackVm(o: RollbackVmOptions): Promise<VmRollbackResult> {
  const { host, point, vm } = o;
  const warnings: string[] = [];
  const result: VmRollbackResult = { status: "success", disks: [], poweredOn: false, warnings, error: null };
  const warn = (text: string) => {
    warnings.push(text);
    o.onEvent?.({ type: "warning", vmExternalId: vm.externalId, text });
  };
  const keys = o.deviceKeys ?? point.disks.map((d) => Number(d.attributes.deviceKey));
  try {
    // Everything that could refuse is checked before the VM is touched.
    const targets = keys.map((deviceKey) => {
      const info = point.disks.find((d) => d.diskId === diskIdOf(deviceKey));
      const live = vm.disks.find((d) => d.deviceKey === deviceKey);
      if (!info) throw new HostError("NotFound", `the restore point has no disk ${deviceKey}`);
      if (!live) throw new HostError("NotFound", `${vm.name} has no disk ${deviceKey} any more: restore to a new location instead`);
      if (live.capacityBytes !== info.capacity) throw new HostError("InvalidState", `${vm.name} / ${live.label} is ${live.capacityBytes} bytes now, ${info.capacity} in the restore point: restore to a new location instead`);
      const choice = selectProxy({ label: `${vm.name} / ${live.label}`, encrypted: live.encrypted, keyProviderExternalId: live.encrypted ? vm.keyProviderExternalId : null, siteExternalId: vm.siteExternalId, tenantExternalId: vm.tenantExternalId }, o.proxies, o.selection);
      if (!choice.ok) throw new Error(choice.reason);
      return { deviceKey, info, live, choice };
    });
    const rt = await host.vmRuntime(vm.externalId);
    if (rt.powerState !== "poweredOff") {
      await host.powerOff(vm.externalId);
      o.onEvent?.({ type: "warning", vmExternalId: vm.externalId, text: `${vm.name} was powered off for the restore` });
    }
    for (const t of targets) {
      o.signal?.throwIfAborted();
      const label = `${vm.name} / ${t.live.label}`;
      let only: Set<number> | undefined;
      let found: RolledBackDisk["found"] = "all";
      if (o.mode === "quick-rollback") {
        ({ only, found } = await differingBlocks(o, t.deviceKey, t.info.attributes.changeId, (line) => warn(`${label}: ${line}`)));
      }
      o.onEvent?.({ type: "disk-planned", vmExternalId: vm.externalId, deviceKey: t.deviceKey, proxyExternalId: t.choice.proxy.externalId, proxyName: t.choice.proxy.name, mode: t.choice.mode, reason: t.choice.reason, rejected: t.choice.rejected.map(formatRejection), text: `${label}: written by ${t.choice.reason}${only ? `; ${only.size} block(s) differ from the point (${found === "cbt" ? "changed block tracking" : "hash comparison"})` : ""}` });
      const writer = await host.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey: t.deviceKey, mode: t.choice.mode, proxy: t.choice.proxy });
      let r: RestoreToWriterResult;
      try {
        r = await restoreDiskToWriter({ point, diskId: t.info.diskId, writer, targetIsEmpty: false, only, signal: o.signal, onProgress: o.onProgress && ((p) => o.onProgress!({ ...p, deviceKey: t.deviceKey })) });
        await writer.close();
      } catch (e) {
        await writer.abort().catch(() => undefined);
        throw e;
      }
      result.disks.push({ deviceKey: t.deviceKey, mode: t.choice.mode, proxyName: t.choice.proxy.name, found, blocksWritten: r.dataBlocks + r.zeroBlocksWritten, result: r });
      o.onEvent?.({ type: "disk-restored", vmExternalId: vm.externalId, deviceKey: t.deviceKey, bytesWritten: r.bytesWritten, durationMs: r.durationMs, text: `${label}: ${r.dataBlocks + r.zeroBlocksWritten} block(s) written (${r.bytesWritten} bytes) in ${r.durationMs} ms` });
    }
    if (o.powerOn) {
      try {
        await host.powerOn(vm.externalId);
        result.poweredOn = true;
        o.onEvent?.({ type: "powered-on", vmExternalId: vm.externalId, text: `${vm.name} is powered on` });
      } catch (e) {
        warn(`${vm.name} was restored but does not power on: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (warnings.length) result.status = "warning";
    return result;
  } catch (e) {
    result.status = "failed";
    result.error = o.signal?.aborted ? "stopped by request" : e instanceof Error ? e.message : String(e);
    return result;
  }
}

/** The blocks of the live disk that differ from the point: by CBT since the point when it can say, else by hash. */
async function differingBlocks(o: RollbackVmOptions, deviceKey: number, changeId: unknown, warn: (line: string) => void): Promise<{ only: Set<number>; found: "cbt" | "hash" }> {
  const { host, point, vm } = o;
  const bs = point.blockSize;
  const info = point.disks.find((d) => d.diskId === diskIdOf(deviceKey))!;
  const proxy = { kind: "physical" as const, transportModes: ["nbdssl" as const, "san" as const, "nbd" as const], keyProviderExternalId: null, privileges: ["Cryptographer.Access" as const], name: "rollback-compare" };
  const encrypted = vm.disks.find((d) => d.deviceKey === deviceKey)!.encrypted;
  const opened = await host.openDiskForBackup({ vmExternalId: vm.externalId, deviceKey, mode: encrypted ? "nbdssl" : "san", proxy });
  try {
    if (typeof changeId === "string" && changeId) {
      try {
        const areas = await host.queryChangedAreas({ vmExternalId: vm.externalId, deviceKey, changeId });
        const only = new Set<number>();
        for (const a of areas) for (let i = Math.floor(a.start / bs); i * bs < a.start + a.length; i++) only.add(i);
        return { only, found: "cbt" };
      } catch (e) {
        if (!(e instanceof HostError && e.code === "FileFault")) throw e;
        warn(`changed block tracking cannot say what changed since the point (${e.message}); comparing every block by hash instead`);
      }
    } else warn("the point has no change id; comparing every block by hash");
    const only = new Set<number>();
    const map = point.blockMap(info.diskId);
    const buf = Buffer.allocUnsafe(bs);
    for (let i = 0, n = blockCountOf(info.capacity, bs); i < n; i++) {
      o.signal?.throwIfAborted();
      const len = blockLength(info.capacity, bs, i);
      const view = buf.subarray(0, len);
      await opened.reader.readInto(i * bs, view);
      const e = map.get(i);
      const same = e?.kind === "data" ? blake3(view).equals(e.contentHash) : isAllZero(view);
      if (!same) only.add(i);
    }
    return { only, found: "hash" };
  } finally {
    await opened.reader.close().catch(() => undefined);
    await host.releaseSnapshot(vm.externalId).catch(() => undefined);
  }
}
