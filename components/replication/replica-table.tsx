import Link from "next/link";
import { KeyIds } from "@/components/backup/badges";
import { ACTION_WORDS, replicaStateWords, SESSION_STATE_WORDS } from "@/components/failover/failover-words";
import { ReplicaFailoverActions, type ReplicaActionsProps } from "@/components/failover/replica-failover-actions";
import { Badge } from "@/components/ui/badge";
import { Table, Td, Th } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import { allowedFailoverActions } from "@/lib/services/failover/failover-rules";

import type { ReplicaDto } from "@/lib/services/replication/list-replicas";

// The replicas of every replication job (REP-1…4), read-only: state, key mode, recovery point
// objective (the age of the newest point), the points with their key ids, the last run and warnings;
// with `failover`, each replica's failover actions (FOV-1) — only those its state allows
// (allowedFailoverActions), disabled with the reason where the role may not — and its failover sessions.

const KEY_MODE_LABELS: Record<string, string> = { shared: "Shared keys", "re-key": "New key at the target", unencrypted: "Unencrypted" };

export interface ReplicaFailoverProps {
  /** Whether the role may fail over / undo, and make a failover permanent. */
  canRun: boolean;
  canPermanent: boolean;
  /** Whether the role may fail back, commit or undo a failback (Backup Administrators). */
  canFailback: boolean;
  actions: ReplicaActionsProps["actions"];
}

const NO_FAILBACK = "Only a Backup Administrator can fail back: it overwrites or creates VMs at the production site.";
const NO_PERMANENT = "Only a Backup Administrator can make a failover permanent: it drops the source VM from its replication job.";

export function formatAge(seconds: number | null): string {
  if (seconds === null) return "no point yet";
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

export function ReplicaTable({ replicas, failover }: { replicas: ReplicaDto[]; failover?: ReplicaFailoverProps }) {
  const showActions = !!failover?.canRun;
  return (
    <Table testId="replicas">
      <thead>
        <tr><Th>Source VM</Th><Th>Replica</Th><Th>State</Th><Th>Keys</Th><Th>RPO</Th><Th>Points</Th><Th>Last run</Th>{showActions && <Th>Failover / failback</Th>}</tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {replicas.map((r) => {
          const newest = r.points[r.points.length - 1];
          return (
            <tr key={r.id} data-testid="replica" data-vm={r.sourceVmName} className="align-top">
              <Td>
                <div className="font-medium">{r.sourceVmName}</div>
                <div className="text-xs text-slate-500">job <Link href={`/replication/${r.jobId}`} className="hover:underline">{r.jobName}</Link></div>
              </Td>
              <Td>
                <div>{r.replicaVmId ? <Link href={`/vms/${r.replicaVmId}`} className="text-brand-600 hover:underline" data-testid="replica-vm-link">{r.replicaVmName}</Link> : r.replicaVmName}</div>
                {r.state === "Failover" && <div className="text-xs text-amber-900">running at the DR site</div>}
                <div className="text-xs text-slate-500">{r.replicaVmExternalId ?? "not created yet"} · {r.targetSiteExternalId}</div>
              </Td>
              <Td>
                <span data-testid="replica-state" data-state={r.state}><Badge tone={r.state === "Ready" ? "good" : r.state === "PermanentFailover" ? "info" : "warn"}>{r.state === "Failover" ? "Failover" : replicaStateWords(r)}</Badge></span>
                {r.state === "Failover" && <div className="mt-1 max-w-[12rem] text-xs text-slate-600" data-testid="replica-failover-since">{replicaStateWords(r)}</div>}
                {r.failoverSessions.length > 0 && (
                  <ul className="mt-2 space-y-0.5 text-xs" data-testid="replica-failover-sessions">
                    {r.failoverSessions.slice(0, 3).map((f) => (
                      <li key={f.sessionId}>
                        <Link href={`/sessions/${f.sessionId}`} className="text-brand-600 hover:underline">{ACTION_WORDS[f.action] ?? f.action}</Link>
                        <span className="text-slate-500"> · {formatDateTime(f.at)} · {SESSION_STATE_WORDS[f.state] ?? f.state}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </Td>
              <Td>
                <Badge tone={r.keyMode === "unencrypted" ? (r.warnings.length ? "bad" : "neutral") : "lock"}>{KEY_MODE_LABELS[r.keyMode] ?? r.keyMode}</Badge>
                {r.keyId && <div className="mt-1"><KeyIds ids={[r.keyId]} /></div>}
              </Td>
              <Td className="whitespace-nowrap" >
                <span data-testid="replica-rpo" title={newest ? `newest point ${formatDateTime(newest.createdAt)}` : undefined}>{formatAge(r.rpoSeconds)}</span>
              </Td>
              <Td>
                {r.state === "Failover" && r.failover?.pointSnapshotId && <div className="mb-1 text-xs font-medium text-amber-900">Failed over to the point of {r.failover.pointCreatedAt ? formatDateTime(r.failover.pointCreatedAt) : r.failover.pointSnapshotId}</div>}
                {r.points.length === 0 ? (
                  <span className="text-xs text-slate-500">none</span>
                ) : (
                  <ul className="space-y-1 text-xs" data-testid="replica-points">
                    {[...r.points].reverse().map((p) => (
                      <li key={p.id} className={r.state === "Failover" && p.snapshotId === r.failover?.pointSnapshotId ? "font-medium text-amber-900" : undefined}>
                        {formatDateTime(p.createdAt)} · {KEY_MODE_LABELS[p.keyMode] ?? p.keyMode}
                        {p.keyIds.length > 0 && <> · <KeyIds ids={p.keyIds} /></>}
                      </li>
                    ))}
                  </ul>
                )}
              </Td>
              <Td>
                {r.lastRun ? (
                  <>
                    <Badge tone={r.lastRun.status === "success" ? "good" : r.lastRun.status === "warning" ? "warn" : "bad"}>{r.lastRun.status === "success" ? "Success" : r.lastRun.status === "warning" ? "Warning" : "Failed"}</Badge>
                    <div className="mt-1 text-xs text-slate-500">{formatDateTime(r.lastRun.at)}</div>
                    {r.lastRun.error && <div className="mt-1 max-w-xs text-xs text-red-700">{r.lastRun.error}</div>}
                  </>
                ) : (
                  <span className="text-xs text-slate-500">never run</span>
                )}
                {r.warnings.length > 0 && (
                  <ul className="mt-2 max-w-xs space-y-1 text-xs text-amber-900" data-testid="replica-warnings">
                    {r.warnings.map((w) => <li key={w}>⚠ {w}</li>)}
                  </ul>
                )}
              </Td>
              {showActions && failover && (
                <Td>
                  <ReplicaFailoverActions
                    replica={{ id: r.id, replicaVmName: r.replicaVmName, sourceVmName: r.sourceVmName, jobName: r.jobName }}
                    allowed={allowedFailoverActions(r.state)}
                    refusals={{ permanent: failover.canPermanent ? null : NO_PERMANENT, ...(failover.canFailback ? {} : { failback: NO_FAILBACK, "commit-failback": NO_FAILBACK, "undo-failback": NO_FAILBACK }) }}
                    actions={failover.actions}
                  />
                  {allowedFailoverActions(r.state).length === 0 && <span className="text-xs text-slate-500">{r.state === "PermanentFailover" ? "It is the production VM now." : "—"}</span>}
                </Td>
              )}
            </tr>
          );
        })}
      </tbody>
    </Table>
  );
}
