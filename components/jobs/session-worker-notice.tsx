import Link from "next/link";
import type { VmTakeoverDto } from "@/lib/services/backup/get-job-session";
import type { WorkerRefDto } from "@/lib/services/jobs/job-dto";
import { formatTimeShort, workerName } from "./worker-chip";

// The session page's at-a-glance word on workers that died (issue 9): which worker stopped
// answering, which of the session's VMs it held, and — once another worker took them over —
// where they went. The details stay where they were (each VM's card, the log); this says it once,
// at the top, in sentences.

interface VmOnWorker {
  name: string;
  status: string;
  worker?: WorkerRefDto | null;
}

/** "a", "a and b", "a, b and c". */
function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

const BACKED_UP = new Set(["success", "warning"]);

function vmCount(n: number): string {
  return `${n} VM${n === 1 ? "" : "s"}`;
}

function groupBy<T>(items: T[], key: (t: T) => string): Array<[string, T[]]> {
  const out = new Map<string, T[]>();
  for (const t of items) out.set(key(t), [...(out.get(key(t)) ?? []), t]);
  return [...out];
}

export function SessionWorkerNotice({ vms, takeovers, now }: { vms: VmOnWorker[]; takeovers: VmTakeoverDto[]; now: number | null }) {
  // VMs still held by a worker that no longer answers: they move once the queue takes them back.
  const stranded = groupBy(
    vms.filter((v) => v.status === "running" && v.worker && !v.worker.alive),
    (v) => v.worker!.id,
  );
  // VMs that moved, by the worker they left (a VM that moved twice is told under each).
  const moved = groupBy(takeovers, (t) => t.fromId);
  if (stranded.length === 0 && moved.length === 0) return null;
  const statusOf = new Map(vms.map((v) => [v.name, v.status]));
  return (
    <div className="space-y-3">
      {stranded.map(([id, held]) => {
        const w = held[0].worker!;
        return (
          <div key={`stranded-${id}`} className="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-900" data-testid="session-worker-dead" data-worker={id}>
            <p className="font-semibold">Worker {workerName(w)} stopped answering</p>
            <p className="mt-0.5">
              No heartbeat since {formatTimeShort(w.heartbeatAt, now)}. It holds {vmCount(held.length)} of this session ({list(held.map((v) => v.name))}):{" "}
              {held.length === 1 ? "it goes" : "they go"} back to the queue once the worker&apos;s lease runs out and {held.length === 1 ? "starts" : "start"} again on the
              next live worker with room. What the stopped worker had read never becomes a restore point. See{" "}
              <Link href="/workers" className="font-medium underline">Workers</Link>.
            </p>
          </div>
        );
      })}
      {moved.map(([fromId, moves]) => {
        const from = moves[0].from ? workerName(moves[0].from) : fromId;
        const targets = groupBy(moves, (m) => m.toId);
        const to = (m: VmTakeoverDto) => (m.to ? workerName(m.to) : m.toId);
        const vmNames = [...new Set(moves.map((m) => m.vmName))];
        return (
          <div key={`moved-${fromId}`} className="rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-950" data-testid="session-taken-over-notice" data-from={fromId}>
            <p className="font-semibold">
              Worker {from} stopped answering: {targets.length === 1 ? `its ${vmCount(vmNames.length)} moved to ${to(targets[0][1][0])}` : `its ${vmCount(vmNames.length)} moved to other workers`}
            </p>
            <p className="mt-0.5">
              {targets
                .map(([, ms]) => `${list([...new Set(ms.map((m) => m.vmName))])} started again on ${to(ms[0])} at ${formatTimeShort(ms[0].at, now)}`)
                .join("; ")}
              . What the stopped worker had read of {vmNames.length === 1 ? "it" : "them"} never became a restore point
              {vmNames.every((n) => BACKED_UP.has(statusOf.get(n) ?? "")) ? `; ${vmNames.length === 1 ? "it was" : vmNames.length === 2 ? "both were" : `all ${vmNames.length} were`} backed up after the move.` : "."}
            </p>
          </div>
        );
      })}
    </div>
  );
}
