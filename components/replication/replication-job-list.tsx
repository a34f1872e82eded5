import Link from "next/link";
import { RunNowButton } from "@/components/backup/job-actions";
import { SessionStateBadge } from "@/components/backup/badges";
import { Badge } from "@/components/ui/badge";
import { Table, Td, Th } from "@/components/ui/table";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatDateTime } from "@/lib/format";
import type { ReplicationJobRowDto } from "@/lib/services/replication/list-replication-jobs";

export const KEY_MODE_SHORT: Record<string, string> = { shared: "Shared keys", "re-key": "New key at the target", unencrypted: "Unencrypted" };

/** The replication jobs: what each copies where, its key mode in words, schedule, last and next run. */
export function ReplicationJobList({ jobs, canManage, run }: { jobs: ReplicationJobRowDto[]; canManage: boolean; run: (s: ActionState, f: FormData) => Promise<ActionState> }) {
  return (
    <Table testId="replication-jobs">
      <thead>
        <tr>
          <Th>Job</Th>
          <Th>VMs</Th>
          <Th>Target</Th>
          <Th>Keys</Th>
          <Th>Schedule</Th>
          <Th>Last run</Th>
          <Th>Next run</Th>
          <Th>State</Th>
          {canManage && <Th />}
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {jobs.map((j) => (
          <tr key={j.id} data-testid="replication-job" data-job={j.name} className="align-top">
            <Td>
              <Link href={`/replication/${j.id}`} className="font-medium text-brand-600 hover:underline">
                {j.name}
              </Link>
              {j.description && <div className="text-xs text-slate-500">{j.description}</div>}
            </Td>
            <Td>
              {j.vms.slice(0, 3).map((v) => v.name).join(", ")}
              {j.vms.length > 3 ? ` and ${j.vms.length - 3} more` : ""}
            </Td>
            <Td>
              {j.targetSite}
              <div className="text-xs text-slate-500">{j.targetHost}</div>
            </Td>
            <Td>
              <Badge tone={j.keyMode === "unencrypted" ? "bad" : "lock"}>{KEY_MODE_SHORT[j.keyMode] ?? j.keyMode}</Badge>
              {j.keyProvider && <div className="text-xs text-slate-500">{j.keyProvider}</div>}
            </Td>
            <Td>{j.scheduleText}</Td>
            <Td className="whitespace-nowrap">
              {j.active ? (
                <Link href={`/sessions/${j.active.id}`} className="hover:opacity-80">
                  <SessionStateBadge state={j.active.state} />
                </Link>
              ) : j.lastSession ? (
                <Link href={`/sessions/${j.lastSession.id}`} className="hover:opacity-80" title={j.lastSession.error ?? undefined}>
                  <SessionStateBadge state={j.lastSession.state} />
                  <div className="text-xs text-slate-500">{formatDateTime(j.lastSession.endedAt ?? j.lastSession.queuedAt)}</div>
                </Link>
              ) : (
                <span className="text-slate-400">Never</span>
              )}
            </Td>
            <Td className="whitespace-nowrap">{j.nextRunAt ? formatDateTime(j.nextRunAt) : <span className="text-slate-400">{j.schedule.kind === "manual" ? "Manual" : j.enabled ? "—" : "Paused"}</span>}</Td>
            <Td>{j.enabled ? <Badge tone="good">Enabled</Badge> : <Badge>Disabled</Badge>}</Td>
            {canManage && (
              <Td className="whitespace-nowrap">
                <RunNowButton jobId={j.id} action={run} disabledReason={j.active ? "A session of this job is running" : undefined} />
              </Td>
            )}
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
