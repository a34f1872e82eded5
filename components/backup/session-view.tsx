"use client";
import Link from "next/link";
import { useEffect, useMemo, useRef } from "react";
import { SessionWorkerNotice } from "@/components/jobs/session-worker-notice";
import { formatTimeShort, workerName } from "@/components/jobs/worker-chip";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import { ErrorNotice } from "@/components/ui/states";
import { formatBytes, formatDateTime, TRANSPORT_LABELS } from "@/lib/format";
import type { JobSessionDto, RestoreItemDto } from "@/lib/services/backup/get-job-session";
import type { WorkerRefDto } from "@/lib/services/jobs/job-dto";
import { sessionTotals, type DiskRunProgress, type LogLine, type VmRunProgress } from "@/lib/jobs/session-progress";
import { isActiveState, JobEncryptionBadge, KeyIds, PointTypeBadge, SessionStateBadge, VmRunBadge } from "./badges";
import { durationOf, formatRate, percent, TRIGGER_LABELS } from "./format";
import { StopSessionButton, type Action } from "./job-actions";
import { ProgressBar, SegmentedBar } from "./progress-bar";
import { isGone, useJobSession } from "./queries";
import { useNow } from "./use-now";
import { FailoverSessionPanel } from "@/components/failover/failover-session-panel";


