import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { enqueue } from "@/lib/jobs";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import { startRestoreSchema } from "@/lib/schemas/restore";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "@/lib/services/inventory/platform";
import { checkRestoreVm, type CheckedRestore } from "./check-restore";

// Starts a restore session (RST-1): one or more VMs, each from its restore point to the target the
// wizard chose. Every VM is checked again on the server (the wizard's check may be stale), and
// only a restore that passes for every VM is queued: one "restore-vm" job per VM, in the same
// transaction as the session, its rows and the audit record.

export async function startRestore(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "restore:run");
  const input = parseInput(startRestoreSchema, raw);
  const inventory = await platform().inventory();
  const names = new Set<string>();
  const checked: CheckedRestore[] = [];
  for (const [i, vm] of input.vms.entries()) {
    const key = `${vm.siteExternalId}|${vm.folder}|${vm.name}`;
    if (names.has(key)) throw new AppError("INVALID_INPUT", `Two VMs of this restore would both be named ${vm.name} in ${vm.folder}.`, { [`vms.${i}.name`]: ["Another VM of this restore has this name"] });
    names.add(key);
    const c = await checkRestoreVm(vm, inventory);
    if (!c.ok) {
      const fieldErrors = Object.fromEntries(c.problems.map((p) => [`vms.${i}.${p.field}`, [p.message]]));
      throw new AppError("CONFLICT", `The pre-restore check of ${c.source.vmName || vm.name} failed: ${c.problems.map((p) => p.message).join(" ")}`, fieldErrors);
    }
    checked.push(c);
  }
  const title = input.vms.length === 1 ? `Restore ${checked[0].source.vmName} → ${input.vms[0].name}` : `Restore ${input.vms.length} VMs`;
  const sessionId = await serializableTransaction(async (tx) => {
    const s = await tx.jobSession.create({
      data: { kind: "restore", subject: `vm:${checked[0].source.vmExternalId}`, title, state: "running", startedAt: new Date(), trigger: "manual", requestedById: actor.id, reason: input.reason },
    });
    for (const [i, vm] of input.vms.entries()) {
      const c = checked[i];
      const plan = c.plan!;
      const progress: VmRunProgress = {
        vmExternalId: c.source.vmExternalId,
        vmId: null,
        name: `${c.source.vmName} → ${vm.name}`,
        encrypted: plan.request.home.crypto.kind !== "none",
        status: "pending",
        incremental: null,
        pointId: vm.pointId,
        keyIds: [],
        error: null,
        warnings: [],
        startedAt: null,
        endedAt: null,
        disks: plan.request.disks.map((d) => ({ deviceKey: d.deviceKey, label: d.label, encrypted: d.encrypted, bytesToRead: d.capacityBytes, bytesRead: 0, bytesTransferred: 0, rate: 0, done: false, proxy: null, mode: null, reason: null })),
      };
      await tx.sessionVm.create({ data: { sessionId: s.id, position: i, vmExternalId: c.source.vmExternalId, name: progress.name, progress: JSON.stringify(progress) } });
      await tx.restoreItem.create({
        data: { sessionId: s.id, vmExternalId: c.source.vmExternalId, pointId: vm.pointId, repositoryId: c.source.repositoryId, choices: JSON.stringify(vm), powerOn: vm.powerOn, consequences: JSON.stringify(c.consequences), targetVmName: vm.name },
      });
      await enqueue(tx, { kind: "restore-vm", payload: { sessionId: s.id, vmExternalId: c.source.vmExternalId }, singletonKey: `restore-vm:${s.id}:${c.source.vmExternalId}` });
      await recordAuditEvent(
        {
          actor,
          action: "restore.start",
          objectType: "vm",
          objectId: c.source.vmExternalId,
          outcome: "success",
          details: { session: s.id, point: vm.pointId, target: `${vm.siteExternalId}/${vm.hostExternalId}`, name: vm.name, keys: plan.request.home.crypto.kind, disks: plan.request.disks.map((d) => `${d.label}: ${d.encrypted ? "encrypted" : "unencrypted"}`).join(", "), networks: (plan.request.nics ?? []).map((n) => `${n.label}: ${n.networkExternalId ?? "disconnected"}`).join(", "), reason: input.reason },
        },
        tx,
      );
    }
    return s.id;
  });
  return { sessionId };
}
