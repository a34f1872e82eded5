import type { ComplianceStatus } from "@/lib/compliance/compliance-types";

const LOOK: Record<ComplianceStatus, { text: string; className: string; title: string }> = {
  pass: { text: "PASS", className: "bg-emerald-600 text-white", title: "The check passed" },
  fail: { text: "FAIL", className: "bg-red-600 text-white", title: "The check failed: see why and fix it" },
  na: { text: "N/A", className: "bg-slate-200 text-slate-700", title: "Not applicable here" },
};

/** A compliance outcome, readable without colour: the word is the status. */
export function StatusBadge({ status }: { status: ComplianceStatus }) {
  const l = LOOK[status];
  return (
    <span title={l.title} className={`inline-block w-12 rounded px-1.5 py-0.5 text-center text-xs font-bold tracking-wide ${l.className}`} data-testid="compliance-status">
      {l.text}
    </span>
  );
}
