// Words for the Sessions view (shared by server and client components).
import { formatDuration } from "@/components/backup/format";
import { SESSION_KIND_LABELS } from "@/lib/services/jobs/list-sessions.schema";
import type { SessionVmCountsDto } from "@/lib/services/jobs/list-sessions";

export function kindName(kind: string): string {
  return SESSION_KIND_LABELS[kind] ?? kind.charAt(0).toUpperCase() + kind.slice(1).replace(/-/g, " ");
}

/** "3 of 5 done · 1 running · 1 failed" — what an administrator reads first about a session's VMs. */
export function describeVms(v: SessionVmCountsDto): string {
  if (v.total === 0) return "";
  const done = v.success + v.warning + v.failed + v.skipped;
  const parts = [`${done} of ${v.total} VM${v.total === 1 ? "" : "s"} done`];
  if (v.running) parts.push(`${v.running} running`);
  if (v.pending && done > 0) parts.push(`${v.pending} waiting`);
  if (v.warning) parts.push(`${v.warning} with warnings`);
  if (v.failed) parts.push(`${v.failed} failed`);
  if (v.skipped) parts.push(`${v.skipped} not run`);
  return parts.join(" · ");
}

/** How long it waited for a worker, or has been waiting so far. */
export function describeWait(queuedAt: string, queueLatencyMs: number | null, now: number | null): string {
  if (queueLatencyMs !== null) return `waited ${formatDuration(queueLatencyMs)} for a worker`;
  return now === null ? "waiting for a worker" : `waiting for a worker for ${formatDuration(Math.max(0, now - Date.parse(queuedAt)))}`;
}
