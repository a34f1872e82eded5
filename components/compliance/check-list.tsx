import Link from "next/link";
import { CHECKS, type ComplianceResult } from "@/lib/compliance/compliance-types";
import { StatusBadge } from "./status-badge";

const ORDER = { fail: 0, pass: 1, na: 2 } as const;

/** One row per check, failures first: the outcome, what was checked and why, and where to fix it. */
export function CheckList({ results }: { results: ComplianceResult[] }) {
  const sorted = results.map((r, i) => ({ r, i })).sort((a, b) => ORDER[a.r.status] - ORDER[b.r.status] || a.i - b.i);
  return (
    <ul className="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm" data-testid="compliance-checks">
      {sorted.map(({ r }) => (
        <li
          key={r.id}
          className={`flex gap-4 px-4 py-3 ${r.status === "fail" ? "border-l-4 border-l-red-500" : r.status === "pass" ? "border-l-4 border-l-emerald-500" : "border-l-4 border-l-slate-200"}`}
          data-testid="compliance-row"
          data-check={r.id}
          data-status={r.status}
        >
          <div className="pt-0.5">
            <StatusBadge status={r.status} />
          </div>
          <div className="min-w-0 flex-1">
            <div className="flex flex-wrap items-baseline gap-x-2">
              <h3 className="text-sm font-semibold text-slate-900">{r.title}</h3>
              <span className="font-mono text-xs text-slate-400">
                {r.id}
              </span>
            </div>
            <p className={`mt-1 text-sm ${r.status === "fail" ? "text-slate-800" : "text-slate-600"}`} data-testid="compliance-why">
              {r.why}
            </p>
          </div>
          <div className="w-56 shrink-0 pt-0.5 text-right">
            {r.fixHref && (
              <Link
                href={r.fixHref}
                className={r.status === "fail" ? "inline-block rounded-md border border-red-300 px-2 py-1 text-xs font-medium text-red-700 hover:bg-red-50" : "text-xs font-medium text-brand-600 hover:underline"}
                data-testid="compliance-fix"
              >
                {r.status === "fail" ? `Fix: ${r.fixLabel}` : r.fixLabel}
              </Link>
            )}
          </div>
        </li>
      ))}
    </ul>
  );
}
