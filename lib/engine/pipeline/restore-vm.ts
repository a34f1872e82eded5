// One VM back from a restore point (RST-1…6): create the VM the plan describes (restore-plan.ts),
// write each disk through a proxy and transport mode the policy allows for writing (an encrypted
// disk never over SAN, TRN-2), check that the VM is as planned — encryption, key id, disks, vTPM,
// network adapters —
// and power it on when asked. A failure at any step deletes the VM it created: a restore is never
// half-succeeded, and the original VM (a new-location restore) is never touched.
//
// Power-on is the last step and its own outcome: a VM whose key provider the site cannot reach is
// restored but does not start (RST-6), which the result says with the reason.

import type { PlatformVm, TransportMode, VmRuntime } from "../../platform/connector";
import { HostError } from "../../platform/errors";
import type { VmRestoreHost } from "../../platform/restore-host";
import type { OpenPoint } from "../repository/open-point";
import type { ProxyTaskGate, ProxyTaskLease } from "./events";
import { formatRejection, selectProxy, type CandidateProxy, type SelectionOptions } from "./proxy-selection";
import { takeProxySlot } from "./proxy-slots";
import { restoreDiskToWriter, type RestoreProgress, type RestoreToWriterResult } from "./restore-disk";
import type { VmRestorePlan } from "./restore-plan";

export type RestoreEvent =
  | { type: "vm-created"; vmExternalId: string; text: string }
  | { type: "disk-attached"; vmExternalId: string; deviceKey: number; text: string }
  | { type: "disk-planned"; vmExternalId: string; deviceKey: number; proxyExternalId: string; proxyName: string; mode: TransportMode; reason: string; rejected: string[]; text: string }
  | { type: "task-start"; vmExternalId: string; deviceKey: number; proxyExternalId: string; slot: number; text: string }
  | { type: "task-end"; vmExternalId: string; deviceKey: number; proxyExternalId: string; slot: number; text: string }
  | { type: "waiting"; vmExternalId: string; deviceKey: number; text: string }
  | { type: "disk-restored"; vmExternalId: string; deviceKey: number; bytesWritten: number; durationMs: number; text: string }
  | { type: "warning"; vmExternalId: string | null; text: string }
  | { type: "check"; vmExternalId: string; ok: boolean; text: string }
  | { type: "powered-on"; vmExternalId: string; text: string };

export type RestorePlatform = VmRestoreHost & {
  vmRuntime(vmExternalId: string): Promise<VmRuntime>;
  powerOn(vmExternalId: string): Promise<VmRuntime>;
};

export interface RestoreVmOptions {
  host: RestorePlatform;
  point: OpenPoint;
  plan: VmRestorePlan;
  proxies: readonly CandidateProxy[];
  selection: SelectionOptions;
  /** Proxy task slots across workers (TRN-6); without it the counts in `proxies` are used. */
  tasks?: ProxyTaskGate;
  powerOn: boolean;
  /** Called once the VM exists, before any byte is written (a retry after a crash deletes it). */
  onCreated?: (vm: PlatformVm) => Promise<void> | void;
  onEvent?: (e: RestoreEvent) => void;
  onProgress?: (p: RestoreProgress & { deviceKey: number }) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  busyWaitMs?: number;
  inFlight?: number;
}

export interface RestoredDisk {
  deviceKey: number;
  proxyName: string;
  mode: TransportMode;
  reason: string;
  result: RestoreToWriterResult;
}

export interface VmRestoreResult {
  status: "success" | "warning" | "failed";
  /** The restored VM (null when the restore failed: nothing is left). */
  vm: PlatformVm | null;
  disks: RestoredDisk[];
  /** The post-restore check, line by line. */
  checks: Array<{ ok: boolean; text: string }>;
  poweredOn: boolean;
  warnings: string[];
  error: string | null;
}

