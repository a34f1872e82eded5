// Disk restore (RST-7): chosen disks of a restore point attached to a VM that exists now (the
// original or another one), each either *replacing* a disk of that VM (same device key: the old
// disk is detached and its files deleted) or *added* as a new disk, and each encrypted or not as
// asked (RST-3: an encrypted disk only on an encrypted VM, on a datastore under the VM Encryption
// Policy — the platform refuses otherwise, see create-vm-rules.ts planAttachDisk).
//
// Every disk is checked against the VM as it is now before anything is touched (planAttachDisk on
// the VM's record, one after the other); then the VM is powered off, and per disk: attach an empty
// disk, take a proxy slot (TRN-6), write the point's blocks through the transport the policy allows
// (zero blocks skipped: the disk is new), release. A failure removes the disks this run attached
// (a replaced disk's old content is already gone: the result says so) and leaves the VM off.

import { planAttachDisk } from "../../platform/create-vm-rules";
import type { InventorySnapshot, PlatformVm } from "../../platform/connector";
import type { NewVmDisk } from "../../platform/restore-host";
import type { OpenPoint } from "../repository/open-point";
import type { ProxyTaskGate, ProxyTaskLease } from "./events";
import { formatRejection, selectProxy, type CandidateProxy, type SelectionOptions } from "./proxy-selection";
import { takeProxySlot } from "./proxy-slots";
import { restoreDiskToWriter, type RestoreProgress } from "./restore-disk";
import type { RestoredDisk, RestoreEvent, RestorePlatform } from "./restore-vm";

export interface DiskToAttach {
  /** The point's disk (its id in the repository). */
  sourceDiskId: string;
  /** The disk on the target VM: device key, label, capacity (the point disk's), datastore, policy, encrypted. */
  target: NewVmDisk;
  /** Replace the target VM's disk of that device key, or add a new one. */
  replace: boolean;
}

export interface RestoreDisksOptions {
  host: RestorePlatform & { powerOff(vmExternalId: string): Promise<unknown> };
  point: OpenPoint;
  /** The target VM as the platform reports it now. */
  vm: PlatformVm;
  /** The platform's inventory now, for the checks before anything is touched. */
  inventory: InventorySnapshot;
  disks: DiskToAttach[];
  proxies: readonly CandidateProxy[];
  selection: SelectionOptions;
  tasks?: ProxyTaskGate;
  powerOn: boolean;
  onEvent?: (e: RestoreEvent) => void;
  onProgress?: (p: RestoreProgress & { deviceKey: number }) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  busyWaitMs?: number;
}

export interface DisksRestoreResult {
  status: "success" | "warning" | "failed";
  /** The target VM after the restore (null when it failed). */
  vm: PlatformVm | null;
  disks: RestoredDisk[];
  checks: Array<{ ok: boolean; text: string }>;
  poweredOn: boolean;
  warnings: string[];
  error: string | null;
}

