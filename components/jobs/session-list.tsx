"use client";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useState } from "react";
import { SessionStateBadge } from "@/components/backup/badges";
import { formatDuration, TRIGGER_LABELS } from "@/components/backup/format";
import { SegmentedBar } from "@/components/backup/progress-bar";
import { useNow } from "@/components/backup/use-now";
import { Badge } from "@/components/ui/badge";
import { ErrorNotice } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { formatBytes } from "@/lib/format";
import type { SessionPageDto, SessionRowDto } from "@/lib/services/jobs/list-sessions";
import { useSessions } from "./queries";
import { SessionFilters } from "./session-filters";
import { describeVms, describeWait } from "./session-format";
import { hasSessionFilters, NO_SESSION_FILTERS, sessionFilterErrors, sessionSearch, type SessionFilterValues, type SessionViewState } from "./session-search";
import { formatTimeShort, WorkerChip, workerName } from "./worker-chip";

/** Sessions of every kind: filter bar in the address, the table live while anything is queued or running. */
export function SessionList({ initialView, initialPage, canRunJobs }: { initialView: SessionViewState; initialPage: SessionPageDto | null; canRunJobs: boolean }) {
  const [view, setView] = useState(initialView);
  const errors = useMemo(() => sessionFilterErrors(view), [view]);
  const valid = Object.keys(errors).length === 0;
  const search = sessionSearch(view);
  const initialSearch = useMemo(() => sessionSearch(initialView), [initialView]);

  // The address always holds the current view, so a filtered view can be shared or bookmarked.
  useEffect(() => {
    window.history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
  }, [search]);

  const q = useSessions(search, search === initialSearch && initialPage ? initialPage : undefined, valid);
  const data = valid ? q.data : undefined;
  const now = useNow(true);
  const setFilter = useCallback((patch: Partial<SessionFilterValues>) => setView((v) => ({ ...v, ...patch, before: "" })), []);
  const clear = useCallback(() => setView({ ...NO_SESSION_FILTERS, before: "" }), []);
  const filtered = hasSessionFilters(view);
  const options = data?.options ?? initialPage?.options ?? { kinds: [], workers: [] };

  return (
    <div className="space-y-4">
      <SessionFilters values={view} errors={errors} options={options} onChange={setFilter} onClear={clear} filtered={filtered} />
      {data && <ActivityLine data={data} />}
      {q.isError && valid && (
        <ErrorNotice title={data ? "Live updates unavailable" : "The sessions could not be loaded"}>
          {q.error.message} {data ? "The list shows the last state it received; retrying." : ""}{" "}
          <button type="button" className="font-medium underline" onClick={() => q.refetch()}>Try again</button>
        </ErrorNotice>
      )}
      {!valid ? (
        <div className="rounded-lg border border-dashed border-amber-300 bg-amber-50 px-6 py-8 text-center text-sm text-amber-900" data-testid="invalid-filters">
          <p className="font-medium">Fix the filters above to see sessions</p>
          <p className="mt-1">{Object.values(errors).join(" · ")}</p>
        </div>
      ) : !data ? (
        q.isError ? null : <div className="animate-pulse space-y-3" aria-busy="true" aria-label="Loading sessions">{[0, 1, 2, 3].map((i) => <div key={i} className="h-12 rounded bg-slate-200/70" />)}</div>
      ) : data.rows.length === 0 ? (
        <EmptySessions filtered={filtered} paged={!!view.before} canRunJobs={canRunJobs} onClear={clear} onNewest={() => setView((v) => ({ ...v, before: "" }))} />
      ) : (
        <div className={q.isFetching && q.isPlaceholderData ? "opacity-60 transition-opacity" : ""} aria-busy={q.isFetching && q.isPlaceholderData}>
          <Table testId="session-table">
            <thead>
              <tr>
                <Th>Session</Th>
                <Th>State</Th>
                <Th>VMs</Th>
                <Th>Where (worker · proxy)</Th>
                <Th>When</Th>
                <Th className="text-right">Data</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {data.rows.map((r) => <SessionRow key={r.id} row={r} now={now} />)}
            </tbody>
          </Table>
          <div className="mt-3 flex items-center justify-end gap-2 text-sm">
            <button type="button" disabled={!view.before} onClick={() => setView((v) => ({ ...v, before: "" }))} className="rounded-md border border-slate-300 px-3 py-1 disabled:opacity-40" data-testid="newest-page">Newest</button>
            <button type="button" disabled={!data.olderCursor} onClick={() => setView((v) => ({ ...v, before: data.olderCursor ?? "" }))} className="rounded-md border border-slate-300 px-3 py-1 disabled:opacity-40" data-testid="older-page">Older</button>
          </div>
        </div>
      )}
    </div>
  );
}

