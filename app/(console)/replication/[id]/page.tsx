import Link from "next/link";
import { notFound } from "next/navigation";
import { SessionStateBadge } from "@/components/backup/badges";
import { durationOf, TRIGGER_LABELS } from "@/components/backup/format";
import { RunNowButton } from "@/components/backup/job-actions";
import { ReplicaTable } from "@/components/replication/replica-table";
import { ReplicationJobControls } from "@/components/replication/replication-job-controls";
import { Badge } from "@/components/ui/badge";
import { Card, DefinitionList, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { Table, Td, Th } from "@/components/ui/table";
import { requireActor } from "@/lib/auth/session";
import { orNull } from "@/lib/errors/not-found";
import { formatDateTime } from "@/lib/format";
import { hasPermission } from "@/lib/permissions/roles";
import { KEY_MODE_WORDS } from "@/lib/replication/replica-placement";
import { getReplicationJob } from "@/lib/services/replication/list-replication-jobs";
import { runReplicationJobNowAction } from "../actions";

export const metadata = { title: "Replication job" };
export const dynamic = "force-dynamic";

export default async function ReplicationJobPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see replication jobs" />;
  const jobId = (await params).id;
  const job = await orNull(getReplicationJob(actor, { jobId }));
  if (!job) notFound();
  const canManage = hasPermission(actor.role, "job:manage");
  return (
    <>
      <div className="mb-2 text-sm text-slate-500">
        <Link href="/replication" className="hover:underline">Replication jobs</Link> / {job.name}
      </div>
      <PageHeader
        title={job.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            {job.enabled ? <Badge tone="good">Enabled</Badge> : <Badge>Disabled — the scheduler skips it</Badge>}
            <span>{job.description || `Replicates ${job.vms.length} VM${job.vms.length === 1 ? "" : "s"} to ${job.targetSite}.`}</span>
          </span>
        }
        actions={
          canManage ? (
            <div className="flex items-start gap-2">
              <ReplicationJobControls job={{ id: job.id, name: job.name, enabled: job.enabled, busy: !!job.active, replicaVmNames: job.form.replicaVmNames }} />
              <RunNowButton jobId={job.id} action={runReplicationJobNowAction} size="md" primary disabledReason={job.active ? "A session of this job is running" : undefined} />
            </div>
          ) : undefined
        }
      />
      <div className="grid gap-6 lg:grid-cols-3">
        <Card title="Settings" className="lg:col-span-2">
          <div data-testid="replication-settings">
            <DefinitionList
              items={[
                ["Target", `${job.targetSite}, host ${job.targetHost}`],
                ["Keys", <span key="k">{KEY_MODE_WORDS[job.keyMode] ?? job.keyMode}{job.keyProvider ? ` · ${job.keyProvider}` : ""}{job.keyMode === "unencrypted" ? " — encrypted VMs' data sits unencrypted at the target; every session warns" : ""}</span>],
                ["Unencrypted replicas of encrypted VMs", job.refuseUnencrypted ? "Refused" : "Allowed (with a warning in every session)"],
                ["Restore points", `Keep ${job.keepPoints} on each replica; the oldest beyond that is removed after each run`],
                ["Data transfer", `${job.proxyMode === "automatic" ? "Automatic proxy selection at each site (KMS compatibility checked first)" : `Chosen proxies: ${job.proxies.join(", ")}`}; always under TLS between the sites${job.seedRepository ? `; a VM's first run is seeded from its newest restore point in ${job.seedRepository}` : ""}`],
                ["Schedule", <span key="s">{job.scheduleText}<span className="ml-2 text-xs text-slate-500">{job.schedule.kind === "manual" ? "" : job.enabled ? (job.nextRunAt ? `next run ${formatDateTime(job.nextRunAt)}` : "") : "paused while disabled"}</span></span>],
              ]}
            />
          </div>
        </Card>
        <Card title={`Replicates (${job.vms.length})`}>
          <ul className="space-y-3 text-sm" data-testid="replication-placements">
            {job.placements.map((p) => (
              <li key={p.vm}>
                <div className="font-medium">{p.vm} → {p.replicaName}</div>
                <div className="text-xs text-slate-600">Folder {p.folder} · home on {p.home}</div>
                {p.disks.map((d) => <div key={d.label} className="text-xs text-slate-600">{d.label} on {d.place}</div>)}
                {p.networks.map((n) => <div key={n.nic} className="text-xs text-slate-600">{n.nic} → {n.network}</div>)}
              </li>
            ))}
          </ul>
        </Card>
      </div>

      <h2 className="mb-2 mt-8 text-lg font-semibold">Replicas ({job.replicas.length})</h2>
      {job.replicas.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-8 text-center text-sm text-slate-600" data-testid="replicas-empty">
          No replica yet: the first run creates one per VM at {job.targetSite}.
        </div>
      ) : (
        <>
          <ReplicaTable replicas={job.replicas} />
          <p className="mt-2 text-sm"><Link href="/replicas" className="text-brand-600 hover:underline">All replicas</Link></p>
        </>
      )}

      <h2 className="mb-2 mt-8 flex items-baseline gap-3 text-lg font-semibold">
        Sessions
        <Link href={`/sessions?kind=replication&q=${encodeURIComponent(job.name)}`} className="text-sm font-normal text-brand-600 hover:underline">Open in Sessions</Link>
      </h2>
      {job.sessions.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-8 text-center text-sm text-slate-600" data-testid="sessions-empty">
          This job has not run yet. {canManage ? "Use Run now for the first (full) copy, or wait for its schedule." : "It runs on its schedule, or when a Backup Administrator starts it."}
        </div>
      ) : (
        <Table testId="job-sessions">
          <thead>
            <tr><Th>Result</Th><Th>Trigger</Th><Th>Started</Th><Th>Duration</Th><Th>Error</Th></tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {job.sessions.map((s) => (
              <tr key={s.id} data-testid="session-row">
                <Td><Link href={`/sessions/${s.id}`} className="inline-block hover:opacity-80"><SessionStateBadge state={s.state} /></Link></Td>
                <Td>{TRIGGER_LABELS[s.trigger] ?? s.trigger}</Td>
                <Td className="whitespace-nowrap"><Link href={`/sessions/${s.id}`} className="text-brand-600 hover:underline">{formatDateTime(s.startedAt ?? s.queuedAt)}</Link></Td>
                <Td className="whitespace-nowrap tabular-nums">{s.endedAt ? durationOf(s.startedAt ?? s.queuedAt, s.endedAt) : <span className="text-slate-500">in progress</span>}</Td>
                <Td className="max-w-md text-xs text-red-700">{s.error ? <span className="line-clamp-2" title={s.error}>{s.error}</span> : <span className="text-slate-400">—</span>}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </>
  );
}
