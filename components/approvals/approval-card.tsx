"use client";
import { useActionState } from "react";
import { ActionMessage, FieldError } from "@/components/users/form-bits";
import { Badge } from "@/components/ui/badge";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatDateTime } from "@/lib/format";
import type { ApprovalRequestDto } from "@/lib/services/approvals/list-approval-requests";

type Action = (prev: ActionState, fd: FormData) => Promise<ActionState>;

const STATE_TONE: Record<string, "warn" | "good" | "bad" | "neutral"> = { pending: "warn", approved: "good", rejected: "bad", cancelled: "neutral", expired: "neutral", void: "neutral" };

/** One request: the change as a readable diff, who asked and when, and what the viewer may do. */
export function ApprovalCard({ r, actions }: { r: ApprovalRequestDto; actions: { confirm: Action; approve: Action; reject: Action; cancel: Action } }) {
  // The password buys a single-use proof for this request; the approval spends it (SEC-2).
  const [approveState, approve, approving] = useActionState(async (prev: ActionState, fd: FormData): Promise<ActionState> => {
    const confirmed = await actions.confirm(prev, fd);
    if (!confirmed?.ok || !confirmed.token) return confirmed;
    const step2 = new FormData();
    step2.set("requestId", r.id);
    step2.set("proof", confirmed.token);
    step2.set("comment", String(fd.get("comment") ?? ""));
    return actions.approve(confirmed, step2);
  }, null);
  const [rejectState, reject, rejecting] = useActionState(actions.reject, null);
  const [cancelState, cancel, cancelling] = useActionState(actions.cancel, null);
  return (
    <article id={`request-${r.id}`} className="scroll-mt-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm target:ring-2 target:ring-brand-600" data-testid="approval-request" data-state={r.state}>
      <header className="flex flex-wrap items-center gap-2">
        <h3 className="font-semibold text-slate-900">{r.kindLabel}</h3>
        <span className="text-sm text-slate-600">— {r.objectName}</span>
        <span className="ml-auto">
          <Badge tone={STATE_TONE[r.state] ?? "neutral"}>{r.state[0].toUpperCase() + r.state.slice(1)}</Badge>
        </span>
      </header>
      <table className="mt-3 w-full text-sm" data-testid="approval-diff">
        <thead className="text-left text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="py-1 pr-4">Field</th>
            <th className="py-1 pr-4">Before</th>
            <th className="py-1">{r.state === "approved" ? "Applied" : "After approval"}</th>
          </tr>
        </thead>
        <tbody>
          {r.summary.map((d, i) => (
            <tr key={i} className="border-t border-slate-100">
              <td className="py-1 pr-4 font-medium">{d.field}</td>
              <td className="py-1 pr-4 text-red-800 line-through decoration-red-300">{d.from || "—"}</td>
              <td className="py-1 text-emerald-800">{d.to || "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="mt-2 text-xs text-slate-600">
        Requested by {r.requestedBy ? `${r.requestedBy.name} (${r.requestedBy.email})` : "a removed user"} on {formatDateTime(r.requestedAt)}
        {r.state === "pending" && <> · expires {formatDateTime(r.expiresAt)}</>}
        {r.decidedBy && (
          <>
            {" "}· {r.state} by {r.decidedBy.name} on {formatDateTime(r.decidedAt)}
          </>
        )}
        {r.comment && <> · “{r.comment}”</>}
      </p>
      {r.refusal && (
        <p className="mt-3 rounded-md border border-amber-200 bg-amber-50 p-2 text-sm text-amber-900" data-testid="approval-refusal">
          {r.refusal}
        </p>
      )}
      {r.canDecide && (
        <div className="mt-3 grid gap-3 border-t border-slate-100 pt-3 md:grid-cols-2">
          <form action={approve} className="space-y-2" data-testid="approve-form">
            <input type="hidden" name="requestId" value={r.id} />
            <label className="block text-sm font-medium text-slate-700">
              Your password, to confirm it is you
              <input type="password" name="password" autoComplete="current-password" className="input mt-1" data-testid="approve-password" />
              <FieldError state={approveState} name="password" />
            </label>
            <input name="comment" placeholder="Comment (optional)" className="input" maxLength={1000} />
            <button className="btn-primary" disabled={approving} data-testid="approve">
              {approving ? "Approving…" : "Approve and apply"}
            </button>
            <ActionMessage state={approveState} />
          </form>
          <form action={reject} className="space-y-2" data-testid="reject-form">
            <input type="hidden" name="requestId" value={r.id} />
            <label className="block text-sm font-medium text-slate-700">
              Why reject it
              <input name="comment" className="input mt-1" maxLength={1000} data-testid="reject-comment" />
              <FieldError state={rejectState} name="comment" />
            </label>
            <button className="btn-secondary" disabled={rejecting} data-testid="reject">
              {rejecting ? "Rejecting…" : "Reject"}
            </button>
            <ActionMessage state={rejectState} />
          </form>
        </div>
      )}
      {r.mine && r.state === "pending" && (
        <form action={cancel} className="mt-3 flex items-center gap-3 border-t border-slate-100 pt-3">
          <input type="hidden" name="requestId" value={r.id} />
          <span className="text-sm text-slate-600">Waiting for another Security Officer.</span>
          <button className="btn-secondary" disabled={cancelling} data-testid="cancel-request">
            Cancel my request
          </button>
          <ActionMessage state={cancelState} />
        </form>
      )}
    </article>
  );
}
