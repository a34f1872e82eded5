import Link from "next/link";
import { KeyIds } from "@/components/backup/badges";
import { Badge } from "@/components/ui/badge";
import { Table, Td, Th } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import type { ReplicaDto } from "@/lib/services/replication/list-replicas";

// The replicas of every replication job (REP-1…4), read-only: state, key mode, recovery point
// objective (the age of the newest point), the points with their key ids, the last run and warnings.

const KEY_MODE_LABELS: Record<string, string> = { shared: "Shared keys", "re-key": "New key at the target", unencrypted: "Unencrypted" };
const STATE_LABELS: Record<string, string> = { Ready: "Ready", Failover: "Failed over", Failback: "Failing back", PermanentFailover: "Permanently failed over" };

export function formatAge(seconds: number | null): string {
  if (seconds === null) return "no point yet";
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

export function ReplicaTable({ replicas }: { replicas: ReplicaDto[] }) {
  return (
    <Table testId="replicas">
      <thead>
        <tr><Th>Source VM</Th><Th>Replica</Th><Th>State</Th><Th>Keys</Th><Th>RPO</Th><Th>Points</Th><Th>Last run</Th></tr>
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
                <div>{r.replicaVmName}</div>
                <div className="text-xs text-slate-500">{r.replicaVmExternalId ?? "not created yet"} · {r.targetSiteExternalId}</div>
              </Td>
              <Td><Badge tone={r.state === "Ready" ? "good" : "warn"}>{STATE_LABELS[r.state] ?? r.state}</Badge></Td>
              <Td>
                <Badge tone={r.keyMode === "unencrypted" ? (r.warnings.length ? "bad" : "neutral") : "lock"}>{KEY_MODE_LABELS[r.keyMode] ?? r.keyMode}</Badge>
                {r.keyId && <div className="mt-1"><KeyIds ids={[r.keyId]} /></div>}
              </Td>
              <Td className="whitespace-nowrap" >
                <span data-testid="replica-rpo" title={newest ? `newest point ${formatDateTime(newest.createdAt)}` : undefined}>{formatAge(r.rpoSeconds)}</span>
              </Td>
              <Td>
                {r.points.length === 0 ? (
                  <span className="text-xs text-slate-500">none</span>
                ) : (
                  <ul className="space-y-1 text-xs" data-testid="replica-points">
                    {[...r.points].reverse().map((p) => (
                      <li key={p.id}>
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
            </tr>
          );
        })}
      </tbody>
    </Table>
  );
}
