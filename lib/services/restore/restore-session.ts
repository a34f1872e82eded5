import "server-only";
import type { Actor } from "@/lib/auth/actor";
import type { DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { enqueue } from "@/lib/jobs";
import type { VmRunProgress } from "@/lib/jobs/session-progress";
import type { StartRestoreInput } from "@/lib/schemas/restore";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { platform } from "@/lib/services/inventory/platform";
import { checkRestoreVm, type CheckedRestore } from "./check-restore";

// A restore session's two halves (RST-1), shared by startRestore and by the approval of a restore
// request (SEC-2): every VM checked against the platform as it is now, then — only when every VM
// passes — one session with one "restore-vm" job per VM, queued in the caller's transaction with
// its rows and the audit record.

/** Checks every VM of the restore again on the server; the first VM that fails refuses the whole restore (CONFLICT, naming the fields). */
export async function checkRestoreSession(input: StartRestoreInput): Promise<CheckedRestore[]> {
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
  return checked;
}

/**
 * Queues the checked restore in `tx`: the session (requested by `requester`), its VM rows and
 * jobs, and a restore.start audit event per VM. `approval` names the request and the Security
 * Officer who approved it when the restore needed four-eyes.
 */
export async function queueRestoreSession(
  tx: DbTx,
  requester: Pick<Actor, "id" | "email" | "sourceIp">,
  input: StartRestoreInput,
  checked: CheckedRestore[],
  approval?: { requestId: string; approvedBy: string },
): Promise<string> {
  const title = input.vms.length === 1 ? `Restore ${checked[0].source.vmName} → ${input.vms[0].name}` : `Restore ${input.vms.length} VMs`;
  const s = await tx.jobSession.create({
    data: { kind: "restore", subject: `vm:${checked[0].source.vmExternalId}`, title, state: "running", startedAt: new Date(), trigger: "manual", requestedById: requester.id, reason: input.reason },
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
        actor: requester,
        action: "restore.start",
        objectType: "vm",
        objectId: c.source.vmExternalId,
        outcome: "success",
        details: {
          session: s.id,
          point: vm.pointId,
          target: `${vm.siteExternalId}/${vm.hostExternalId}`,
          name: vm.name,
          keys: plan.request.home.crypto.kind,
          disks: plan.request.disks.map((d) => `${d.label}: ${d.encrypted ? "encrypted" : "unencrypted"}`).join(", "),
          networks: (plan.request.nics ?? []).map((n) => `${n.label}: ${n.networkExternalId ?? "disconnected"}`).join(", "),
          reason: input.reason,
          ...(approval ? { approvalRequest: approval.requestId, approvedBy: approval.approvedBy } : {}),
        },
      },
      tx,
    );
  }
  return s.id;
}