/** The live session page (BKP-5): totals, per VM and per disk progress with the proxy and why, the log. */
export function SessionView({ initial, canManage, stopAction }: { initial: JobSessionDto; canManage: boolean; stopAction: Action }) {
  const q = useJobSession(initial.id, initial);
  const s = q.data ?? initial;
  const active = isActiveState(s.state);
  const now = useNow(active);
  const totals = sessionTotals(s.progress);
  const elapsedMs = s.startedAt ? (s.endedAt ? Date.parse(s.endedAt) : (now ?? Date.parse(s.startedAt))) - Date.parse(s.startedAt) : 0;
  // While running: the current rate of the disks being read. Afterwards: the average over the session.
  // A restore's average is of what it wrote (zero blocks skipped on a new disk are not throughput).
  const rate = active ? totals.rate : elapsedMs > 0 ? ((s.kind === "restore" ? totals.bytesTransferred : totals.bytesRead) * 1000) / elapsedMs : 0;
  const count = (...st: string[]) => s.progress.vms.filter((v) => st.includes(v.status)).length;
  const processed = s.progress.vms.length - count("pending", "running");
  const backedUp = count("success", "warning");
  // While it runs: by bytes once the disks' sizes are known, by VMs while there is nothing to read.
  const isRestore = s.kind === "restore";
  const isReplication = s.kind === "replication";
  const isFailover = s.kind === "failover" || s.kind === "failback";
  const overall = totals.bytesToRead > 0 ? percent(totals.bytesRead, totals.bytesToRead) : percent(processed, s.progress.vms.length);

  return (
    <div className="space-y-6" data-testid="session-view" data-state={s.state}>
      <div>
        <div className="mb-2 text-sm text-slate-500">
          {s.job ? (
            <>
              <Link href="/jobs" className="hover:underline">Backup jobs</Link> / <Link href={`/jobs/${s.job.id}`} className="hover:underline">{s.job.name}</Link> / Session
            </>
          ) : (
            <>
              <Link href="/sessions" className="hover:underline">Sessions</Link> / {isFailover ? <Link href="/replicas" className="hover:underline">{s.kind === "failback" ? "Failback" : "Failover"}</Link> : isReplication ? "Replication" : "Restore"}
            </>
          )}
        </div>
        <div className="flex flex-wrap items-start justify-between gap-4">
          <div>
            <h1 className="flex flex-wrap items-center gap-3 text-2xl font-semibold tracking-tight text-slate-900">
              {s.job?.name ?? s.title}
              <span className="text-base"><SessionStateBadge state={s.state} /></span>
            </h1>
            <p className="mt-1 text-sm text-slate-600">
              {s.kind === "restore" || isFailover ? "Started" : (TRIGGER_LABELS[s.trigger] ?? s.trigger)}
              {s.requestedBy ? ` by ${s.requestedBy}` : ""}
              {s.repository && (
                <>
                  {" "}· {s.kind === "restore" ? "from" : "to"} <Link href={`/repositories/${s.repository.id}`} className="text-brand-600 hover:underline">{s.repository.name}</Link>
                </>
              )}
              {s.job && (
                <>
                  {" "}· backup encryption <JobEncryptionBadge mode={s.job.encryptionMode} />
                </>
              )}
            </p>
            {s.reason && <p className="mt-1 text-sm text-slate-600" data-testid="session-reason">Reason: {s.reason}</p>}
          </div>
          {canManage && active && <StopSessionButton sessionId={s.id} action={stopAction} stopRequested={s.stopRequested} size="md" />}
        </div>
        <dl className="mt-3 flex flex-wrap gap-x-8 gap-y-1 text-sm" data-testid="session-times">
          <Time label="Queued" value={formatDateTime(s.queuedAt)} />
          <Time label="Started" value={s.startedAt ? formatDateTime(s.startedAt) : "waiting for the runner"} />
          <Time label="Ended" value={s.endedAt ? formatDateTime(s.endedAt) : "—"} />
          <Time label="Duration" value={s.startedAt ? durationOf(s.startedAt, s.endedAt, now) : "—"} />
        </dl>
      </div>

      {q.isError && (
        isGone(q.error) ? (
          <ErrorNotice title="This session is no longer available">{q.error.message} What you see is the last state this page received.</ErrorNotice>
        ) : (
          <ErrorNotice title="Live progress unavailable">{q.error.message} Retrying; the page shows the last state it received.</ErrorNotice>
        )
      )}
      {s.stopRequested && active && <p className="rounded-md bg-amber-50 px-4 py-2 text-sm text-amber-900" data-testid="stop-requested">Stop requested: the VM being read finishes (its restore point stays valid); the VMs after it are not started.</p>}
      <SessionWorkerNotice vms={s.progress.vms.map((vm) => ({ name: vm.name, status: vm.status, worker: s.vms?.find((v) => v.vmExternalId === vm.vmExternalId)?.worker }))} takeovers={s.takeovers ?? []} now={now} />
      {s.error && (
        <div data-testid="session-error">
          <ErrorNotice title={s.state === "failed" ? "The session failed" : "The session reported a problem"}>{sentence(s.error)}</ErrorNotice>
        </div>
      )}

      {isFailover && s.failover && <FailoverSessionPanel item={s.failover} log={s.log} state={s.state} />}

      {!isFailover && (
      <section className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="session-totals">
        <div className="grid grid-cols-2 gap-4 md:grid-cols-4">
          {isRestore ? (
            <>
              <Figure label="Restored" value={formatBytes(totals.bytesRead)} hint={totals.bytesToRead ? `of ${formatBytes(totals.bytesToRead)} of disk capacity` : active ? "sizes known when the disks open" : "nothing was restored"} />
              <Figure label="Written" value={formatBytes(totals.bytesTransferred)} hint={writtenHint(s.restore?.[0]?.mode ?? "new-location")} />
            </>
          ) : (
            <>
              <Figure label="Read" value={formatBytes(totals.bytesRead)} hint={totals.bytesToRead ? `of ${formatBytes(totals.bytesToRead)} to read` : active ? "sizes known when the disks open" : "nothing was read"} />
              <Figure label="Transferred" value={formatBytes(totals.bytesTransferred)} hint={isReplication ? "written to the replicas at the target site" : totals.bytesRead ? `${Math.round(percent(totals.bytesTransferred, totals.bytesRead))}% of read, after zero skip, dedupe and compression` : "stored in the repository, encrypted"} />
            </>
          )}
          <Figure label={active ? "Rate" : "Average rate"} value={formatRate(rate)} hint={active ? (isRestore ? "writing now" : "reading now") : "over the whole session"} />
          <Figure label={isRestore ? "VMs restored" : isReplication ? "VMs replicated" : "VMs backed up"} value={`${backedUp} / ${totals.vmCount}`} hint={vmSummary(s.progress.vms)} />
        </div>
        <div className="mt-4 flex items-center gap-3">
          {active || s.progress.vms.length === 0 ? (
            <>
              <ProgressBar value={active ? overall : 0} label="Session progress" />
              <span className="w-16 shrink-0 text-right text-sm font-medium tabular-nums text-slate-700" data-testid="session-percent">{active ? `${Math.round(overall)}%` : "—"}</span>
            </>
          ) : (
            <>
              <SegmentedBar
                label="VMs by outcome"
                segments={[
                  { value: count("success"), tone: "good", title: "Succeeded" },
                  { value: count("warning"), tone: "warn", title: "Succeeded with warnings" },
                  { value: count("failed"), tone: "bad", title: "Failed" },
                  { value: count("skipped", "pending", "running"), tone: "neutral", title: "Not run" },
                ]}
              />
              <span className="w-16 shrink-0 text-right text-sm font-medium tabular-nums text-slate-700" data-testid="session-percent">{backedUp} of {s.progress.vms.length}</span>
            </>
          )}
        </div>
      </section>
      )}

      {isFailover ? null : s.progress.vms.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-8 text-center text-sm text-slate-600" data-testid="session-no-vms">
          {s.state === "queued" ? "Queued: the runner starts the session in a moment and lists its VMs here." : active ? "Resolving the job's selection…" : isRestore ? "No VM was restored in this session. The log below says why." : isReplication ? "No VM was replicated in this session. The log below says why." : "No VM was backed up in this session. The log below says why."}
        </div>
      ) : (
        <div className="space-y-4">
          {s.progress.vms.map((vm) => {
            const placed = s.vms?.find((v) => v.vmExternalId === vm.vmExternalId);
            return <VmCard key={vm.vmExternalId} vm={vm} log={s.log} worker={placed?.worker} takenOverFrom={placed?.takenOverFrom} now={now} restore={isRestore ? (s.restore?.find((r) => r.vmExternalId === vm.vmExternalId) ?? null) : undefined} />;
          })}
        </div>
      )}

      <SessionLog lines={s.log} active={active} />
    </div>
  );
}

