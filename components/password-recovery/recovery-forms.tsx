"use client";
import { useActionState, useState, useTransition } from "react";
import { ActionMessage } from "@/components/users/form-bits";
import { Badge } from "@/components/ui/badge";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatDateTime } from "@/lib/format";
import type { CreatedRecoveryRequest } from "@/lib/services/password-recovery/create-recovery-request";

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

export interface PointOption {
  id: string;
  vmName: string;
  jobName: string | null;
  createdAt: string;
  keyIds: string[];
  repositoryName: string;
}

/** Step 1: the administrator picks the points whose password is lost and gets the request document. */
export function CreateRequestForm({ points, action }: { points: PointOption[]; action: (ids: string[]) => Promise<{ ok: true; result: CreatedRecoveryRequest } | { ok: false; error: string }> }) {
  const [chosen, setChosen] = useState<string[]>([]);
  const [q, setQ] = useState("");
  const [pending, start] = useTransition();
  const [result, setResult] = useState<Awaited<ReturnType<typeof action>> | null>(null);
  const shown = points.filter((p) => `${p.vmName} ${p.jobName ?? ""}`.toLowerCase().includes(q.toLowerCase())).slice(0, 100);
  return (
    <div className="space-y-3">
      <input className="input max-w-sm" placeholder="Filter by VM or job" value={q} onChange={(e) => setQ(e.target.value)} />
      <div className="max-h-64 overflow-y-auto rounded-md border border-slate-200">
        {shown.length === 0 && <p className="p-3 text-sm text-slate-500">No restore point matches.</p>}
        {shown.map((p) => (
          <label key={p.id} className="flex items-center gap-3 border-b border-slate-100 px-3 py-2 text-sm last:border-0">
            <input type="checkbox" checked={chosen.includes(p.id)} onChange={() => setChosen((c) => (c.includes(p.id) ? c.filter((x) => x !== p.id) : [...c, p.id]))} data-testid={`recover-point-${p.id}`} />
            <span className="font-medium">{p.vmName}</span>
            <span className="text-xs text-slate-500">
              {formatDateTime(p.createdAt)} · {p.jobName ?? "no job"} · {p.repositoryName}
            </span>
            <span className="ml-auto flex gap-1">
              {p.keyIds.some((k) => k.startsWith("keyset:")) ? <Badge tone="good">keyset</Badge> : <Badge tone="bad">no keyset</Badge>}
            </span>
          </label>
        ))}
      </div>
      <button className="btn-primary" disabled={pending || chosen.length === 0} onClick={() => start(async () => setResult(await action(chosen)))} data-testid="create-recovery-request">
        {pending ? "Preparing…" : `Create a recovery request for ${chosen.length} point(s)`}
      </button>
      {result && !result.ok && <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">{result.error}</p>}
      {result?.ok && (
        <div className="space-y-2" data-testid="recovery-request-result">
          {result.result.unrecoverable.length > 0 && (
            <div className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="unrecoverable">
              <p className="font-medium">Unrecoverable: no recovery keyset protects these points, so without their password they cannot be opened.</p>
              <ul className="list-disc pl-5">
                {result.result.unrecoverable.map((u) => (
                  <li key={u.pointId}>
                    {u.vmName} ({u.pointId.slice(0, 8)}…): {u.why}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {result.result.text && (
            <>
              <p className="text-sm text-slate-700">
                Give this request to a Security Officer (it holds no secret). Keysets needed: {[...new Set(result.result.points.map((p) => p.keysetId.slice(0, 12) + "…" + (p.keysetInConsole ? "" : " (not in this console: the officer loads the exported keyset)")))].join(", ")}
              </p>
              <textarea readOnly className="input h-40 font-mono text-xs" value={result.result.text} data-testid="recovery-request-text" />
              <button className="btn-secondary" onClick={() => download(`recovery-request-${result.result.id}.json`, result.result.text)}>
                Download the request
              </button>
            </>
          )}
        </div>
      )}
    </div>
  );
}

/** Step 2: a Security Officer answers with the recovery keyset. */
export function AnswerRequestForm({ action }: { action: (i: { requestText: string; keysetJson?: string; keysetPassphrase?: string }) => Promise<{ ok: true; text: string; answered: number } | { ok: false; error: string }> }) {
  const [requestText, setRequestText] = useState("");
  const [keysetJson, setKeysetJson] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [pending, start] = useTransition();
  const [result, setResult] = useState<Awaited<ReturnType<typeof action>> | null>(null);
  return (
    <div className="space-y-3">
      <label className="block text-sm font-medium text-slate-700">
        The recovery request
        <textarea className="input mt-1 h-32 font-mono text-xs" value={requestText} onChange={(e) => setRequestText(e.target.value)} data-testid="answer-request-text" />
      </label>
      <details className="text-sm">
        <summary className="cursor-pointer text-slate-600">The keyset is not in this console? Load its exported file</summary>
        <textarea className="input mt-2 h-24 font-mono text-xs" placeholder="Exported keyset (JSON)" value={keysetJson} onChange={(e) => setKeysetJson(e.target.value)} />
        <input type="password" className="input mt-2 max-w-sm" placeholder="Its passphrase" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
      </details>
      <button className="btn-primary" disabled={pending || !requestText.trim()} onClick={() => start(async () => setResult(await action({ requestText, keysetJson: keysetJson || undefined, keysetPassphrase: passphrase || undefined })))} data-testid="answer-request">
        {pending ? "Answering…" : "Answer the request"}
      </button>
      {result && !result.ok && <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">{result.error}</p>}
      {result?.ok && (
        <div className="space-y-2">
          <p className="text-sm text-emerald-800" role="status">
            Answered {result.answered} point(s). Give this response back to the administrator: only the console that made the request can use it.
          </p>
          <textarea readOnly className="input h-32 font-mono text-xs" value={result.text} data-testid="recovery-response-text" />
          <button className="btn-secondary" onClick={() => download("recovery-response.json", result.text)}>
            Download the response
          </button>
        </div>
      )}
    </div>
  );
}

/** Step 3: the administrator applies the answer; the points open again. */
export function ApplyResponseForm({ action }: { action: (p: ActionState, fd: FormData) => Promise<ActionState> }) {
  const [state, formAction, pending] = useActionState(action, null);
  return (
    <form action={formAction} className="space-y-3">
      <label className="block text-sm font-medium text-slate-700">
        The Security Officer's response
        <textarea name="responseText" className="input mt-1 h-32 font-mono text-xs" data-testid="apply-response-text" />
      </label>
      <button className="btn-primary" disabled={pending} data-testid="apply-response">
        {pending ? "Applying…" : "Apply the response"}
      </button>
      <ActionMessage state={state} />
    </form>
  );
}
