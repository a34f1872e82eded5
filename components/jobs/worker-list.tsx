"use client";
import Link from "next/link";
import { useNow } from "@/components/backup/use-now";
import { formatDuration } from "@/components/backup/format";
import { ProgressBar } from "@/components/backup/progress-bar";
import { Badge } from "@/components/ui/badge";
import { ErrorNotice } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import type { ProxyUseDto, WorkerDto, WorkersDto } from "@/lib/services/jobs/list-workers";
import { useWorkers } from "./queries";
import { formatTimeShort, workerName } from "./worker-chip";

/** The processes that run work and the proxies' task slots, live. */
export function WorkerList({ initial }: { initial: WorkersDto }) {
  const q = useWorkers(initial);
  const data = q.data ?? initial;
  const now = useNow(true);
  const dead = data.workers.filter((w) => w.status === "no-heartbeat");
  return (
    <div className="space-y-6">
      {q.isError && <ErrorNotice title="Live updates unavailable">{q.error.message} The page shows the last state it received; retrying.</ErrorNotice>}
      {dead.length > 0 && (
        <div className="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-900" data-testid="dead-workers">
          <p className="font-semibold">{dead.length === 1 ? `Worker ${workerName(dead[0])} stopped answering` : `${dead.length} workers stopped answering: ${dead.map((w) => workerName(w)).join(", ")}`}</p>
          {dead.length === 1 && (
            <p className="mt-0.5" data-testid="dead-worker-since">
              No heartbeat since {formatTimeShort(dead[0].heartbeatAt, now)}
              {dead[0].tasks.length > 0 ? `; it was running ${describeTasks(dead[0].tasks)} (in its row below), which move to live workers.` : "."}
            </p>
          )}
          <p className="mt-0.5">
            A worker without a heartbeat for {Math.round(data.deadAfterMs / 1000)} seconds loses its work: its VMs are taken up by a live worker, and VMs that had
            finished keep their restore points. Check the process or its host.
          </p>
        </div>
      )}
      <section>
        <h2 className="mb-2 text-sm font-semibold text-slate-800">Workers</h2>
        {data.workers.length === 0 ? (
          <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-10 text-center text-sm" data-testid="empty-state">
            <p className="font-medium text-slate-800">No worker has started yet</p>
            <p className="mx-auto mt-1 max-w-lg text-slate-600">
              The console runs its own worker once its job engine starts; on PostgreSQL, <code>npm run worker</code> starts more, one per proxy host.
            </p>
          </div>
        ) : (
          <Table testId="worker-table">
            <thead>
              <tr>
                <Th>Worker</Th>
                <Th>Status</Th>
                <Th>Running now</Th>
                <Th>Started</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {data.workers.map((w) => <WorkerRow key={w.id} w={w} now={now} />)}
            </tbody>
          </Table>
        )}
      </section>
      <section>
        <h2 className="mb-2 text-sm font-semibold text-slate-800">Proxy task slots</h2>
        <p className="mb-2 text-sm text-slate-600">Each disk being read holds one task slot of its proxy. A proxy never runs more tasks than its limit, however many workers share it.</p>
        {data.proxies.length === 0 ? (
          <p className="text-sm text-slate-500">No backup proxy in the inventory.</p>
        ) : (
          <Table testId="proxy-slot-table">
            <thead>
              <tr>
                <Th>Proxy</Th>
                <Th>Tasks in use</Th>
                <Th>Held by</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {data.proxies.map((p) => <ProxyRow key={p.id} p={p} />)}
            </tbody>
          </Table>
        )}
      </section>
    </div>
  );
}

/** "2 VMs", "1 task", "2 VMs and 1 other task". */
function describeTasks(tasks: WorkerDto["tasks"]): string {
  const vms = tasks.filter((t) => t.vmExternalId).length;
  const other = tasks.length - vms;
  const parts = [vms ? `${vms} VM${vms === 1 ? "" : "s"}` : "", other ? `${other} ${vms ? "other " : ""}task${other === 1 ? "" : "s"}` : ""];
  return parts.filter(Boolean).join(" and ");
}