export async function restoreDisks(o: RestoreDisksOptions): Promise<DisksRestoreResult> {
  const { host, vm } = o;
  const warnings: string[] = [];
  const result: DisksRestoreResult = { status: "success", vm: null, disks: [], checks: [], poweredOn: false, warnings, error: null };
  const warn = (text: string) => {
    warnings.push(text);
    o.onEvent?.({ type: "warning", vmExternalId: vm.externalId, text });
  };
  const attached: DiskToAttach[] = [];
  try {
    if (o.disks.length === 0) throw new Error("no disk to restore");
    // Everything that could refuse, against the VM as it is now, before it is touched.
    let planned = vm;
    for (const d of o.disks) {
      const info = o.point.disks.find((x) => x.diskId === d.sourceDiskId);
      if (!info) throw new Error(`the restore point has no disk ${d.sourceDiskId}`);
      if (info.capacity !== d.target.capacityBytes) throw new Error(`${d.target.label}: the restored disk is ${info.capacity} bytes, not ${d.target.capacityBytes}`);
      planned = planAttachDisk({ vmExternalId: vm.externalId, disk: d.target, replace: d.replace }, planned, o.inventory);
    }
    o.signal?.throwIfAborted();
    const rt = await host.vmRuntime(vm.externalId);
    if (rt.powerState !== "poweredOff") {
      await host.powerOff(vm.externalId);
      // Said in the log; not a warning of the result: the operator confirmed it.
      o.onEvent?.({ type: "warning", vmExternalId: vm.externalId, text: `${vm.name} was powered off for the disk restore` });
    }

    for (const d of o.disks) {
      o.signal?.throwIfAborted();
      const label = `${vm.name} / ${d.target.label}`;
      const now = await host.attachDisk({ vmExternalId: vm.externalId, disk: d.target, replace: d.replace });
      attached.push(d);
      o.onEvent?.({ type: "disk-attached", vmExternalId: vm.externalId, deviceKey: d.target.deviceKey, text: `${label}: ${d.replace ? "the old disk was detached and deleted; an empty one took its place" : "a new disk was added"} (${d.target.encrypted ? "encrypted" : "unencrypted"})` });
      const selectionDisk = { label, encrypted: d.target.encrypted, keyProviderExternalId: d.target.encrypted ? now.keyProviderExternalId : null, siteExternalId: now.siteExternalId, tenantExternalId: now.tenantExternalId };
      let lease: ProxyTaskLease | null = null;
      let choice;
      if (o.tasks) {
        ({ choice, lease } = await takeProxySlot({ tasks: o.tasks, proxies: o.proxies, selection: o.selection, disk: selectionDisk, vmExternalId: vm.externalId, deviceKey: d.target.deviceKey, signal: o.signal, busyWaitMs: o.busyWaitMs, onEvent: o.onEvent }));
      } else {
        const c = selectProxy(selectionDisk, o.proxies, o.selection);
        if (!c.ok) throw new Error(c.reason);
        choice = c;
      }
      const proxyId = choice.proxy.externalId;
      try {
        o.onEvent?.({ type: "disk-planned", vmExternalId: vm.externalId, deviceKey: d.target.deviceKey, proxyExternalId: proxyId, proxyName: choice.proxy.name, mode: choice.mode, reason: choice.reason, rejected: choice.rejected.map(formatRejection), text: `${label}: written by ${choice.reason}` });
        const writer = await host.openDiskForWrite({ vmExternalId: vm.externalId, deviceKey: d.target.deviceKey, mode: choice.mode, proxy: choice.proxy });
        let r;
        try {
          r = await restoreDiskToWriter({ point: o.point, diskId: d.sourceDiskId, writer, targetIsEmpty: true, signal: o.signal, progressIntervalMs: o.progressIntervalMs, onProgress: o.onProgress && ((p) => o.onProgress!({ ...p, deviceKey: d.target.deviceKey })) });
          await writer.close();
        } catch (e) {
          await writer.abort().catch(() => undefined);
          throw e;
        }
        result.disks.push({ deviceKey: d.target.deviceKey, proxyName: choice.proxy.name, mode: choice.mode, reason: choice.reason, result: r });
        o.onEvent?.({ type: "disk-restored", vmExternalId: vm.externalId, deviceKey: d.target.deviceKey, bytesWritten: r.bytesWritten, durationMs: r.durationMs, text: `${label}: restored ${r.dataBlocks} data blocks (${r.bytesWritten} bytes) in ${r.durationMs} ms` });
      } finally {
        if (lease) {
          await lease.release().catch(() => undefined);
          o.onEvent?.({ type: "task-end", vmExternalId: vm.externalId, deviceKey: d.target.deviceKey, proxyExternalId: proxyId, slot: lease.slot, text: "" });
        }
      }
    }

    // The check after: every restored disk is on the VM, encrypted as planned.
    const after = await host.vmRuntime(vm.externalId);
    for (const d of o.disks) {
      const got = after.disks.find((x) => x.deviceKey === d.target.deviceKey);
      const ok = !!got && got.encrypted === d.target.encrypted && got.capacityBytes === d.target.capacityBytes;
      const text = `${d.target.label}: ${got ? (got.encrypted ? "encrypted" : "unencrypted") : "missing"}${ok ? `, ${d.replace ? "replaced" : "added"} as planned` : `, planned ${d.target.encrypted ? "encrypted" : "unencrypted"}`}`;
      result.checks.push({ ok, text });
      o.onEvent?.({ type: "check", vmExternalId: vm.externalId, ok, text });
    }
    const failed = result.checks.filter((c) => !c.ok);
    if (failed.length) throw new Error(`the VM's disks are not as planned: ${failed.map((c) => c.text).join("; ")}`);
    result.vm = { ...planned, powerState: "poweredOff" };

    if (o.powerOn) {
      try {
        await host.powerOn(vm.externalId);
        result.poweredOn = true;
        o.onEvent?.({ type: "powered-on", vmExternalId: vm.externalId, text: `${vm.name} is powered on` });
      } catch (e) {
        warn(`${vm.name} got its disks back but does not power on: ${messageOf(e)}`);
      }
    }
    if (warnings.length) result.status = "warning";
    return result;
  } catch (e) {
    result.status = "failed";
    result.error = o.signal?.aborted ? "stopped by request" : messageOf(e);
    // No half-written disk stays attached: each one this run attached is detached and deleted.
    for (const d of attached.reverse()) {
      await host.detachDisk(vm.externalId, d.target.deviceKey).then(
        () => warn(`${vm.name} / ${d.target.label}: the disk this restore attached was removed again${d.replace ? "; the disk it replaced had already been deleted, so the VM has no disk there now — run the disk restore again" : ""}`),
        (err: unknown) => warn(`${vm.name} / ${d.target.label}: the half-restored disk could not be removed (${messageOf(err)}); remove it by hand`),
      );
    }
    return result;
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