function ActivityLine({ data }: { data: SessionPageDto }) {
  return (
    <p className="text-sm text-slate-600" data-testid="activity-line">
      {data.activeCount > 0 ? (
        <><span className="mr-1.5 inline-block h-2 w-2 animate-pulse rounded-full bg-brand-600" aria-hidden />{data.activeCount} session{data.activeCount === 1 ? "" : "s"} queued or running now · updates every 2 seconds</>
      ) : (
        "Nothing is queued or running right now."
      )}
    </p>
  );
}

function EmptySessions({ filtered, paged, canRunJobs, onClear, onNewest }: { filtered: boolean; paged: boolean; canRunJobs: boolean; onClear: () => void; onNewest: () => void }) {
  if (paged) {
    return (
      <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-10 text-center text-sm" data-testid="empty-state">
        <p className="font-medium text-slate-800">No older sessions</p>
        <button type="button" onClick={onNewest} className="mt-3 font-medium text-brand-600 hover:underline">Back to the newest</button>
      </div>
    );
  }
  if (filtered) {
    return (
      <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-10 text-center text-sm" data-testid="empty-state" data-empty="filtered">
        <p className="font-medium text-slate-800">No session matches these filters</p>
        <p className="mt-1 text-slate-600">Widen the time range, pick another kind or state, or clear the filters.</p>
        <button type="button" onClick={onClear} className="mt-3 font-medium text-brand-600 hover:underline">Clear filters</button>
      </div>
    );
  }
  return (
    <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-12 text-center" data-testid="empty-state" data-empty="none">
      <p className="text-base font-medium text-slate-800">No sessions yet — run a backup job</p>
      <p className="mx-auto mt-1 max-w-lg text-sm text-slate-600">Every backup run, repository verify and, later, every restore and replication run is listed here with where it runs and how it ended.</p>
      <Link href="/jobs" className="mt-4 inline-block text-sm font-medium text-brand-600 hover:underline">{canRunJobs ? "Go to the backup jobs" : "See the backup jobs"}</Link>
    </div>
  );
}

