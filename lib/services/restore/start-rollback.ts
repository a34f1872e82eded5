import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { enqueue } from "@/lib/jobs";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import { rollbackVmSchema } from "@/lib/schemas/restore";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "@/lib/services/inventory/platform";
import { openRestorePoint } from "./open-restore-point";

// Starts an in-place restore (original location, RST-1): the VM that still exists brought back
// to a restore point — every chosen disk overwritten, or a quick rollback of only the blocks that
// differ. Checked before it is queued: the VM exists, each chosen disk is in the point and has the
// same size. The VM's configuration and keys stay; it is powered off when the restore starts.

export async function startRollback(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "restore:run");
  const input = parseInput(rollbackVmSchema, raw);
  const opened = await openRestorePoint(input.pointId, `strongroom/${process.pid}/rollback-check`);
  const source = opened.source;
  const pointDisks = opened.point.disks.map((d) => ({ diskId: d.diskId, capacity: d.capacity, deviceKey: Number(d.attributes.deviceKey) }));
  await opened.close();
  const vm = (await platform().inventory()).vms.find((v) => v.externalId === opened.row.vmExternalId && v.siteExternalId === source.vm.siteExternalId);
  if (!vm) throw new AppError("CONFLICT", `${opened.row.vmName} no longer exists where it was backed up: restore it to a new location instead.`);
  const keys = input.deviceKeys ?? pointDisks.map((d) => d.deviceKey);
  for (const k of keys) {
    const p = pointDisks.find((d) => d.deviceKey === k);
    const live = vm.disks.find((d) => d.deviceKey === k);
    if (!p) throw new AppError("INVALID_INPUT", `The restore point has no disk ${k}.`, { deviceKeys: [`No disk ${k} in the restore point`] });
    if (!live) throw new AppError("CONFLICT", `${vm.name} has no disk ${k} any more: restore to a new location instead.`);
    if (live.capacityBytes !== p.capacity) throw new AppError("CONFLICT", `${vm.name} / ${live.label} changed size since the restore point: restore to a new location instead.`);
  }
  const busy = await db.sessionVm.findFirst({ where: { vmExternalId: vm.externalId, state: { in: ["pending", "running"] }, session: { state: { in: ["queued", "running"] } } }, select: { session: { select: { title: true } } } });
  if (busy) throw new AppError("CONFLICT", `${vm.name} is part of a running session (${busy.session.title}): wait for it to end.`);
  const what = input.mode === "quick-rollback" ? "Quick rollback" : "Restore (overwrite)";
  const sessionId = await serializableTransaction(async (tx) => {
    const s = await tx.jobSession.create({ data: { kind: "restore", subject: `vm:${vm.externalId}`, title: `${what} of ${vm.name}`, state: "running", startedAt: new Date(), trigger: "manual", requestedById: actor.id, reason: input.reason } });
    const progress: VmRunProgress = {
      vmExternalId: vm.externalId,
      vmId: null,
      name: `${vm.name} (in place)`,
      encrypted: vm.encrypted,
      status: "pending",
      incremental: input.mode === "quick-rollback",
      pointId: input.pointId,
      keyIds: opened.row.keyIds,
      error: null,
      warnings: [],
      startedAt: null,
      endedAt: null,
      disks: keys.map((k) => {
        const d = vm.disks.find((x) => x.deviceKey === k)!;
        return { deviceKey: k, label: d.label, encrypted: d.encrypted, bytesToRead: d.capacityBytes, bytesRead: 0, bytesTransferred: 0, rate: 0, done: false, proxy: null, mode: null, reason: null };
      }),
    };
    await tx.sessionVm.create({ data: { sessionId: s.id, position: 0, vmExternalId: vm.externalId, name: progress.name, progress: JSON.stringify(progress) } });
    const consequences = [`${vm.name} is powered off for the restore; every change since the restore point of ${opened.row.createdAt.toISOString()} on ${keys.length === vm.disks.length ? "its disks" : `${keys.length} of its disks`} is lost.`];
    await tx.restoreItem.create({ data: { sessionId: s.id, vmExternalId: vm.externalId, pointId: input.pointId, repositoryId: opened.row.repositoryId, choices: JSON.stringify({ mode: input.mode, deviceKeys: keys }), powerOn: input.powerOn, consequences: JSON.stringify(consequences), targetVmExternalId: vm.externalId, targetVmName: vm.name } });
    await enqueue(tx, { kind: "restore-vm", payload: { sessionId: s.id, vmExternalId: vm.externalId }, singletonKey: `restore-vm:${s.id}:${vm.externalId}` });
    await recordAuditEvent({ actor, action: "restore.start", objectType: "vm", objectId: vm.externalId, outcome: "success", details: { session: s.id, point: input.pointId, mode: input.mode, disks: keys.join(", "), reason: input.reason } }, tx);
    return s.id;
  });
  return { sessionId };
}
