import { formatBytes, formatDateTime } from "@/lib/format";
import type { VerifyReportDto } from "@/lib/services/backup/repository-dto";
import { VerifyOutcomeBadge } from "./badges";
import { formatDuration } from "./format";

/** The last health check of a repository (BKP-7): outcome, what was checked, damage per restore point. */
export function VerifyReport({ report, at }: { report: VerifyReportDto; at: string | null }) {
  const damaged = report.points.filter((p) => !p.ok);
  const sorted = [...damaged, ...report.points.filter((p) => p.ok)];
  return (
    <div className="space-y-4" data-testid="verify-report" data-outcome={report.outcome}>
      <div className="flex flex-wrap items-center gap-3">
        <span data-testid="verify-outcome"><VerifyOutcomeBadge outcome={report.outcome} /></span>
        <span className="text-sm text-slate-800" data-testid="verify-summary">{report.summary}</span>
      </div>
      <dl className="grid grid-cols-2 gap-4 text-sm md:grid-cols-4">
        <Fact label="Finished" value={at ? formatDateTime(at) : "—"} />
        <Fact label="Duration" value={formatDuration(report.durationMs)} />
        <Fact label="Blocks checked" value={report.blocksChecked.toLocaleString("en-GB")} />
        <Fact label="Bytes checked" value={formatBytes(report.bytesChecked)} />
      </dl>
      {report.problems.length > 0 && (
        <ul className="list-disc space-y-1 rounded-md bg-amber-50 py-2 pl-8 pr-3 text-sm text-amber-900" data-testid="verify-problems">
          {report.problems.map((p, i) => <li key={i}>{p}</li>)}
        </ul>
      )}
      {report.points.length === 0 ? (
        <p className="text-sm text-slate-600">The repository held no restore point to check.</p>
      ) : (
        <div className="overflow-x-auto rounded-md border border-slate-200">
          <table className="min-w-full divide-y divide-slate-200 text-sm" data-testid="verify-points">
            <thead>
              <tr className="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                <th className="px-3 py-2">Restore point</th>
                <th className="px-3 py-2">VM</th>
                <th className="px-3 py-2">Created</th>
                <th className="px-3 py-2">Result</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {sorted.map((p) => (
                <tr key={p.pointId} className={p.ok ? "" : keysMissing(p.problems) ? "bg-amber-50/50" : "bg-red-50/40"} data-testid="verify-point" data-ok={p.ok}>
                  <td className="px-3 py-2 font-mono text-xs" title={p.pointId}>{p.pointId.length > 12 ? `${p.pointId.slice(0, 12)}…` : p.pointId}</td>
                  <td className="whitespace-nowrap px-3 py-2">{p.vmName}</td>
                  <td className="whitespace-nowrap px-3 py-2">{formatDateTime(p.createdAt)}</td>
                  <td className="px-3 py-2">
                    {p.ok ? (
                      <span className="text-emerald-700">Every block intact</span>
                    ) : keysMissing(p.problems) ? (
                      <div className="text-xs text-amber-900">
                        <div className="font-medium">Not fully checked: its keys were not at hand</div>
                        <ul className="mt-0.5 space-y-0.5 break-all font-mono text-[11px]">{p.problems.map((x, i) => <li key={i}>{x}</li>)}</ul>
                      </div>
                    ) : (
                      <ul className="space-y-0.5 break-all text-xs text-red-800">
                        {p.problems.slice(0, 20).map((x, i) => <li key={i} className="font-mono">{x}</li>)}
                        {p.problems.length > 20 && <li>…and {p.problems.length - 20} more</li>}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** A point whose keys were unavailable (a KMS down, a job removed) got only the keyless check: not damage as such. */
function keysMissing(problems: string[]): boolean {
  return problems.length > 0 && problems.some((x) => x.startsWith("Keys not at hand")) && problems.every((x) => x.startsWith("Keys not at hand") || /^cannot open restore point/.test(x));
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
      <dd className="mt-0.5 font-medium tabular-nums text-slate-900">{value}</dd>
    </div>
  );
}
