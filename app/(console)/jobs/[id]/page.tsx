import Link from "next/link";
import { notFound } from "next/navigation";
import { ENCRYPTION_OFF_HINT, JobEncryptionBadge, SessionStateBadge } from "@/components/backup/badges";
import { describeSelection, durationOf, TRIGGER_LABELS } from "@/components/backup/format";
import { JobLiveControls } from "@/components/backup/job-live-controls";
import { RestorePointTable } from "@/components/backup/restore-point-table";
import { Badge } from "@/components/ui/badge";
import { Card, DefinitionList, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { Table, Td, Th } from "@/components/ui/table";
import { requireActor } from "@/lib/auth/session";
import { orNull } from "@/lib/errors/not-found";
import { formatBytes, formatDateTime } from "@/lib/format";
import { hasPermission } from "@/lib/permissions/roles";
import { deleteRestorePointAction } from "../point-actions";
import { getBackupJob, type JobDetailDto } from "@/lib/services/backup/list-backup-jobs";
import { listRestorePoints } from "@/lib/services/backup/list-restore-points";
import { listProxies } from "@/lib/services/inventory/list-proxies";
import { runBackupJobNowAction, setBackupJobEnabledAction, stopJobSessionAction } from "../actions";

export const metadata = { title: "Backup job" };

export default async function JobPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see backup jobs" />;
  const jobId = (await params).id;
  const job = await orNull(getBackupJob(actor, { jobId }));
  if (!job) notFound();
  const [points, proxies] = await Promise.all([listRestorePoints(actor, { jobId }), job.proxyMode === "manual" ? listProxies(actor) : Promise.resolve([])]);
  const proxyNames = new Map(proxies.map((p) => [p.id, p.name]));
  const canManage = hasPermission(actor.role, "job:manage");
  const sel = describeSelection(job.selection);

  return (
    <>
      <div className="mb-2 text-sm text-slate-500"><Link href="/jobs" className="hover:underline">Backup jobs</Link> / {job.name}</div>
      <PageHeader
        title={job.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            {job.enabled ? <Badge tone="good">Enabled</Badge> : <Badge>Disabled — the scheduler skips it</Badge>}
            <span>{job.description || `Backs up ${sel.headline} to ${job.repository.name}.`}</span>
          </span>
        }
        actions={<JobLiveControls initial={job} canManage={canManage} actions={{ run: runBackupJobNowAction, stop: stopJobSessionAction, setEnabled: setBackupJobEnabledAction }} />}
      />
      {job.encryptionMode === "off" && (
        <p className="mb-6 rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800" data-testid="encryption-off-warning">
          <strong>Backup encryption is off.</strong> {ENCRYPTION_OFF_HINT}
        </p>
      )}
      <div className="grid gap-6 lg:grid-cols-3">
        <Card title="Settings" className="lg:col-span-2">
          <div data-testid="job-settings">
            <DefinitionList
              items={[
                ["Repository", <Link key="r" href={`/repositories/${job.repository.id}`} className="text-brand-600 hover:underline">{job.repository.name}</Link>],
                ["Retention", `Keep ${job.retentionPoints} restore point${job.retentionPoints === 1 ? "" : "s"} per VM; older ones are removed when no kept point depends on them`],
                ["Proxies", job.proxyMode === "automatic" ? "Automatic — per disk, the most efficient proxy that can read it (Direct storage, then HotAdd with the same key provider, then network), KMS compatibility checked first" : <ProxyList key="p" ids={job.proxyIds} names={proxyNames} />],
                ["Failover to network", job.failoverToNetwork ? "On — a disk no chosen proxy can HotAdd is read in network mode (NBDSSL) instead" : "Off — a disk that cannot be read with the chosen proxies' modes fails"],
                ["Encryption", <EncryptionSummary key="e" job={job} />],
                ["Schedule", <span key="s">{job.scheduleText}<span className="ml-2 text-xs text-slate-500">{job.schedule.kind === "manual" ? "" : job.enabled ? (job.nextRunAt ? `next run ${formatDateTime(job.nextRunAt)}` : "next run after the current session") : "paused while disabled"}</span></span>],
              ]}
            />
          </div>
        </Card>
        <Card title={`Protects (${sel.headline})`}>
          {job.selection.length === 0 ? (
            <p className="text-sm text-slate-600">Nothing is selected: the job has no VM to back up. Edit the job to choose VMs.</p>
          ) : (
            <ul className="space-y-1 text-sm" data-testid="job-selection">
              {job.selection.map((s) => (
                <li key={`${s.kind}:${s.id}`} className="flex items-center gap-2">
                  <Badge>{s.kind === "vm" ? "VM" : s.kind[0].toUpperCase() + s.kind.slice(1)}</Badge>
                  {s.kind === "vm" ? <Link href={`/vms/${s.id}`} className="text-brand-600 hover:underline">{s.label || s.id}</Link> : <span>{s.label || s.id}</span>}
                </li>
              ))}
            </ul>
          )}
          {job.selection.some((s) => s.kind !== "vm") && <p className="mt-3 text-xs text-slate-500">Folders, tenants and sites are resolved at each run: VMs added to them later are backed up too.</p>}
        </Card>
      </div>

      <h2 className="mb-2 mt-8 text-lg font-semibold">Sessions</h2>
      {job.sessions.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-8 text-center text-sm text-slate-600" data-testid="sessions-empty">
          This job has not run yet. {canManage ? "Use Run now to make the first (full) restore points, or wait for its schedule." : "It runs on its schedule, or when a Backup Administrator starts it."}
        </div>
      ) : (
        <Table testId="job-sessions">
          <thead>
            <tr><Th>Result</Th><Th>Trigger</Th><Th>Started</Th><Th>Duration</Th><Th className="text-right">Read</Th><Th className="text-right">Stored</Th><Th>Error</Th></tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {job.sessions.map((s) => (
              <tr key={s.id} data-testid="session-row">
                <Td><Link href={`/sessions/${s.id}`} className="inline-block hover:opacity-80"><SessionStateBadge state={s.state} /></Link></Td>
                <Td>{TRIGGER_LABELS[s.trigger] ?? s.trigger}</Td>
                <Td className="whitespace-nowrap"><Link href={`/sessions/${s.id}`} className="text-brand-600 hover:underline">{formatDateTime(s.startedAt ?? s.queuedAt)}</Link>{!s.startedAt && <div className="text-xs text-slate-500">queued</div>}</Td>
                <Td className="whitespace-nowrap tabular-nums">{s.endedAt ? durationOf(s.startedAt ?? s.queuedAt, s.endedAt) : <span className="text-slate-500">in progress</span>}</Td>
                <Td className="whitespace-nowrap text-right tabular-nums">{formatBytes(s.bytesRead)}</Td>
                <Td className="whitespace-nowrap text-right tabular-nums">{formatBytes(s.bytesStored)}</Td>
                <Td className="max-w-md text-xs text-red-700">{s.error ? <span className="line-clamp-2" title={s.error}>{s.error}</span> : <span className="text-slate-400">—</span>}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}

      <h2 className="mb-2 mt-8 text-lg font-semibold">Restore points ({points.length})</h2>
      {points.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-8 text-center text-sm text-slate-600" data-testid="points-empty">
          No restore points yet. Each successful VM of a session adds one: the first is full, later ones incremental.
        </div>
      ) : (
        <RestorePointTable points={points} show={{ vm: true }} deleteAction={canManage ? deleteRestorePointAction : undefined} />
      )}
    </>
  );
}

function ProxyList({ ids, names }: { ids: string[]; names: Map<string, string> }) {
  return (
    <span>
      Chosen: {ids.map((id) => names.get(id) ?? "(a proxy no longer in the inventory)").join(", ")}
    </span>
  );
}

/** SEC-3: who approved the current key, or the request still waiting for a Security Officer. */
function ApprovalMark({ job }: { job: JobDetailDto }) {
  return (
    <>
      {job.approvedBySecurity && (
        <div className="text-xs text-emerald-800" data-testid="approved-by-security">
          ✔ Approved by security: {job.approvedBySecurity.by}, {formatDateTime(job.approvedBySecurity.at)}
        </div>
      )}
      {job.pendingApprovalId && (
        <div className="text-xs text-amber-800" data-testid="encryption-pending-approval">
          An encryption change waits for a Security Officer (four-eyes). <Link href="/approvals" className="underline">See the request</Link>
        </div>
      )}
    </>
  );
}

function EncryptionSummary({ job }: { job: JobDetailDto }) {
  return (
    <div className="space-y-1">
      <EncryptionDetails job={job} />
      <ApprovalMark job={job} />
    </div>
  );
}

function EncryptionDetails({ job }: { job: JobDetailDto }) {
  if (job.encryptionMode === "password") {
    return (
      <div className="space-y-1" data-testid="job-encryption">
        <div><JobEncryptionBadge mode="password" /> <span className="ml-1">User key derived from the job's password; the password itself is never stored</span></div>
        <div className="text-xs text-slate-600">User key id: {job.userKeyId ? <code className="rounded bg-slate-100 px-1">{job.userKeyId}</code> : "—"}</div>
        <div className="text-xs text-slate-600">Hint: {job.passwordHint ? <span className="italic">“{job.passwordHint}”</span> : "none"} · set {formatDateTime(job.passwordSetAt)}</div>
      </div>
    );
  }
  if (job.encryptionMode === "kms") {
    return (
      <div className="space-y-1" data-testid="job-encryption">
        <div><JobEncryptionBadge mode="kms" /> <span className="ml-1">A key that never leaves the KMS wraps every storage key; its newest version is used at each run, and restores ask the KMS</span></div>
        <div className="text-xs text-slate-600">
          Key {job.kmsKeyName ? <code className="rounded bg-slate-100 px-1">{job.kmsKeyName}</code> : "—"} on{" "}
          {job.kmsKeyProvider ? <Link href={`/key-providers/${job.kmsKeyProvider.id}`} className="text-brand-600 hover:underline">{job.kmsKeyProvider.name}</Link> : "a key provider no longer in the inventory"}
        </div>
      </div>
    );
  }
  return (
    <div data-testid="job-encryption">
      <JobEncryptionBadge mode="off" /> <span className="ml-1 text-red-700">Points are sealed under a console key only</span>
    </div>
  );
}
