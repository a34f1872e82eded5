"use client";
import { useQuery } from "@tanstack/react-query";
import { formatDateTime } from "@/lib/format";
import type { AuditChainReport, AuditChainProblemKind } from "@/lib/services/audit/verify-audit-chain";

const KIND_LABELS: Record<AuditChainProblemKind, string> = {
  edited: "Edited entry",
  deleted: "Deleted entry",
  reordered: "Reordered entries",
};

async function fetchReport(): Promise<AuditChainReport> {
  const res = await fetch("/api/audit/verify", { headers: { accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `The server answered ${res.status}.`);
  return body as AuditChainReport;
}

/** The chain report, fetched once per page and shared by the status box and the table (which marks the break). */
export function useChainReport() {
  return useQuery({ queryKey: ["audit-verify"], queryFn: fetchReport, staleTime: Infinity, refetchOnWindowFocus: false, retry: false });
}

/** The hash chain check (SEC-4): run when the page opens and again on demand. */
export function ChainStatus() {
  const q = useChainReport();
  const report = q.data;
  const busy = q.isFetching;

  const button = (
    <button
      type="button"
      onClick={() => q.refetch()}
      disabled={busy}
      className="shrink-0 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50"
      data-testid="verify-chain"
    >
      {busy ? "Verifying…" : "Verify chain"}
    </button>
  );

  let body: React.ReactNode;
  let tone = "border-slate-200 bg-white text-slate-700";
  if (q.isError) {
    tone = "border-red-200 bg-red-50 text-red-900";
    body = (
      <>
        <p className="font-medium">The hash chain could not be checked</p>
        <p className="mt-0.5">{q.error.message}</p>
      </>
    );
  } else if (!report) {
    body = <p aria-busy="true">Verifying the hash chain…</p>;
  } else if (report.ok) {
    tone = "border-emerald-200 bg-emerald-50 text-emerald-900";
    body = (
      <>
        <p className="font-medium" data-testid="chain-ok">
          Hash chain intact: {report.checked.toLocaleString("en")} {report.checked === 1 ? "entry" : "entries"} verified.
        </p>
        {report.tail && (
          <p className="mt-0.5 text-xs text-emerald-800">
            Newest entry #{report.tail.seq} ({formatDateTime(report.tail.at)}), hash <code className="font-mono" title={report.tail.hash}>{report.tail.hash.slice(0, 16)}…</code>. The chain shows any entry edited,
            deleted or reordered — except entries removed from the very end: note this number and hash (or keep the last export) and compare them next time.
          </p>
        )}
      </>
    );
  } else {
    tone = "border-red-200 bg-red-50 text-red-900";
    const p = report.problem;
    body = (
      <>
        <p className="font-medium" data-testid="chain-broken">
          The audit log has been tampered with: the hash chain breaks at entry #{report.firstBrokenSeq}
          {p && <> — {KIND_LABELS[p.kind].toLowerCase()}</>}.
        </p>
        {p && <p className="mt-0.5" data-testid="chain-problem">{p.message}</p>}
        <p className="mt-0.5 text-xs">
          {report.checked.toLocaleString("en")} entries checked up to the break; the entries after it are not verified. Restore the database from a backup taken before the change, or keep this log as evidence.
        </p>
      </>
    );
  }

  return (
    <div className={`mb-4 flex items-start justify-between gap-4 rounded-lg border px-4 py-3 text-sm ${tone}`} data-testid="audit-chain" aria-live="polite">
      <div>{body}</div>
      {button}
    </div>
  );
}
