"use server";
import { revalidatePath } from "next/cache";
import { actionGate, type ActionState } from "@/lib/auth/safe-action";
import { isAppError } from "@/lib/errors/app-error";
import type { ActionName } from "@/lib/permissions/actions";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { deleteReplicationJob } from "@/lib/services/replication/delete-replication-job";
import { setReplicationJobEnabled } from "@/lib/services/replication/set-replication-job-enabled";
import { updateReplicationJob } from "@/lib/services/replication/update-replication-job";
import type { Actor } from "@/lib/auth/actor";

// Edit, delete, enable/disable of replication jobs (REP-1, SEC-1): thin — the gate checks the
// origin, the session and the action's permission (lib/permissions/actions.ts), the service
// authorizes again, validates, writes and audits.

const MAX_INPUT_BYTES = 64 * 1024;

type Gate = Awaited<ReturnType<typeof actionGate>>;

async function run(gate: Gate, name: ActionName, input: unknown, body: (actor: Actor) => Promise<Exclude<ActionState, null>>): Promise<ActionState> {
  const at = Date.now();
  if (gate.refusal !== undefined) return { ok: false, formError: gate.refusal, at };
  if (JSON.stringify(input ?? null).length > MAX_INPUT_BYTES) return { ok: false, formError: "The request is too large. Shorten the values and try again.", at };
  try {
    return await body(gate.actor);
  } catch (e) {
    if (isAppError(e)) {
      if (e.code === "FORBIDDEN") await recordAuditEvent({ actor: gate.actor, action: name, outcome: "denied", details: { reason: e.message } });
      return { ok: false, formError: e.message, fieldErrors: e.fieldErrors, at };
    }
    console.error(`[action ${name}] unexpected error`, e instanceof Error ? e.message : e);
    return { ok: false, formError: "Something went wrong on the server; nothing was changed. Try again.", at };
  }
}

function refresh(jobId: string) {
  revalidatePath("/replication", "layout");
  revalidatePath(`/replication/${jobId}`);
  revalidatePath("/replicas");
}

export async function updateReplicationJobAction(jobId: string, raw: unknown): Promise<ActionState> {
  return run(await actionGate("replication.update"), "replication.update", { jobId, raw }, async (actor) => {
    const r = await updateReplicationJob(actor, jobId, raw);
    refresh(r.id);
    const message = r.approvalRequestId ? "Sent for approval: the change applies once another Security Officer approves it." : "Saved.";
    return { ok: true, message: [message, ...r.warnings].join(" "), id: r.id, data: { approvalRequestId: r.approvalRequestId ?? null, newChains: r.newChains, warnings: r.warnings }, at: Date.now() };
  });
}

export async function deleteReplicationJobAction(jobId: string, deleteReplicaVms: boolean): Promise<ActionState> {
  return run(await actionGate("replication.delete"), "replication.delete", { jobId, deleteReplicaVms }, async (actor) => {
    const r = await deleteReplicationJob(actor, { jobId, deleteReplicaVms: deleteReplicaVms === true });
    refresh(jobId);
    const message = r.deletedVms.length
      ? `Deleted ${r.name} and its replica VMs at the target (${r.deletedVms.join(", ")}).`
      : r.keptVms.length
        ? `Deleted ${r.name}. Its replica VMs stay at the target (${r.keptVms.join(", ")}) until you delete them there.`
        : `Deleted ${r.name}.`;
    return { ok: true, message, data: r, at: Date.now() };
  });
}

export async function setReplicationJobEnabledAction(jobId: string, enabled: boolean): Promise<ActionState> {
  return run(await actionGate("replication.set-enabled"), "replication.set-enabled", { jobId, enabled }, async (actor) => {
    const r = await setReplicationJobEnabled(actor, { jobId, enabled: enabled === true });
    refresh(jobId);
    return { ok: true, message: r.enabled ? "Enabled: the job runs on its schedule." : "Disabled: the scheduler skips it; it can still run now.", data: { nextRunAt: r.nextRunAt?.toISOString() ?? null }, at: Date.now() };
  });
}