export async function restoreVm(o: RestoreVmOptions): Promise<VmRestoreResult> {
  const { host, plan } = o;
  const warnings: string[] = [];
  const result: VmRestoreResult = { status: "success", vm: null, disks: [], checks: [], poweredOn: false, warnings, error: null };
  const warn = (vmId: string | null, text: string) => {
    warnings.push(text);
    o.onEvent?.({ type: "warning", vmExternalId: vmId, text });
  };
  for (const c of plan.consequences) warn(null, c);
  let created: PlatformVm | null = null;
  try {
    o.signal?.throwIfAborted();
    created = await host.createVm(plan.request);
    await o.onCreated?.(created);
    o.onEvent?.({ type: "vm-created", vmExternalId: created.externalId, text: `Created ${created.name} (${created.externalId}) on ${plan.request.hostExternalId}${created.encrypted ? `, encrypted with key ${created.keyId}` : ", unencrypted"}` });

    for (const d of plan.disks) {
      o.signal?.throwIfAborted();
      const disk = created.disks.find((x) => x.deviceKey === d.deviceKey)!;
      const label = `${created.name} / ${d.label}`;
      const selectionDisk = { label, encrypted: disk.encrypted, keyProviderExternalId: disk.encrypted ? created.keyProviderExternalId : null, siteExternalId: created.siteExternalId, tenantExternalId: created.tenantExternalId };
      let lease: ProxyTaskLease | null = null;
      let choice;
      if (o.tasks) {
        ({ choice, lease } = await takeProxySlot({ tasks: o.tasks, proxies: o.proxies, selection: o.selection, disk: selectionDisk, vmExternalId: created.externalId, deviceKey: d.deviceKey, signal: o.signal, busyWaitMs: o.busyWaitMs, onEvent: o.onEvent }));
      } else {
        const c = selectProxy(selectionDisk, o.proxies, o.selection);
        if (!c.ok) throw new Error(c.reason);
        choice = c;
      }
      const proxyId = choice.proxy.externalId;
      try {
        o.onEvent?.({ type: "disk-planned", vmExternalId: created.externalId, deviceKey: d.deviceKey, proxyExternalId: proxyId, proxyName: choice.proxy.name, mode: choice.mode, reason: choice.reason, rejected: choice.rejected.map(formatRejection), text: `${label}: written by ${choice.reason}` });
        const writer = await host.openDiskForWrite({ vmExternalId: created.externalId, deviceKey: d.deviceKey, mode: choice.mode, proxy: choice.proxy });
        let r: RestoreToWriterResult;
        try {
          r = await restoreDiskToWriter({
            point: o.point,
            diskId: d.sourceDiskId,
            writer,
            targetIsEmpty: true,
            inFlight: o.inFlight,
            signal: o.signal,
            progressIntervalMs: o.progressIntervalMs,
            onProgress: o.onProgress && ((p) => o.onProgress!({ ...p, deviceKey: d.deviceKey })),
          });
          await writer.close();
        } catch (e) {
          await writer.abort().catch(() => undefined);
          throw e;
        }
        result.disks.push({ deviceKey: d.deviceKey, proxyName: choice.proxy.name, mode: choice.mode, reason: choice.reason, result: r });
        o.onEvent?.({ type: "disk-restored", vmExternalId: created.externalId, deviceKey: d.deviceKey, bytesWritten: r.bytesWritten, durationMs: r.durationMs, text: `${label}: restored ${r.dataBlocks} data blocks (${r.bytesWritten} bytes) in ${r.durationMs} ms` });
      } finally {
        if (lease) {
          await lease.release().catch(() => undefined);
          o.onEvent?.({ type: "task-end", vmExternalId: created.externalId, deviceKey: d.deviceKey, proxyExternalId: proxyId, slot: lease.slot, text: "" });
        }
      }
    }

    // The post-restore check: the VM the platform now reports is the one planned.
    const rt = await host.vmRuntime(created.externalId);
    const check = (ok: boolean, text: string) => {
      result.checks.push({ ok, text });
      o.onEvent?.({ type: "check", vmExternalId: created!.externalId, ok, text });
    };
    const wantEncrypted = plan.request.home.crypto.kind !== "none";
    check(rt.encrypted === wantEncrypted, `VM home ${rt.encrypted ? "encrypted" : "unencrypted"}${wantEncrypted === rt.encrypted ? ", as planned" : `, planned ${wantEncrypted ? "encrypted" : "unencrypted"}`}`);
    const c = plan.request.home.crypto;
    if (c.kind === "saved-keys" || c.kind === "key-id") check(rt.keyId === c.keyId, rt.keyId === c.keyId ? `Same key id as at backup (${c.keyId})` : `Key id ${rt.keyId}, planned ${c.keyId}`);
    for (const d of plan.request.disks) {
      const got = rt.disks.find((x) => x.deviceKey === d.deviceKey);
      check(!!got && got.encrypted === d.encrypted, `${d.label}: ${got ? (got.encrypted ? "encrypted" : "unencrypted") : "missing"}${got && got.encrypted === d.encrypted ? ", as planned" : `, planned ${d.encrypted ? "encrypted" : "unencrypted"}`}`);
    }
    if (plan.request.vtpm) check(created.vtpm, created.vtpm ? "vTPM present" : "vTPM missing");
    for (const n of plan.request.nics ?? []) {
      const got = rt.nics.find((x) => x.deviceKey === n.deviceKey);
      const want = n.networkExternalId === null ? "disconnected" : `on ${n.networkExternalId}${n.connected ? "" : ", not connected"}`;
      const is = !got ? "missing" : got.networkExternalId === null ? "disconnected" : `on ${got.networkName ?? got.networkExternalId}${got.connected ? "" : ", not connected"}`;
      const ok = !!got && got.networkExternalId === n.networkExternalId && got.connected === n.connected && got.adapterType === n.adapterType;
      check(ok, `${n.label}: ${is}${ok ? ", as planned" : `, planned ${want}`}`);
    }
    const extra = rt.nics.filter((x) => !(plan.request.nics ?? []).some((n) => n.deviceKey === x.deviceKey));
    if (extra.length) check(false, `Unplanned network adapters: ${extra.map((x) => x.label).join(", ")}`);
    const failed = result.checks.filter((x) => !x.ok);
    if (failed.length) throw new Error(`the restored VM is not as planned: ${failed.map((x) => x.text).join("; ")}`);
    result.vm = created;

    if (o.powerOn) {
      try {
        await host.powerOn(created.externalId);
        result.poweredOn = true;
        o.onEvent?.({ type: "powered-on", vmExternalId: created.externalId, text: `${created.name} is powered on` });
      } catch (e) {
        // RST-6: the data is back; the VM does not start. Said, not undone.
        const why = e instanceof HostError && e.code === "KeyProviderUnavailable" ? `its key provider cannot be reached (${e.message}); it starts once the site reaches the key provider` : messageOf(e);
        warn(created.externalId, `${created.name} was restored but does not power on: ${why}`);
      }
    }
    if (warnings.length && result.status === "success") result.status = "warning";
    return result;
  } catch (e) {
    result.status = "failed";
    result.error = o.signal?.aborted ? "stopped by request" : messageOf(e);
    result.vm = null;
    if (created) {
      await host.deleteVm(created.externalId).catch((err: unknown) => warn(created!.externalId, `the half-restored VM ${created!.name} could not be deleted: ${messageOf(err)}; delete it by hand`));
    }
    return result;
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
