"use client";
import type { ActionState } from "@/lib/auth/safe-action";
import type { ReplicationWizardOptionsDto } from "@/lib/services/replication/get-replication-wizard-options";
import { updateReplicationJobAction } from "@/app/(console)/replication/manage-actions";
import { ReplicationWizard } from "./replication-wizard";
import type { ReplicationWizardForm } from "./wizard-form";

// The replication wizard in edit mode: Save sends the job's new choices to updateReplicationJobAction
// (validated and checked like a new job; a change that weakens the replicas' keys becomes a
// four-eyes request, and the page then says so instead of leaving).

type Action = (prev: ActionState, input: Record<string, unknown>) => Promise<ActionState>;

export function EditReplicationJob({ jobId, options, initial, checkAction }: { jobId: string; options: ReplicationWizardOptionsDto; initial: Partial<ReplicationWizardForm>; checkAction: Action }) {
  const save: Action = async (_prev, input) => {
    const { runNow: _runNow, ...job } = input;
    const r = await updateReplicationJobAction(jobId, job);
    // Sent for approval: stay on the page with the message (no id: the wizard shows it).
    if (r?.ok && (r.data as { approvalRequestId?: string | null } | undefined)?.approvalRequestId) return { ...r, id: undefined };
    return r;
  };
  return <ReplicationWizard options={options} checkAction={checkAction} save={save} initial={initial} editingJobId={jobId} cancelHref={`/replication/${jobId}`} />;
}
