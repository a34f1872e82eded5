"use client";
import Link from "next/link";
import { formatDateTime } from "@/lib/format";
import type { LogLine } from "@/lib/jobs/session-progress";
import type { FailoverItemDto } from "@/lib/services/backup/get-job-session";
import { ACTION_WORDS } from "./failover-words";
import { failoverSteps } from "./failover-steps";

// A failover session's page body (FOV-1): what it does to which replica at which point, its
// steps in words with their progress, and what the replica is now.

const WHAT: Record<string, (i: FailoverItemDto, point: string) => string> = {
  failover: (i, p) => `${i.replicaVmName} (the replica of ${i.sourceVmName}) is reverted to its point of ${p} and powered on at the DR site. ${i.sourceVmName} is left as it is.`,
  planned: (i) => `${i.replicaVmName} is synced with ${i.sourceVmName} while it runs, ${i.sourceVmName} is powered off, a final sync copies its last writes, and ${i.replicaVmName} is powered on at that final point: no data is lost.`,
  undo: (i, p) => `${i.replicaVmName} is powered off and reverted to the failover point of ${p}: everything written in it since the failover is discarded. It is then Ready and replicated again.`,
  permanent: (i) => `${i.replicaVmName} becomes the production VM: its replica points are committed and ${i.sourceVmName} leaves replication job ${i.jobName}.`,
  failback: (i) => `${i.replicaVmName}, production at the DR site since the failover, is powered off and its data is shipped back to the production site, then the failed-back VM is powered on there. Commit the failback afterwards, or undo it.`,
  "commit-failback": (i) => `The failed-back VM stays production: ${i.replicaVmName} is Ready and replication job ${i.jobName} resumes from production.`,
  "undo-failback": (i) => `The failed-back VM is powered off (a VM the failback made is deleted) and ${i.replicaVmName} is powered on again at the DR site: it is production again.`,
};
const FAILBACK = new Set(["failback", "commit-failback", "undo-failback"]);

const STATE_WORDS: Record<string, string> = { Ready: "Ready", Failover: "Failover (running at the DR site)", PermanentFailover: "Permanent failover (the production VM)", Failback: "Failing back" };
const ICON = { done: "✓", running: "…", failed: "✗", pending: "○", skipped: "–" } as const;
const TONE = { done: "text-emerald-700", running: "text-brand-700", failed: "text-red-700", pending: "text-slate-400", skipped: "text-slate-400" } as const;

export function FailoverSessionPanel({ item, log, state }: { item: FailoverItemDto; log: LogLine[]; state: string }) {
  const steps = failoverSteps(item.action, log, state);
  // The job's own line: "<n> block(s) shipped (changes only); the failed-back VM is keyed with …".
  const shipped = item.action === "failback" ? (log.find((l) => /block\(s\) shipped/.test(l.text))?.text ?? null) : null;
  const point = item.pointCreatedAt ? formatDateTime(item.pointCreatedAt) : (item.pointSnapshotId ?? "the final sync");
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="failover-panel" data-action={item.action}>
      <div className="grid gap-4 md:grid-cols-2">
        <div className="space-y-2 text-sm">
          <div className="text-xs font-semibold uppercase tracking-wide text-slate-500">{ACTION_WORDS[item.action] ?? item.action}</div>
          <p>{(WHAT[item.action] ?? (() => ""))(item, point)}</p>
          <dl className="grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1">
            <dt className="text-slate-500">Replica</dt>
            <dd>{item.replicaVmId ? <Link href={`/vms/${item.replicaVmId}`} className="text-brand-600 hover:underline" data-testid="failover-vm-link">{item.replicaVmName}</Link> : item.replicaVmName}</dd>
            <dt className="text-slate-500">Source VM</dt>
            <dd>{item.sourceVmName}</dd>
            <dt className="text-slate-500">Replication job</dt>
            <dd><Link href={`/replication/${item.jobId}`} className="text-brand-600 hover:underline">{item.jobName}</Link></dd>
            {item.action !== "permanent" && !FAILBACK.has(item.action) && (
              <>
                <dt className="text-slate-500">Point</dt>
                <dd>{point}</dd>
              </>
            )}
            <dt className="text-slate-500">Replica now</dt>
            <dd data-testid="failover-replica-state"><Link href="/replicas" className="text-brand-600 hover:underline">{STATE_WORDS[item.replicaState] ?? item.replicaState}</Link></dd>
          </dl>
        </div>
        <div>
          <div className="text-xs font-semibold uppercase tracking-wide text-slate-500">Steps</div>
          <ol className="mt-2 space-y-1.5 text-sm" data-testid="failover-steps">
            {steps.map((s) => (
              <li key={s.label} className="flex gap-2" data-testid="failover-step" data-state={s.state}>
                <span className={`w-4 shrink-0 text-center font-semibold ${TONE[s.state]}`}>{ICON[s.state]}</span>
                <span className={s.state === "failed" ? "font-medium text-red-800" : s.state === "pending" || s.state === "skipped" ? "text-slate-500" : "text-slate-800"}>
                  {s.label}
                  {s.state === "skipped" && " (not needed)"}
                  {s.state === "running" && " — in progress"}
                  {s.state === "failed" && " — failed: see below"}
                  {s.state === "pending" && state !== "running" && state !== "queued" && " — not run"}
                </span>
              </li>
            ))}
          </ol>
          {item.action === "failback" && shipped && <p className="mt-3 rounded-md bg-slate-50 px-3 py-2 text-sm text-slate-800" data-testid="failback-shipped">{shipped}</p>}
        </div>
      </div>
    </section>
  );
}
