import "server-only";
// What a disk restore (RST-7) would do, worked out against the platform's inventory as it is now —
// shared by the wizard's check, the start (checked again on the server) and the job (checked
// again when it runs, the VM may have changed meanwhile). Pure: no database, no platform calls.
//
// Each chosen disk of the point becomes a disk of the target VM: replacing one of its disks (same
// device key; the old disk is detached and deleted) or added under the next free device key, at the
// point disk's capacity, on a datastore and storage policy of the VM's site, encrypted or not. The
// platform's own rule (create-vm-rules.ts planAttachDisk) decides what is valid — an encrypted disk
// only on an encrypted VM, on a datastore under the VM Encryption Policy (RST-3) — applied disk
// after disk, so the answer is the VM as it will be. A disk goes only to a VM of the same tenant as
// the VM it was backed up from: another tenant's VM never receives this tenant's data.

import type { DiskToAttach } from "@/lib/engine/pipeline/restore-disks";
import type { InventorySnapshot, PlatformVm } from "@/lib/platform/connector";
import { planAttachDisk } from "@/lib/platform/create-vm-rules";
import { HostError } from "@/lib/platform/errors";
import type { DiskRestoreTargetInput } from "@/lib/schemas/restore";

export interface PointDisk {
  deviceKey: number;
  diskId: string;
  label: string;
  capacityBytes: number;
  /** Encrypted when it was backed up (VME-1): restoring it unencrypted is a four-eyes matter (SEC-2). */
  encrypted: boolean;
}

export interface DiskRestorePlan {
  target: PlatformVm | null;
  attach: DiskToAttach[];
  problems: Array<{ field: string; message: string }>;
  /** What the restore means for the target VM, in the operator's words (the confirmation shows them). */
  consequences: string[];
  /** Disks encrypted at backup that this restore writes unencrypted (SEC-2: four-eyes when on). */
  decrypted?: string[];
}

export function planDiskRestore(input: DiskRestoreTargetInput, source: { vmName: string; tenantExternalId: string | null; disks: PointDisk[] }, inventory: InventorySnapshot): DiskRestorePlan {
  const problems: DiskRestorePlan["problems"] = [];
  const attach: DiskToAttach[] = [];
  const consequences: string[] = [];
  const target = inventory.vms.find((v) => v.externalId === input.targetVmExternalId) ?? null;
  if (!target) return { target, attach, problems: [{ field: "targetVmExternalId", message: "That VM no longer exists: choose another VM." }], consequences };
  if (target.tenantExternalId !== source.tenantExternalId) {
    const name = (id: string | null) => (id ? (inventory.tenants.find((t) => t.externalId === id)?.name ?? id) : "the provider (no tenant)");
    return { target, attach, problems: [{ field: "targetVmExternalId", message: `${target.name} belongs to ${name(target.tenantExternalId)}, ${source.vmName} to ${name(source.tenantExternalId)}: a disk goes only to a VM of the same tenant.` }], consequences };
  }
  let planned = target;
  const replaced = new Set<number>();
  const decrypted: string[] = [];
  for (const [i, d] of input.disks.entries()) {
    const from = source.disks.find((x) => x.deviceKey === d.sourceDeviceKey);
    if (!from) {
      problems.push({ field: `disks.${i}.sourceDeviceKey`, message: `The restore point has no disk ${d.sourceDeviceKey}.` });
      continue;
    }
    const replace = d.action === "replace";
    const deviceKey = replace ? d.replaceDeviceKey! : Math.max(1999, ...planned.disks.map((x) => x.deviceKey)) + 1;
    const old = replace ? planned.disks.find((x) => x.deviceKey === deviceKey) : undefined;
    if (replace && replaced.has(deviceKey)) {
      problems.push({ field: `disks.${i}.replaceDeviceKey`, message: `${old?.label ?? `Disk ${deviceKey}`} is already replaced by another disk of this restore.` });
      continue;
    }
    const label = old?.label ?? `Hard disk ${planned.disks.length + 1}`;
    const disk = { deviceKey, label, capacityBytes: from.capacityBytes, datastoreExternalId: d.datastoreExternalId, storagePolicyExternalId: d.storagePolicyExternalId, encrypted: d.encrypted };
    try {
      planned = planAttachDisk({ vmExternalId: target.externalId, disk, replace }, planned, inventory);
    } catch (e) {
      if (!(e instanceof HostError)) throw e;
      problems.push({ field: `disks.${i}`, message: `${from.label}: ${e.message}.` });
      continue;
    }
    if (replace) replaced.add(deviceKey);
    if (from.encrypted && !d.encrypted) decrypted.push(from.label);
    attach.push({ sourceDiskId: from.diskId, target: disk, replace });
    const enc = d.encrypted ? "encrypted" : "unencrypted";
    consequences.push(replace ? `${target.name} / ${label} is detached and deleted; ${from.label} of ${source.vmName} (${enc}) takes its place: every change on it since is lost.` : `${from.label} of ${source.vmName} is added to ${target.name} as ${label} (${enc}).`);
  }
  if (attach.length && target.powerState !== "poweredOff") consequences.unshift(`${target.name} is ${target.powerState === "poweredOn" ? "running" : target.powerState}: it is powered off before its disks change (the guest stops without a clean shutdown).`);
  return { target, attach: problems.length ? [] : attach, problems, consequences, decrypted };
}

/** The point's disks as the plan needs them: device key, repository disk id, label, capacity. */
export function pointDisksOf(point: { disks: ReadonlyArray<{ diskId: string; capacity: number; attributes: Record<string, unknown> }> }, backedUp: PlatformVm | null): PointDisk[] {
  return point.disks.map((d) => {
    const deviceKey = Number(d.attributes.deviceKey);
    const was = backedUp?.disks.find((x) => x.deviceKey === deviceKey);
    return { deviceKey, diskId: d.diskId, capacityBytes: d.capacity, label: was?.label ?? `Disk ${deviceKey}`, encrypted: was?.encrypted ?? Boolean(d.attributes.keyId) };
  });
}
