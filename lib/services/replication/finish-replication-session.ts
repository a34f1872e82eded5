import "server-only";
import { db } from "@/lib/db/client";
import { processWorkerId } from "@/lib/jobs/process-id";
import { SessionEventWriter } from "@/lib/jobs/session-events";
import { sessionTotals, VM_DONE, type VmRunProgress, type VmRunStatus } from "@/lib/jobs/session-progress";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";

// The end of a replication session once its last VM is done: a conditional update lets exactly
// one worker close it (as finish-restore-session.ts does for restores).

export async function finishReplicationSession(sessionId: string): Promise<void> {
  const unfinished = await db.sessionVm.count({ where: { sessionId, state: { notIn: [...VM_DONE] } } });
  if (unfinished > 0) return;
  const claim = await db.jobSession.updateMany({ where: { id: sessionId, state: { in: ["queued", "running"] }, endedAt: null }, data: { endedAt: new Date() } });
  if (claim.count !== 1) return;
  const session = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId }, include: { vms: { orderBy: { position: "asc" }, select: { progress: true } } } });
  const progress = session.vms.map((v) => JSON.parse(v.progress) as VmRunProgress);
  const states = progress.map((p) => p.status as VmRunStatus);
  const failed = states.filter((s) => s === "failed").length;
  const took = `${((Date.now() - (session.startedAt ?? session.queuedAt).getTime()) / 1000).toFixed(1)} s`;
  let state: "success" | "warning" | "failed" | "stopped";
  let error: string | null = null;
  if (session.stopRequested) state = "stopped";
  else if (failed) [state, error] = ["failed", `${failed} of ${states.length} VM(s) were not replicated; their replicas keep their last point`];
  // A skipped VM (its replica failed over, FOV-1) was not replicated: the session says so with a warning.
  else state = states.includes("warning") || states.includes("skipped") ? "warning" : "success";
  const log = new SessionEventWriter(sessionId, processWorkerId());
  log.say(
    state === "success" ? `Finished: Success in ${took}.` : state === "stopped" ? `Stopped by a user after ${took}.` : `Finished: ${state === "warning" ? "Warning" : "Failed"} in ${took}${error ? ` — ${error}` : ""}.`,
    state === "failed" ? "error" : state === "success" ? "info" : "warning",
  );
  await log.flush();
  const totals = sessionTotals({ vms: progress });
  await db.jobSession.update({ where: { id: sessionId }, data: { state, error, endedAt: new Date(), bytesRead: BigInt(Math.round(totals.bytesRead)), bytesStored: BigInt(Math.round(totals.bytesTransferred)) } });
  await recordAuditEvent({ actor: null, action: "replication.session", objectType: "session", objectId: sessionId, outcome: state === "failed" ? "failure" : "success", details: { state, error } });
}
