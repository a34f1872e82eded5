"use client";
import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { ErrorNotice } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import type { JobSummaryDto } from "@/lib/services/backup/job-dto";
import { ENCRYPTION_OFF_HINT, JobEncryptionBadge, SessionStateBadge } from "./badges";
import { describeSelection } from "./format";
import { EditJobLink, EnableJobButton, RunNowButton, type Action } from "./job-actions";
import { useBackupJobs } from "./queries";

export function JobList({ initial, canManage, actions }: { initial: JobSummaryDto[]; canManage: boolean; actions: { run: Action; setEnabled: Action } }) {
  const q = useBackupJobs(initial);
  const jobs = q.data ?? [];
  return (
    <div className="space-y-3">
      {q.isError && <ErrorNotice title="Live status unavailable">{q.error.message} The list shows the last known state.</ErrorNotice>}
      {jobs.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-12 text-center" data-testid="empty-state">
          <p className="text-base font-medium text-slate-800">No backup jobs yet</p>
          <p className="mx-auto mt-1 max-w-lg text-sm text-slate-600">
            A backup job protects VMs, folders, tenants or whole sites: it picks the proxies, a repository, the backup encryption (a password or a KMS key) and a schedule. Its first run makes a full restore point; later runs are incremental.
          </p>
          {canManage ? (
            <Link href="/jobs/new" className="mt-4 inline-block rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700" data-testid="new-job-empty">
              New backup job
            </Link>
          ) : (
            <p className="mt-3 text-sm text-slate-500">A Backup Administrator creates backup jobs.</p>
          )}
        </div>
      ) : (
        <Table testId="job-table">
          <thead>
            <tr>
              <Th>Job</Th>
              <Th>Protects</Th>
              <Th>Repository</Th>
              <Th>Encryption</Th>
              <Th>Schedule</Th>
              <Th>Last result</Th>
              <Th className="text-right">Points</Th>
              {canManage && <Th className="text-right">Actions</Th>}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {jobs.map((j) => (
              <JobRow key={j.id} job={j} canManage={canManage} actions={actions} />
            ))}
          </tbody>
        </Table>
      )}
    </div>
  );
}

function JobRow({ job: j, canManage, actions }: { job: JobSummaryDto; canManage: boolean; actions: { run: Action; setEnabled: Action } }) {
  const sel = describeSelection(j.selection);
  const shown = sel.labels.slice(0, 3);
  return (
    <tr data-testid="job-row" data-job={j.name} className={j.enabled ? "" : "bg-slate-50/60"}>
      <Td>
        <Link href={`/jobs/${j.id}`} className="font-medium text-brand-600 hover:underline">{j.name}</Link>
        {!j.enabled && <span className="ml-2"><Badge>Disabled</Badge></span>}
        {j.description && <div className="max-w-xs truncate text-xs text-slate-500" title={j.description}>{j.description}</div>}
      </Td>
      <Td>
        <div className="font-medium">{sel.headline}</div>
        <div className="max-w-[16rem] text-xs text-slate-500" title={sel.labels.join(", ")}>
          {shown.join(", ")}
          {sel.labels.length > shown.length && ` +${sel.labels.length - shown.length} more`}
        </div>
      </Td>
      <Td><Link href={`/repositories/${j.repository.id}`} className="text-brand-600 hover:underline">{j.repository.name}</Link></Td>
      <Td>
        <JobEncryptionBadge mode={j.encryptionMode} />
        {j.encryptionMode === "off" && <div className="mt-1 max-w-[14rem] text-xs text-red-700" title={ENCRYPTION_OFF_HINT}>Encrypted VMs are stored without a backup key</div>}
      </Td>
      <Td>
        <div>{j.scheduleText}</div>
        <div className="text-xs text-slate-500">{j.schedule.kind === "manual" ? "Runs only when started" : j.enabled ? (j.nextRunAt ? `Next: ${formatDateTime(j.nextRunAt)}` : "Next run: after the current session") : "Paused (job disabled)"}</div>
      </Td>
      <Td>
        {j.activeSession ? (
          <Link href={`/sessions/${j.activeSession.id}`} className="inline-block hover:opacity-80" data-testid="active-session-link">
            <SessionStateBadge state={j.activeSession.state} />
          </Link>
        ) : j.lastSession ? (
          <Link href={`/sessions/${j.lastSession.id}`} className="inline-block hover:opacity-80" data-testid="last-session-link">
            <SessionStateBadge state={j.lastSession.state} />
          </Link>
        ) : (
          <span className="text-xs text-slate-500">Never run</span>
        )}
        {j.lastSession && <div className="mt-0.5 text-xs text-slate-500">{j.activeSession ? "Last: " : ""}{formatDateTime(j.lastSession.endedAt ?? j.lastSession.queuedAt)}</div>}
      </Td>
      <Td className="text-right tabular-nums">{j.restorePointCount}</Td>
      {canManage && (
        <Td className="text-right">
          <div className="flex justify-end gap-1.5 whitespace-nowrap">
            <RunNowButton jobId={j.id} action={actions.run} disabledReason={j.activeSession ? `Already ${j.activeSession.state}: open its session to follow it.` : undefined} />
            <EditJobLink jobId={j.id} />
            <EnableJobButton jobId={j.id} enabled={j.enabled} action={actions.setEnabled} />
          </div>
        </Td>
      )}
    </tr>
  );
}