function SessionRow({ row: r, now }: { row: SessionRowDto; now: number | null }) {
  const active = r.state === "queued" || r.state === "running";
  // The session page follows backup sessions; other kinds get theirs with their features.
  const href = r.kind === "backup" ? `/sessions/${r.id}` : null;
  return (
    <tr data-testid="session-row" data-session={r.id} data-kind={r.kind} data-state={r.state} className={active ? "bg-brand-50/30" : ""}>
      <Td>
        {href ? <Link href={href} className="font-medium text-brand-600 hover:underline" data-testid="session-title">{r.title}</Link> : <span className="font-medium" data-testid="session-title">{r.title}</span>}
        <div className="mt-0.5 flex flex-wrap items-center gap-1.5 text-xs text-slate-500">
          <Badge>{r.kindLabel}</Badge>
          {r.subject && (r.subject.href ? (
            <Link href={r.subject.href} className="hover:underline" data-testid="session-subject">{r.subject.label.endsWith(r.title) ? "open the job" : r.subject.label}</Link>
          ) : (
            <span data-testid="session-subject">{r.subject.label}</span>
          ))}
        </div>
      </Td>
      <Td>
        <SessionStateBadge state={r.state} />
        <div className="mt-0.5 text-xs text-slate-500">{TRIGGER_LABELS[r.trigger] ?? r.trigger}{r.stopRequested && active ? " · stop requested" : ""}</div>
        {r.error && <div className="mt-0.5 max-w-[16rem] truncate text-xs text-red-700" title={r.error} data-testid="session-row-error">{r.error}</div>}
      </Td>
      <Td>
        {r.vms.total > 0 ? (
          <div className="w-44">
            <SegmentedBar
              label="VMs by state"
              segments={[
                { value: r.vms.success, tone: "good", title: "Succeeded" },
                { value: r.vms.warning, tone: "warn", title: "With warnings" },
                { value: r.vms.failed, tone: "bad", title: "Failed" },
                { value: r.vms.running, tone: "brand", title: "Running" },
                { value: r.vms.pending + r.vms.skipped, tone: "neutral", title: "Waiting or not run" },
              ]}
            />
            <div className="mt-1 text-xs text-slate-600" data-testid="session-vms">{describeVms(r.vms)}</div>
          </div>
        ) : (
          <span className="text-xs text-slate-400">{r.state === "queued" ? "listed when it starts" : "—"}</span>
        )}
      </Td>
      <Td><Where row={r} now={now} /></Td>
      <Td className="whitespace-nowrap">
        <div className="text-sm tabular-nums" title={`Queued ${r.queuedAt}`}>
          {r.state === "queued" ? "Queued" : "Started"} {formatTimeShort(r.startedAt ?? r.queuedAt, now)}
        </div>
        <div className="text-xs text-slate-600" data-testid="session-timing">
          {r.state === "queued"
            ? describeWait(r.queuedAt, null, now)
            : r.endedAt
              ? `ended after ${formatDuration(r.durationMs ?? 0)}`
              : r.startedAt && now !== null
                ? `running for ${formatDuration(Math.max(0, now - Date.parse(r.startedAt)))}`
                : "running"}
        </div>
        {r.state !== "queued" && r.queueLatencyMs !== null && <div className="text-xs text-slate-400">{describeWait(r.queuedAt, r.queueLatencyMs, now)}</div>}
      </Td>
      <Td className="whitespace-nowrap text-right tabular-nums">
        {r.bytesRead > 0 || r.bytesStored > 0 ? (
          <>
            <div>{formatBytes(r.bytesRead)} read</div>
            <div className="text-xs text-slate-500">{formatBytes(r.bytesStored)} stored</div>
          </>
        ) : (
          <span className="text-slate-400">—</span>
        )}
      </Td>
    </tr>
  );
}

function Where({ row: r, now }: { row: SessionRowDto; now: number | null }) {
  const { workers, proxies, vmsTakenOver, ranOn } = r.where;
  if (ranOn.length > 0) {
    return (
      <div className="space-y-1 text-xs text-slate-600" data-testid="session-where" data-ended="yes">
        <div data-testid="session-ran-on">
          ran on {ranOn.map((w, i) => <span key={w.id} title={`Worker ${w.id}`}>{i > 0 && ", "}<span className="font-medium text-slate-800">{workerName(w)}</span>{ranOn.length > 1 && w.vms ? ` (${w.vms} VM${w.vms === 1 ? "" : "s"})` : ""}</span>)}
        </div>
        {vmsTakenOver > 0 && <div className="text-amber-800" data-testid="session-taken-over">{vmsTakenOver} VM{vmsTakenOver === 1 ? " was" : "s were"} taken over from a worker that stopped answering</div>}
      </div>
    );
  }
  if (workers.length === 0 && proxies.length === 0) {
    return <span className="text-xs text-slate-400">{r.state === "queued" ? "not claimed by a worker yet" : r.state === "running" ? "starting…" : "not recorded (run before workers were tracked)"}</span>;
  }
  return (
    <div className="space-y-1" data-testid="session-where">
      {workers.map((w) => <div key={w.id}><WorkerChip worker={w} now={now} suffix={w.runningVms ? `${w.runningVms} VM${w.runningVms === 1 ? "" : "s"}` : "preparing"} /></div>)}
      {proxies.length > 0 && (
        <div className="text-xs text-slate-600" data-testid="session-proxies">
          via {proxies.map((p, i) => <span key={p.externalId}>{i > 0 && ", "}<span className="font-medium">{p.name}</span> ({p.tasks} task{p.tasks === 1 ? "" : "s"})</span>)}
        </div>
      )}
      {vmsTakenOver > 0 && (
        <div className="text-xs text-amber-800" data-testid="session-taken-over">
          {vmsTakenOver} VM{vmsTakenOver === 1 ? " was" : "s were"} taken over from a worker that stopped answering
        </div>
      )}
    </div>
  );
}