function Time({ label, value }: { label: string; value: string }) {
  return (
    <div className="flex gap-2">
      <dt className="text-slate-500">{label}</dt>
      <dd className="tabular-nums text-slate-900">{value}</dd>
    </div>
  );
}

function Figure({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div>
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</div>
      <div className="mt-0.5 text-xl font-semibold tabular-nums text-slate-900">{value}</div>
      {hint && <div className="text-xs text-slate-500">{hint}</div>}
    </div>
  );
}

function vmSummary(vms: VmRunProgress[]): string {
  const n = (st: string) => vms.filter((v) => v.status === st).length;
  const parts = [[n("success"), "succeeded"], [n("warning"), "with warnings"], [n("failed"), "failed"], [n("skipped"), "not run"], [n("running"), "running"]] as const;
  return parts.filter(([c]) => c > 0).map(([c, w]) => `${c} ${w}`).join(", ") || "none finished yet";
}

function VmCard({ vm, log, worker, takenOverFrom, now, restore }: { vm: VmRunProgress; log: LogLine[]; worker?: WorkerRefDto | null; takenOverFrom?: WorkerRefDto | null; now: number | null; restore?: RestoreItemDto | null }) {
  const isRestore = restore !== undefined;
  const toRead = vm.disks.reduce((n, d) => n + d.bytesToRead, 0);
  const read = vm.disks.reduce((n, d) => n + d.bytesRead, 0);
  const border = vm.status === "failed" ? "border-red-200" : vm.status === "warning" ? "border-amber-200" : vm.status === "running" ? "border-brand-100" : "border-slate-200";
  return (
    <section className={`rounded-lg border bg-white shadow-sm ${border}`} data-testid="session-vm" data-vm={vm.name} data-status={vm.status}>
      <header className="flex flex-wrap items-center gap-2 border-b border-slate-100 px-4 py-3">
        {restore ? (
          <RestoreTitle vm={vm} item={restore} />
        ) : vm.vmId ? (
          <Link href={`/vms/${vm.vmId}`} className="font-semibold text-slate-900 hover:underline">{vm.name}</Link>
        ) : (
          <span className="font-semibold">{vm.name}</span>
        )}
        <EncryptionBadge encrypted={vm.encrypted} />
        <VmRunBadge status={vm.status} />
        {vm.incremental !== null && !restore && <PointTypeBadge incremental={vm.incremental} />}
        {restore && restore.mode !== "new-location" && <Badge tone="warn">{RESTORE_MODE_LABELS[restore.mode]}</Badge>}
        {worker && (
          <span className={`text-xs ${worker.alive || vm.status !== "running" ? "text-slate-600" : "font-medium text-red-700"}`} data-testid="vm-worker" data-worker={worker.id} data-pid={worker.pid} data-alive={worker.alive ? "yes" : "no"} title={`Worker ${worker.id}`}>
            {vm.status === "running" ? "running on" : "ran on"} <span className={`font-medium ${worker.alive || vm.status !== "running" ? "text-slate-800" : ""}`}>{workerName(worker)}</span>
            {!worker.alive && vm.status === "running" && <span className="text-red-700"> · no heartbeat since {formatTimeShort(worker.heartbeatAt, now)}</span>}
          </span>
        )}
        {takenOverFrom && (
          <span className="text-xs font-medium text-amber-800" data-testid="vm-taken-over" data-from={takenOverFrom.id}>
            · taken over from {workerName(takenOverFrom)}
          </span>
        )}
        <span className="ml-auto text-xs text-slate-500">
          {vm.startedAt ? `${formatDateTime(vm.startedAt)}${vm.endedAt ? ` · ${durationOf(vm.startedAt, vm.endedAt)}` : ""}` : vm.status === "pending" ? "waits for the VMs before it" : ""}
          {toRead > 0 && ` · ${formatBytes(read)} of ${formatBytes(toRead)}`}
        </span>
      </header>
      <div className="space-y-3 p-4">
        {vm.error && <VmError text={vm.error} reasonsBelow={vm.disks.some((d) => !d.proxy) && /^no proxy/i.test(vm.error)} />}
        {vm.warnings.length > 0 && (
          <ul className="space-y-1 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="vm-warnings">
            {vm.warnings.map((w, i) => <li key={i}>Warning: {w}</li>)}
          </ul>
        )}
        {restore && <RestoreOutcome vm={vm} item={restore} />}
        {vm.pointId && (
          <div className="flex flex-wrap items-start gap-x-6 gap-y-1 text-sm" data-testid="vm-point">
            <div><span className="text-slate-500">Restore point </span><code className="text-xs">{vm.pointId}</code></div>
            <div className="flex items-start gap-2"><span className="text-slate-500">Key ids</span><KeyIds ids={vm.keyIds} /></div>
          </div>
        )}
        {vm.disks.length > 0 && (
          <div className="overflow-x-auto">
            <table className="min-w-full text-sm" data-testid="vm-disks">
              <thead>
                <tr className="text-left text-xs uppercase tracking-wide text-slate-500">
                  <th className="pb-1 pr-4 font-semibold">Disk</th>
                  <th className="pb-1 pr-4 font-semibold">Proxy and transport mode</th>
                  <th className="w-64 pb-1 pr-4 font-semibold">{isRestore ? "Restored" : "Read"}</th>
                  <th className="pb-1 pr-4 text-right font-semibold">{isRestore ? "Written" : "Transferred"}</th>
                  <th className="pb-1 text-right font-semibold">Rate</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {vm.disks.map((d) => <DiskRow key={d.deviceKey} vm={vm} disk={d} log={log} restore={isRestore} />)}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </section>
  );
}

function DiskRow({ vm, disk: d, log, restore = false }: { vm: VmRunProgress; disk: DiskRunProgress; log: LogLine[]; restore?: boolean }) {
  // The other proxies considered for this disk and why they were not used (TRN-5), from the log.
  const considered = useMemo(() => {
    const prefix = `${vm.name} / ${d.label}: `;
    // A VM taken over from a worker that died planned its disks twice: each reason once.
    return [...new Set(log.filter((l) => l.text.startsWith(prefix) && l.text.slice(prefix.length) !== d.reason && !/^(full|incremental)\b/.test(l.text.slice(prefix.length))).map((l) => l.text.slice(prefix.length)))];
  }, [log, vm.name, d.label, d.reason]);
  const pct = percent(d.bytesRead, d.bytesToRead);
  // Restores report the mode's id ("nbdssl"); backups its label already.
  const mode = d.mode ? (TRANSPORT_LABELS[d.mode] ?? d.mode) : d.mode;
  const vmEnded = vm.status !== "running" && vm.status !== "pending";
  const tone = d.done ? "good" : vmEnded ? (vm.status === "failed" ? "bad" : "neutral") : "brand";
  return (
    <tr data-testid="session-disk" className="align-top">
      <td className="py-2 pr-4">
        <div className="font-medium">{d.label}</div>
        <div className="mt-0.5">{d.encrypted ? <Badge tone="lock">Encrypted</Badge> : <Badge>Not encrypted</Badge>}</div>
      </td>
      <td className="max-w-md py-2 pr-4">
        {d.proxy ? (
          <>
            <div><span className="font-medium">{d.proxy}</span> <Badge tone={/\(NBD\)/.test(mode ?? "") ? "warn" : "info"}>{mode}</Badge></div>
            {d.reason && <div className="mt-0.5 text-xs text-slate-600" data-testid="disk-reason">{reasonOnly(d.reason, d.proxy, mode)}</div>}
          </>
        ) : (
          <span className="text-xs text-slate-500">{vm.status === "pending" ? "chosen when the VM starts" : vm.status === "skipped" ? (restore ? "not written" : "not read") : vmEnded ? (restore ? "not written: no proxy was chosen before the restore ended" : "no proxy could read it") : "choosing a proxy…"}</span>
        )}
        {considered.length > 0 && <ReasonList items={considered} testId="disk-considered" />}
      </td>
      <td className="py-2 pr-4">
        <ProgressBar value={d.done ? 100 : pct} tone={tone} size="sm" label={`${d.label} ${restore ? "restored" : "read"}`} />
        <div className="mt-1 text-xs tabular-nums text-slate-600">
          {d.done && <span className="mr-1 font-medium text-emerald-700">Done ·</span>}
          {d.bytesToRead > 0
            ? `${formatBytes(d.bytesRead)} of ${formatBytes(d.bytesToRead)}${d.done ? "" : ` · ${Math.round(pct)}%`}`
            : d.done
              ? restore
                ? "nothing to write"
                : vm.incremental
                  ? "nothing changed since the last point"
                  : "nothing to read: no data written yet"
              : "—"}
        </div>
      </td>
      <td className="whitespace-nowrap py-2 pr-4 text-right tabular-nums">{formatBytes(d.bytesTransferred)}</td>
      <td className="whitespace-nowrap py-2 text-right tabular-nums">{d.done || vmEnded ? <span className="text-slate-400">—</span> : formatRate(d.rate)}</td>
    </tr>
  );
}

/** "proxy-02 in Virtual appliance (HotAdd) mode: why…" → "why…" (the proxy and mode are shown beside it). */
function reasonOnly(reason: string, proxy: string, mode: string | null): string {
  const head = `${proxy} in ${mode} mode`;
  if (reason.startsWith(head)) {
    const rest = reason.slice(head.length).replace(/^:\s*/, "");
    return rest ? capitalize(rest) : "The most efficient mode this disk allows, from a proxy that can read it.";
  }
  return reason;
}

// Proxies at another site or dedicated to another tenant were never candidates: listed, but folded away.
const NOT_A_CANDIDATE = /^\S+: not used — (at site|dedicated to tenant)/;

/** The engine's reasons for a disk (TRN-5): the refusals that decided it first, the rest folded. */
function ReasonList({ items, testId }: { items: string[]; testId?: string }) {
  const decisive = items.filter((x) => !NOT_A_CANDIDATE.test(x));
  const others = items.filter((x) => NOT_A_CANDIDATE.test(x));
  return (
    <div className="mt-1 text-xs text-slate-600" data-testid={testId}>
      {decisive.length > 0 && <ul className="list-disc space-y-0.5 pl-4">{decisive.map((c, i) => <li key={i}>{c}</li>)}</ul>}
      {others.length > 0 && (
        <details className="mt-0.5">
          <summary className="cursor-pointer text-slate-500 hover:text-slate-700">{others.length} other prox{others.length === 1 ? "y" : "ies"} not eligible (another site or tenant)</summary>
          <ul className="mt-1 list-disc space-y-0.5 pl-4 text-slate-500">{others.map((c, i) => <li key={i}>{c}</li>)}</ul>
        </details>
      )}
    </div>
  );
}

/** "no proxy can read X: a; b; c" as a headline and a list, instead of one long paragraph. */
function VmError({ text, reasonsBelow }: { text: string; reasonsBelow: boolean }) {
  const at = text.indexOf(": ");
  const items = at > 0 ? text.slice(at + 2).split("; ") : [];
  if (items.length >= 3 && reasonsBelow) {
    return (
      <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="vm-error">
        <span className="font-medium">{sentence(text.slice(0, at))}</span> Why each proxy was refused is listed with the disk below.
      </p>
    );
  }
  if (items.length < 3) return <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="vm-error">{sentence(text)}</p>;
  return (
    <div className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="vm-error">
      <p className="font-medium">{sentence(text.slice(0, at))}</p>
      <div className="text-red-900 [&_li]:text-red-800"><ReasonList items={items} /></div>
    </div>
  );
}

const LEVEL_STYLES = { info: "text-slate-700", warning: "text-amber-800 bg-amber-50/70", error: "text-red-800 bg-red-50/70" } as const;

function SessionLog({ lines, active }: { lines: LogLine[]; active: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  // Follow the newest line unless the reader has scrolled up to read something.
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines.length]);
  const warnings = lines.filter((l) => l.level === "warning").length;
  const errors = lines.filter((l) => l.level === "error").length;
  return (
    <section className="rounded-lg border border-slate-200 bg-white shadow-sm">
      <header className="flex items-center justify-between gap-4 border-b border-slate-100 px-4 py-3">
        <h2 className="text-sm font-semibold text-slate-800">Session log</h2>
        <span className="text-xs text-slate-500">
          {lines.length} line{lines.length === 1 ? "" : "s"}
          {warnings > 0 && <span className="ml-2 text-amber-700">{warnings} warning{warnings === 1 ? "" : "s"}</span>}
          {errors > 0 && <span className="ml-2 text-red-700">{errors} error{errors === 1 ? "" : "s"}</span>}
          {active && <span className="ml-2">· live</span>}
        </span>
      </header>
      {lines.length === 0 ? (
        <p className="px-4 py-6 text-center text-sm text-slate-500">No log lines yet.</p>
      ) : (
        <div
          ref={box}
          onScroll={(e) => {
            const el = e.currentTarget;
            stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
          className="max-h-96 overflow-y-auto py-2 font-mono text-xs leading-relaxed"
          data-testid="session-log"
        >
          {lines.map((l, i) => (
            <div key={i} className={`flex gap-3 px-4 py-0.5 ${LEVEL_STYLES[l.level] ?? LEVEL_STYLES.info}`} data-level={l.level}>
              <span className="shrink-0 text-slate-400" title={l.at}>{l.at.slice(11, 19)}</span>
              <span className="w-14 shrink-0 uppercase">{l.level === "info" ? "" : l.level}</span>
              <span className="whitespace-pre-wrap break-words">{l.text}</span>
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

const RESTORE_MODE_LABELS = { "new-location": "new location", overwrite: "overwritten in place", "quick-rollback": "quick rollback in place", disks: "disks to an existing VM" } as const;

/** "web-01 → web-01-restored", the restored VM linked once the inventory has it; "web-01, in place" for an in-place restore. */
function RestoreTitle({ vm, item }: { vm: VmRunProgress; item: RestoreItemDto }) {
  const source = vm.name.split(" → ")[0].replace(/ \(in place\)$/, "");
  if (item.mode === "overwrite" || item.mode === "quick-rollback") {
    return (
      <span className="font-semibold text-slate-900" data-testid="restore-title">
        {item.targetVmId ? <Link href={`/vms/${item.targetVmId}`} className="hover:underline" data-testid="restored-vm-link">{item.targetName}</Link> : <span data-testid="restored-vm-name">{item.targetName}</span>}
        <span className="ml-1.5 font-normal text-slate-500">back to its restore point, in place</span>
      </span>
    );
  }
  return (
    <span className="font-semibold text-slate-900" data-testid="restore-title">
      {vm.vmId ? <Link href={`/vms/${vm.vmId}`} className="hover:underline">{source}</Link> : source}
      <span className="mx-1.5 text-slate-400">→</span>
      {item.targetVmId ? (
        <Link href={`/vms/${item.targetVmId}`} className="text-brand-600 hover:underline" data-testid="restored-vm-link">{item.targetName}</Link>
      ) : (
        <span data-testid="restored-vm-name">{item.targetName}</span>
      )}
    </span>
  );
}

/** What the restore told before it started, what the platform checked after, and the power state. */
function RestoreOutcome({ vm, item }: { vm: VmRunProgress; item: RestoreItemDto }) {
  const ended = vm.status !== "running" && vm.status !== "pending";
  const power = !ended
    ? item.powerOn
      ? "Powered on once the disks are written and the checks pass."
      : "Left powered off, as chosen in the wizard."
    : item.poweredOn
      ? "Powered on after the restore, as chosen in the wizard."
      : !item.powerOn
        ? "Left powered off, as chosen in the wizard."
        : vm.status === "failed"
          ? "Not powered on: the restore failed."
          : `Not powered on${item.checks.some((c) => !c.ok) ? ": a post-restore check failed" : ""}.`;
  return (
    <div className="grid gap-3 text-sm md:grid-cols-2" data-testid="restore-outcome">
      <div>
        <div className="text-xs font-semibold uppercase tracking-wide text-slate-500">{item.mode === "new-location" ? "Restored VM" : item.mode === "disks" ? "VM the disks went to" : "VM restored in place"}</div>
        <div className="mt-1" data-testid="restore-target">
          {item.targetVmExternalId ? (
            <>
              {item.targetVmId ? <Link href={`/vms/${item.targetVmId}`} className="text-brand-600 hover:underline">{item.targetName}</Link> : item.targetName} <code className="text-xs text-slate-500">{item.targetVmExternalId}</code>
            </>
          ) : item.mode !== "new-location" ? (
            item.targetName
          ) : ended ? (
            "Not created (whatever a failed attempt created was deleted)."
          ) : (
            "Created when the restore starts writing."
          )}
        </div>
        <div className="mt-1 flex items-center gap-2" data-testid="restore-power" data-powered-on={item.poweredOn ? "yes" : "no"}>
          {item.poweredOn ? <Badge tone="good">Powered on</Badge> : <Badge>Powered off</Badge>}
          <span className="text-slate-600">{power}</span>
        </div>
      </div>
      <div>
        <div className="text-xs font-semibold uppercase tracking-wide text-slate-500">{item.mode === "new-location" ? "Post-restore checks" : "What was written"}</div>
        {item.checks.length === 0 ? (
          <p className="mt-1 text-slate-500">{ended ? "None ran." : "Run when the disks are written."}</p>
        ) : (
          <ul className="mt-1 space-y-0.5" data-testid="restore-checks">
            {item.checks.map((c, i) => (
              <li key={i} className={c.ok ? "text-emerald-800" : "text-red-800"} data-ok={c.ok ? "yes" : "no"}>
                {c.ok ? "✓" : "✗"} {c.text}
              </li>
            ))}
          </ul>
        )}
      </div>
      {item.consequences.length > 0 && (
        <div className="rounded-md bg-amber-50 px-3 py-2 text-amber-900 md:col-span-2" data-testid="restore-consequences">
          <div className="font-medium">Said before the restore started:</div>
          <ul className="mt-0.5 list-disc pl-5">{item.consequences.map((c, i) => <li key={i}>{c}</li>)}</ul>
        </div>
      )}
    </div>
  );
}

function writtenHint(mode: RestoreItemDto["mode"]): string {
  if (mode === "quick-rollback") return "only the blocks that differ from the restore point";
  if (mode === "overwrite") return "over the VM's own disks: every block the point or the disk holds";
  return "to the new disks; zero blocks are skipped on a new disk";
}

function capitalize(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/** An engine message as a sentence: capital first letter, one closing full stop. */
function sentence(s: string): string {
  const t = capitalize(s.trim());
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
