import { Badge } from "@/components/ui/badge";
import { formatDateTime } from "@/lib/format";

/** "14:03:07 UTC" for today's times (what an administrator compares with the clock), the full date otherwise. */
export function formatTimeShort(iso: string, now: number | null): string {
  const d = new Date(iso);
  if (now !== null && Math.abs(now - d.getTime()) < 20 * 3600_000) return `${d.toISOString().slice(11, 19)} UTC`;
  return formatDateTime(iso);
}

/**
 * A worker as people tell workers apart: "proxy-host-02 · process 4242", with "(console)" for the
 * console's own worker. The host alone is not enough: one host may run several worker processes.
 */
export function workerName(w: { host: string; pid?: number | null; role?: string }): string {
  return `${w.host}${w.pid ? ` · process ${w.pid}` : ""}${w.role === "console" ? " (console)" : ""}`;
}

/**
 * Where work runs: the worker's host, green while it heartbeats, red "no heartbeat since …" once it
 * stopped answering (its work is taken up by another worker).
 */
export function WorkerChip({ worker, now, suffix }: { worker: { id: string; host: string; pid?: number; role: string; alive: boolean; heartbeatAt: string; stoppedAt: string | null }; now: number | null; suffix?: string }) {
  const label = workerName(worker);
  return (
    <span className="inline-flex flex-wrap items-center gap-1" data-testid="worker-chip" data-worker={worker.id} data-alive={worker.alive ? "yes" : "no"} title={`Worker ${worker.id}`}>
      {worker.alive ? (
        <Badge tone="good"><span className="h-1.5 w-1.5 rounded-full bg-emerald-500" aria-hidden />{label}</Badge>
      ) : (
        <Badge tone="bad"><span className="h-1.5 w-1.5 rounded-full bg-red-500" aria-hidden />{label}</Badge>
      )}
      {suffix && <span className="text-xs text-slate-500">{suffix}</span>}
      {!worker.alive && (
        <span className="text-xs font-medium text-red-700" data-testid="worker-dead">
          {worker.stoppedAt ? `stopped at ${formatTimeShort(worker.stoppedAt, now)}` : `no heartbeat since ${formatTimeShort(worker.heartbeatAt, now)}`}
        </span>
      )}
    </span>
  );
}
