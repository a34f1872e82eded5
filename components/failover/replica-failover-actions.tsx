"use client";
import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useId, useState, useTransition } from "react";
import type { ActionState } from "@/lib/auth/safe-action";
import type { FailbackAction, FailoverAction } from "@/lib/services/failover/failover-rules";

// The failover actions of one replica on the replicas view (FOV-1). The list is the one
// allowedFailoverActions gives for the replica's state (computed on the server and passed in), so
// failback's actions join by being added there. Fail over… and Planned failover… open the wizard;
// Undo and Make permanent ask in a dialog that says what is lost, with a reason.

type Action = (prev: ActionState, input: Record<string, unknown>) => Promise<ActionState>;

export interface ReplicaActionsProps {
  replica: { id: string; replicaVmName: string; sourceVmName: string; jobName: string };
  allowed: Array<FailoverAction | FailbackAction>;
  /** Why a role cannot do an action (null: it may). */
  refusals: Partial<Record<FailoverAction | FailbackAction, string | null>>;
  actions: { undo: Action; permanent: Action; commitFailback?: Action; undoFailback?: Action };
}

const LINK = "inline-block rounded-md border border-brand-600 px-2 py-1 text-xs font-medium text-brand-700 hover:bg-brand-50";
const DISABLED = "inline-block cursor-not-allowed rounded-md border border-slate-200 px-2 py-1 text-xs font-medium text-slate-400";

export function ReplicaFailoverActions({ replica, allowed, refusals, actions }: ReplicaActionsProps) {
  const [open, setOpen] = useState<DialogKind | null>(null);
  if (allowed.length === 0) return null;
  const item = (a: FailoverAction | FailbackAction, label: string, el: React.ReactNode) => {
    const refusal = refusals[a];
    if (refusal) {
      return (
        <li key={a}>
          <span className={DISABLED} aria-disabled="true" title={refusal} data-testid={`fo-${a}-disabled`}>{label}</span>
          <span className="mt-0.5 block max-w-[14rem] text-[11px] text-slate-500">{refusal}</span>
        </li>
      );
    }
    return <li key={a}>{el}</li>;
  };
  return (
    <>
      <ul className="flex flex-col items-start gap-1.5" data-testid="failover-actions">
        {allowed.map((a) => {
          if (a === "failover") return item(a, "Fail over…", <Link href={`/replicas/failover?replica=${replica.id}`} className={LINK} data-testid="fo-failover">Fail over…</Link>);
          if (a === "planned") return item(a, "Planned failover…", <Link href={`/replicas/failover?replica=${replica.id}&kind=planned`} className={LINK} data-testid="fo-planned">Planned failover…</Link>);
          if (a === "failback") return item(a, "Fail back…", <Link href={`/replicas/failback?replica=${replica.id}`} className={LINK} data-testid="fo-failback">Fail back…</Link>);
          if (a === "commit-failback") return item(a, "Commit failback…", <button type="button" className={LINK} onClick={() => setOpen("commit-failback")} data-testid="fo-commit-failback">Commit failback…</button>);
          if (a === "undo-failback") return item(a, "Undo failback…", <button type="button" className={LINK} onClick={() => setOpen("undo-failback")} data-testid="fo-undo-failback">Undo failback…</button>);
          if (a === "undo") return item(a, "Undo failover…", <button type="button" className={LINK} onClick={() => setOpen("undo")} data-testid="fo-undo">Undo failover…</button>);
          return item(a, "Make permanent…", <button type="button" className={`${LINK} border-red-300 text-red-700 hover:bg-red-50`} onClick={() => setOpen("permanent")} data-testid="fo-permanent">Make permanent…</button>);
        })}
      </ul>
      {open && <ConfirmDialog kind={open} replica={replica} action={DIALOG_ACTION[open](actions)!} onClose={() => setOpen(null)} />}
    </>
  );
}

type DialogKind = "undo" | "permanent" | "commit-failback" | "undo-failback";
const DIALOG_ACTION: Record<DialogKind, (a: ReplicaActionsProps["actions"]) => Action | undefined> = { undo: (a) => a.undo, permanent: (a) => a.permanent, "commit-failback": (a) => a.commitFailback, "undo-failback": (a) => a.undoFailback };

