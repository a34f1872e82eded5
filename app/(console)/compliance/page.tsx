import { CheckList } from "@/components/compliance/check-list";
import { RunChecksButton } from "@/components/compliance/run-checks-button";
import { ComplianceTrend } from "@/components/compliance/trend";
import { Card, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { EmptyState } from "@/components/ui/states";
import { requireActor } from "@/lib/auth/session";
import { formatDateTime } from "@/lib/format";
import { hasPermission } from "@/lib/permissions/roles";
import { getComplianceOverview } from "@/lib/services/compliance/get-compliance-overview";
import { runComplianceAction } from "./actions";

export const metadata = { title: "Compliance" };

export default async function CompliancePage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see the compliance checks" />;
  const { latest, trend, nextDailyAt } = await getComplianceOverview(actor);
  const canRun = hasPermission(actor.role, "audit:read");
  const daily = nextDailyAt ? `The console runs them by itself once a day; next after ${formatDateTime(nextDailyAt)}.` : "The console also runs them by itself once a day.";
  return (
    <>
      <PageHeader
        title="Compliance"
        description="The compliance analyzer checks how this console protects encrypted VMs and their backups: encryption, password-loss protection, approvals, transport, proxies, immutability, KMS health. Each failed check says why and links to where to fix it."
        actions={canRun ? <RunChecksButton action={runComplianceAction} /> : undefined}
      />

      {!latest ? (
        <EmptyState title="No check has run yet — Run checks">
          {canRun ? "Run checks to see where this console stands. " : "A Backup Administrator or Security Officer runs them. "}
          {daily}
        </EmptyState>
      ) : (
        <>
          <p className="-mt-3 mb-4 text-sm text-slate-600" data-testid="last-run" data-run={latest.id}>
            Last run <span className="font-medium text-slate-900">{formatDateTime(latest.at)}</span> ({latest.trigger === "daily" ? "daily, by the console" : "run by hand"}). {daily}
          </p>
          <div className="mb-6 grid gap-4 sm:grid-cols-3 xl:grid-cols-[repeat(3,minmax(9rem,12rem))_1fr]">
            <Summary label="Failed" value={latest.failCount} tone={latest.failCount ? "text-red-700" : "text-slate-900"} testId="count-fail" />
            <Summary label="Passed" value={latest.passCount} tone="text-emerald-700" testId="count-pass" />
            <Summary label="Not applicable" value={latest.naCount} tone="text-slate-500" testId="count-na" />
            <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:col-span-3 xl:col-span-1">
              <div className="mb-2 text-xs font-medium uppercase tracking-wide text-slate-500">Trend, last {trend.length === 1 ? "run" : `${trend.length} runs`}</div>
              <ComplianceTrend points={trend} />
            </div>
          </div>
          <CheckList results={latest.results} />
          {!canRun && <p className="mt-2 text-xs text-slate-500" data-testid="read-only-note">Read-only: a Backup Administrator or Security Officer runs the checks.</p>}
        </>
      )}
    </>
  );
}

function Summary({ label, value, tone, testId }: { label: string; value: number; tone: string; testId: string }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid={testId}>
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</div>
      <div className={`mt-1 text-3xl font-semibold ${tone}`}>{value}</div>
    </div>
  );
}
