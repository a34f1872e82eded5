"use client";
import { useQuery } from "@tanstack/react-query";
import { formatDateTime } from "@/lib/format";
import type { AuditChainReport, AuditChainProblemKind } from "@/lib/services/audit/verify-audit-chain";

const KIND_LABELS: Record<AuditChainProblemKind, string> = {
  edited: "Edited entry",
  deleted: "Deleted entry",
  reordered: "Reordered entries",
  truncated: "Entries removed from the end",
  rewritten: "Rewritten log",
  "anchor-forged": "Altered anchor file",
};

/** What a clean result proves and what it does not (shown with every result). */
function WhatItProves() {
  return (
    <p className="mt-1 text-xs opacity-80" data-testid="chain-scope">
      Each entry is signed with a key kept in the Strongroom data folder, not in the database, and the newest entry is recorded
      regularly outside the database (a checkpoint in the data folder and a file in every repository folder). So verification shows an
      entry that was edited, deleted or reordered, even if its hashes were recomputed, and entries removed from the end up to the last
      checkpoint. It cannot show entries removed after the last checkpoint (written every few seconds while the console runs), entries written by someone who also
      holds the data folder&apos;s key, or events that were never recorded.
    </p>
  );
}

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
            Newest entry #{report.tail.seq} ({formatDateTime(report.tail.at)}), hash <code className="font-mono" title={report.tail.hash}>{report.tail.hash.slice(0, 16)}…</code>.{" "}
            {report.anchors.newest
              ? `Matches the newest of ${report.anchors.found} anchor${report.anchors.found === 1 ? "" : "s"} kept outside the database (entry #${report.anchors.newest.seq}, ${formatDateTime(report.anchors.newest.at)}).`
              : "No anchor outside the database yet: the first is written within minutes."}
          </p>
        )}
        <WhatItProves />
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
        <WhatItProves />
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