/** What each dialog says: title, consequence, placeholder, button. */
function dialogWords(kind: DialogKind, r: ReplicaActionsProps["replica"]) {
  if (kind === "commit-failback")
    return {
      title: `Commit the failback of ${r.replicaVmName}?`,
      tone: "bg-amber-50 text-amber-900",
      headline: "Production is the source again.",
      body: `The failed-back VM at the production site stays production for good: the replica ${r.replicaVmName} stays powered off, becomes Ready, and replication job ${r.jobName} resumes from production — its next run ships what changed at production since the failback.`,
      placeholder: "e.g. production checked, back in service",
      button: "Commit failback",
    };
  if (kind === "undo-failback")
    return {
      title: `Undo the failback of ${r.replicaVmName}?`,
      tone: "bg-amber-50 text-amber-900",
      headline: "The replica is production again.",
      body: `The failed-back VM at the production site is powered off — a VM the failback made is deleted — and ${r.replicaVmName} is powered on again at the DR site: it stays failed over. Whatever the failed-back VM wrote since the failback is not kept.`,
      placeholder: "e.g. the production VM does not start its services",
      button: "Undo failback",
    };
  return null;
}

function ConfirmDialog({ kind, replica, action, onClose }: { kind: DialogKind; replica: ReplicaActionsProps["replica"]; action: Action; onClose: () => void }) {
  const router = useRouter();
  const qc = useQueryClient();
  const titleId = useId();
  const [reason, setReason] = useState("");
  const [tried, setTried] = useState(false);
  const [result, setResult] = useState<ActionState>(null);
  const [pending, start] = useTransition();
  const problem = reason.trim().length < 3 ? "Say why (at least 3 characters): it is kept in the session and the audit log." : reason.length > 500 ? "Use at most 500 characters." : undefined;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && !pending && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose, pending]);
  const submit = () => {
    setTried(true);
    if (problem) return;
    start(async () => {
      const r = await action(null, { replicaId: replica.id, reason: reason.trim() });
      setResult(r);
      if (r?.ok && r.id) {
        void qc.invalidateQueries();
        router.push(`/sessions/${r.id}`);
      }
    });
  };
  const undo = kind === "undo";
  const fb = dialogWords(kind, replica);
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-slate-900/40 p-4" role="presentation">
      <div role="dialog" aria-modal="true" aria-labelledby={titleId} className="w-full max-w-lg rounded-lg bg-white p-5 shadow-xl" data-testid={`fo-${kind}-dialog`}>
        <h2 id={titleId} className="text-lg font-semibold text-slate-900">
          {fb ? fb.title : undo ? `Undo the failover of ${replica.replicaVmName}?` : `Make the failover of ${replica.replicaVmName} permanent?`}
        </h2>
        <div className={`mt-3 rounded-md px-3 py-2 text-sm ${fb ? fb.tone : undo ? "bg-amber-50 text-amber-900" : "bg-red-50 text-red-900"}`} data-testid="fo-consequence">
          {fb ? (
            <>
              <p className="font-medium">{fb.headline}</p>
              <p className="mt-1">{fb.body}</p>
            </>
          ) : undo ? (
            <>
              <p className="font-medium">Every change made in the failed-over VM is discarded.</p>
              <p className="mt-1">{replica.replicaVmName} is powered off and reverted to the point it was failed over to: whatever its guest wrote since — files, database rows, logs — is gone for good. The replica is then Ready and {replica.sourceVmName} is replicated to it again.</p>
            </>
          ) : (
            <>
              <p className="font-medium">This cannot be undone.</p>
              <p className="mt-1">{replica.replicaVmName} becomes the production VM: all of its replica points are removed (it keeps running on what it holds now, so there is no going back to a point), and {replica.sourceVmName} is dropped from replication job {replica.jobName}, which never replicates it again.</p>
            </>
          )}
        </div>
        <label className="mt-4 block text-sm">
          <span className="mb-1 block font-medium text-slate-700">Reason</span>
          <textarea value={reason} onChange={(e) => setReason(e.target.value)} rows={3} className="w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm" placeholder={fb ? fb.placeholder : undo ? "e.g. DR test finished" : "e.g. the production site is lost"} data-testid="fo-reason" autoFocus />
          <span className="mt-1 block text-xs text-slate-500">Kept in the session and the audit log.</span>
          {tried && problem && <span className="mt-1 block text-xs text-red-700" data-testid="error-reason">{problem}</span>}
        </label>
        {result && !result.ok && <p className="mt-3 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">{result.fieldErrors ? Object.values(result.fieldErrors).flat().join(" ") : result.formError}</p>}
        <div className="mt-5 flex justify-end gap-3">
          <button type="button" className="btn-secondary" onClick={onClose} disabled={pending}>Cancel</button>
          <button type="button" className={undo || fb ? "btn-primary" : "rounded-md bg-red-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-700 disabled:opacity-50"} onClick={submit} disabled={pending || !!(result?.ok)} data-testid="fo-confirm">
            {pending ? "Starting…" : result?.ok ? "Opening session…" : fb ? fb.button : undo ? "Undo failover" : "Make permanent"}
          </button>
        </div>
      </div>
    </div>
  );
}