function WorkerRow({ w, now }: { w: WorkerDto; now: number | null }) {
  const beatAgo = now !== null ? Math.max(0, now - Date.parse(w.heartbeatAt)) : null;
  return (
    <tr data-testid="worker-row" data-worker={w.id} data-status={w.status} className={w.status === "no-heartbeat" ? "bg-red-50/50" : w.status === "stopped" ? "bg-slate-50/60" : ""}>
      <Td>
        <div className="whitespace-nowrap font-medium">{w.host}</div>
        <div className="text-xs text-slate-500">{w.role === "console" ? "The console's own worker" : "Worker process"} · process {w.pid}</div>
        <div className="font-mono text-[11px] text-slate-400" title="Worker id">{w.id}</div>
      </Td>
      <Td>
        {w.status === "alive" ? (
          <>
            <Badge tone="good"><span className="h-1.5 w-1.5 rounded-full bg-emerald-500" aria-hidden />Alive</Badge>
            <div className="mt-0.5 text-xs text-slate-500" data-testid="worker-heartbeat">heartbeat {beatAgo === null ? "recently" : beatAgo < 1500 ? "just now" : `${Math.round(beatAgo / 1000)} s ago`}</div>
          </>
        ) : w.status === "stopped" ? (
          <>
            <Badge>Stopped</Badge>
            <div className="mt-0.5 text-xs text-slate-500">shut down at {formatTimeShort(w.stoppedAt!, now)}</div>
          </>
        ) : (
          <>
            <Badge tone="bad"><span className="h-1.5 w-1.5 rounded-full bg-red-500" aria-hidden />No heartbeat</Badge>
            <div className="mt-0.5 text-xs font-medium text-red-700" data-testid="worker-dead">
              no heartbeat since {formatTimeShort(w.heartbeatAt, now)}{beatAgo !== null ? ` (${formatDuration(beatAgo)} ago)` : ""}
            </div>
          </>
        )}
      </Td>
      <Td>
        {w.tasks.length === 0 ? (
          <span className="text-xs text-slate-400">{w.status === "alive" ? "idle" : w.status === "no-heartbeat" ? "nothing: its work moves to live workers" : "—"}</span>
        ) : (
          <ul className="space-y-0.5 text-sm" data-testid="worker-tasks">
            {w.status === "no-heartbeat" && <li className="text-xs font-medium text-red-700">Was running when it stopped answering (taken up by live workers):</li>}
            {w.status === "stopped" && <li className="text-xs text-slate-500">Was running when it shut down:</li>}
            {w.tasks.map((t, i) => (
              <li key={i}>
                {t.href ? <Link href={t.href} className="text-brand-600 hover:underline">{t.sessionTitle}</Link> : <span className="text-slate-500">a removed session</span>}
                {t.vmExternalId && <span className="text-slate-600"> · VM {t.vmName ?? t.vmExternalId}</span>}
                {t.since && <span className="text-xs text-slate-500"> · since {formatTimeShort(t.since, now)}</span>}
              </li>
            ))}
          </ul>
        )}
      </Td>
      <Td className="whitespace-nowrap text-sm tabular-nums">
        {formatTimeShort(w.startedAt, now)}
        {w.status === "alive" && now !== null && <div className="text-xs text-slate-500">up {formatDuration(Math.max(0, now - Date.parse(w.startedAt)))}</div>}
      </Td>
    </tr>
  );
}

function ProxyRow({ p }: { p: ProxyUseDto }) {
  const full = p.inUse >= p.maxTasks;
  const holders = [...new Set(p.tasks.map((t) => t.workerHost ?? t.workerId))];
  return (
    <tr data-testid="proxy-slot-row" data-proxy={p.externalId}>
      <Td className="font-medium">{p.name}</Td>
      <Td>
        <div className="flex w-56 items-center gap-2">
          <ProgressBar value={p.maxTasks > 0 ? (p.inUse / p.maxTasks) * 100 : 0} tone={full ? "warn" : "brand"} size="sm" label={`${p.name} task slots in use`} />
          <span className="shrink-0 text-sm tabular-nums">{p.inUse} of {p.maxTasks}</span>
        </div>
        {full && <div className="mt-0.5 text-xs text-amber-800">at its limit: further disks wait for a free slot</div>}
      </Td>
      <Td className="text-xs text-slate-600">{holders.length ? holders.join(", ") : <span className="text-slate-400">free</span>}</Td>
    </tr>
  );
}
