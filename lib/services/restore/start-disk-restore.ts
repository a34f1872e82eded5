import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { enqueue } from "@/lib/jobs";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import { restoreDisksSchema } from "@/lib/schemas/restore";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "@/lib/services/inventory/platform";
import { decryptionRefusal, planDiskRestoreNow } from "./check-disk-restore";

// Starts a disk restore (RST-7): chosen disks of a point attached to a VM that exists now, each
// replacing one of its disks or added. Checked before it is queued (the point opens, the VM exists
// and is the same tenant's, every disk can go where asked — RST-3 — and the VM is not part of a
// running session); queued as one "restore-disks" job, in the same transaction as the session, its
// rows and the audit record (SEC-4). The job powers the VM off and checks it all again.

export async function startDiskRestore(actor: Actor, raw: unknown): Promise<{ sessionId: string }> {
  authorize(actor, "restore:run");
  const input = parseInput(restoreDisksSchema, raw);
  const { plan, row } = await planDiskRestoreNow(input, await platform().inventory());
  const vm = plan.target;
  if (!row || !vm || plan.problems.length) {
    const fieldErrors = Object.fromEntries(plan.problems.map((p) => [p.field, [p.message]]));
    const notFound = plan.problems.some((p) => p.field === "targetVmExternalId" && /no longer exists/.test(p.message));
    throw new AppError(notFound ? "NOT_FOUND" : "CONFLICT", `The disk restore cannot start: ${plan.problems.map((p) => p.message).join(" ")}`, fieldErrors);
  }
  const busy = await db.sessionVm.findFirst({ where: { vmExternalId: vm.externalId, state: { in: ["pending", "running"] }, session: { state: { in: ["queued", "running"] } } }, select: { session: { select: { title: true } } } });
  if (busy) throw new AppError("CONFLICT", `${vm.name} is part of a running session (${busy.session.title}): wait for it to end.`);
  const sessionId = await serializableTransaction(async (tx) => {
    // SEC-2, in the transaction that would act (the wizard's check said it beforehand).
    const refusal = await decryptionRefusal(plan, tx);
    if (refusal) throw new AppError("CONFLICT", refusal);
    const s = await tx.jobSession.create({ data: { kind: "restore", subject: `vm:${vm.externalId}`, title: `Restore ${plan.attach.length === 1 ? "a disk" : `${plan.attach.length} disks`} of ${row.vmName} to ${vm.name}`, state: "running", startedAt: new Date(), trigger: "manual", requestedById: actor.id, reason: input.reason } });
    const progress: VmRunProgress = {
      vmExternalId: vm.externalId,
      vmId: null,
      name: `${row.vmName} → ${vm.name}`,
      encrypted: vm.encrypted,
      status: "pending",
      incremental: null,
      pointId: input.pointId,
      keyIds: row.keyIds,
      error: null,
      warnings: [],
      startedAt: null,
      endedAt: null,
      disks: plan.attach.map((a) => ({ deviceKey: a.target.deviceKey, label: a.target.label, encrypted: a.target.encrypted, bytesToRead: a.target.capacityBytes, bytesRead: 0, bytesTransferred: 0, rate: 0, done: false, proxy: null, mode: null, reason: null })),
    };
    await tx.sessionVm.create({ data: { sessionId: s.id, position: 0, vmExternalId: vm.externalId, name: progress.name, progress: JSON.stringify(progress) } });
    await tx.restoreItem.create({
      data: { sessionId: s.id, vmExternalId: vm.externalId, pointId: input.pointId, repositoryId: row.repositoryId, choices: JSON.stringify({ mode: "disks", targetVmExternalId: vm.externalId, disks: input.disks }), powerOn: input.powerOn, consequences: JSON.stringify(plan.consequences), targetVmExternalId: vm.externalId, targetVmName: vm.name },
    });
    await enqueue(tx, { kind: "restore-disks", payload: { sessionId: s.id, vmExternalId: vm.externalId }, singletonKey: `restore-disks:${s.id}:${vm.externalId}` });
    await recordAuditEvent(
      {
        actor,
        action: "restore.start",
        objectType: "vm",
        objectId: vm.externalId,
        outcome: "success",
        details: { session: s.id, point: input.pointId, mode: "disks", source: row.vmExternalId, target: vm.externalId, disks: plan.attach.map((a) => `${a.target.label}: ${a.replace ? "replaced" : "added"}, ${a.target.encrypted ? "encrypted" : "unencrypted"}`).join("; "), reason: input.reason },
      },
      tx,
    );
    return s.id;
  });
  return { sessionId };
}
