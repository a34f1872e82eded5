"use client";
import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { deleteReplicationJobAction, setReplicationJobEnabledAction } from "@/app/(console)/replication/manage-actions";
import type { ActionState } from "@/lib/auth/safe-action";

// Edit, enable/disable and delete of one replication job (its page's header). The server
// authorizes and refuses while a session runs; the answer is shown next to the buttons.

const BTN = "rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50";

export function ReplicationJobControls({ job }: { job: { id: string; name: string; enabled: boolean; busy: boolean; replicaVmNames: string[] } }) {
  const router = useRouter();
  const qc = useQueryClient();
  const [pending, start] = useTransition();
  const [result, setResult] = useState<ActionState>(null);
  const [confirming, setConfirming] = useState(false);
  const [alsoVms, setAlsoVms] = useState(false);
  const busy = job.busy ? "A session of this job is running: wait for it to end or stop it first." : undefined;

  const toggle = () =>
    start(async () => {
      const r = await setReplicationJobEnabledAction(job.id, !job.enabled);
      setResult(r);
      void qc.invalidateQueries();
      if (r?.ok) router.refresh();
    });
  const remove = () =>
    start(async () => {
      const r = await deleteReplicationJobAction(job.id, alsoVms);
      setResult(r);
      if (r?.ok) {
        void qc.invalidateQueries();
        router.push("/replication");
      }
    });

  return (
    <div className="flex flex-col items-end gap-2">
      <div className="flex flex-wrap items-center gap-2">
        {busy ? (
          <span className={`${BTN} cursor-not-allowed opacity-50`} title={busy} aria-disabled="true">Edit</span>
        ) : (
          <Link href={`/replication/${job.id}/edit`} className={BTN} data-testid="edit-replication-job">Edit</Link>
        )}
        <button type="button" className={BTN} onClick={toggle} disabled={pending} title={job.enabled ? "The scheduler skips a disabled job; it can still run now." : "The job runs on its schedule again."} data-testid="toggle-enabled">
          {job.enabled ? "Disable" : "Enable"}
        </button>
        <button type="button" className={`${BTN} border-red-300 text-red-700 hover:bg-red-50`} onClick={() => setConfirming(true)} disabled={pending || !!busy} title={busy} data-testid="delete-replication-job">
          Delete…
        </button>
      </div>
      {confirming && (
        <div role="dialog" aria-label={`Delete ${job.name}`} className="w-[28rem] rounded-md border border-red-200 bg-white p-3 text-sm shadow-lg" data-testid="delete-dialog">
          <p className="font-medium text-slate-900">Delete the replication job {job.name}?</p>
          <p className="mt-1 text-slate-600">Its schedule, sessions and the console&apos;s record of its replicas go. The replica VMs at the target stay — powered off, with their restore points — unless you delete them too.</p>
          {job.replicaVmNames.length > 0 && (
            <label className="mt-2 flex items-start gap-2">
              <input type="checkbox" checked={alsoVms} onChange={(e) => setAlsoVms(e.target.checked)} data-testid="delete-replica-vms" />
              <span>
                Also delete the replica VMs at the target: <strong>{job.replicaVmNames.join(", ")}</strong>. They cannot be failed over to afterwards.
              </span>
            </label>
          )}
          <div className="mt-3 flex gap-2">
            <button type="button" className="rounded-md bg-red-600 px-3 py-1.5 font-medium text-white hover:bg-red-700 disabled:opacity-50" onClick={remove} disabled={pending} data-testid="confirm-delete">
              {pending ? "Deleting…" : "Delete"}
            </button>
            <button type="button" className={BTN} onClick={() => setConfirming(false)} disabled={pending}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {result && (
        <p className={`max-w-md text-right text-sm ${result.ok ? "text-emerald-800" : "text-red-700"}`} data-testid={result.ok ? "action-message" : "action-error"}>
          {result.ok ? result.message : result.formError}
        </p>
      )}
    </div>
  );
}
