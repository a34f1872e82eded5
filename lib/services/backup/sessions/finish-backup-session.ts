import "server-only";
import os from "node:os";
import { db } from "@/lib/db/client";
import { processWorkerId } from "@/lib/jobs/process-id";
import { SessionEventWriter } from "@/lib/jobs/session-events";
import { sessionTotals, VM_DONE, type VmRunProgress } from "@/lib/jobs/session-progress";
import { nextRunAfter } from "@/lib/backup/schedule";
import { scheduleTimeZone } from "@/lib/services/backup/schedule-time-zone";
import { parseSchedule } from "@/lib/services/backup/job-dto";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";
import { describeMaintenance } from "@/lib/services/backup/repository-maintenance";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";

// The end of a backup session, once its last VM is done — whichever worker finished that VM gets
// here, and a conditional update lets exactly one of them close the session. Retention runs here,
// once per chain, after every VM wrote its point (the VMs of one session run in parallel, and
// retention needs the repository to itself). A session whose retention did not run ends Warning.

export async function finishBackupSession(sessionId: string, o: { forceFailed?: string } = {}): Promise<void> {
  // Every VM's end asks; only the last one finds nothing unfinished. A count, so the others do not
  // read every VM's progress (which made a session's VM ends quadratic in its VMs).
  if (!o.forceFailed && (await db.sessionVm.count({ where: { sessionId, state: { notIn: [...VM_DONE] } } })) > 0) return;
  const claim = await db.jobSession.updateMany({ where: { id: sessionId, state: { in: ["queued", "running"] }, endedAt: null }, data: { endedAt: new Date() } });
  if (claim.count !== 1) return;
  const session = await db.jobSession.findUniqueOrThrow({ where: { id: sessionId }, include: { job: { include: { repository: true } } } });
  const job = session.job!;
  const log = new SessionEventWriter(sessionId, processWorkerId());
  const vms = await db.sessionVm.findMany({ where: { sessionId }, orderBy: { position: "asc" }, select: { progress: true } });
  const progress = vms.map((v) => JSON.parse(v.progress) as VmRunProgress);
  let warning = false;

  const chains = await db.restorePoint.findMany({ where: { sessionId }, select: { chainId: true }, distinct: ["chainId"] });
  if (chains.length) {
    try {
      const repository = await openCataloguedRepository(job.repository, `strongroom/${os.hostname()}/${process.pid}/retention-${sessionId}`);
      // One run for every chain of the session: one scan of the repository's points and one
      // garbage collection, however many VMs the session had (a run per chain made the end of a
      // session quadratic in its VMs).
      const report = await repository.applyRetention({ keep: job.retentionPoints, chainIds: chains.map((c) => c.chainId) });
      for (const line of describeMaintenance(report)) log.say(line);
      if (report.deletedPoints.length) {
        await db.restorePoint.updateMany({ where: { id: { in: report.deletedPoints } }, data: { status: "removed" } });
        log.say(`Retention (${job.retentionPoints} points): removed ${report.deletedPoints.length} older restore point(s) no kept point depends on.`);
      }
      for (const h of report.heldPoints) log.say(`Retention: point ${h.pointId} is immutable until ${h.immutableUntil.toISOString()}; it is kept until then.`);
    } catch (e) {
      warning = true;
      log.say(`Retention did not run: ${e instanceof Error ? e.message : String(e)}. The new restore points are safe; retention runs again at the next session.`, "warning");
    }
  }

  const states = progress.map((p) => p.status);
  const failed = states.filter((s) => s === "failed").length;
  const started = session.startedAt ?? session.queuedAt;
  const took = `${((Date.now() - started.getTime()) / 1000).toFixed(1)} s`;
  let state: "success" | "warning" | "failed" | "stopped";
  let error: string | null = null;
  if (o.forceFailed) [state, error] = ["failed", o.forceFailed];
  else if (session.stopRequested) state = "stopped";
  else if (failed) [state, error] = ["failed", `${failed} of ${states.length} VM(s) failed`];
  else if (warning) [state, error] = ["warning", "retention did not run; older restore points beyond the job's retention are still kept"];
  else state = states.includes("warning") ? "warning" : "success";
  log.say(
    state === "success" ? `Finished: Success in ${took}.` : state === "stopped" ? `Stopped by a user after ${took}.` : `Finished: ${state === "warning" ? "Warning" : "Failed"} in ${took}${error ? ` — ${error}` : ""}.`,
    state === "failed" ? "error" : state === "success" ? "info" : "warning",
  );
  await log.flush();
  const totals = sessionTotals({ vms: progress });
  await db.jobSession.update({ where: { id: sessionId }, data: { state, error, endedAt: new Date(), bytesRead: BigInt(Math.round(totals.bytesRead)), bytesStored: BigInt(Math.round(totals.bytesTransferred)) } });
  await db.backupJob.update({ where: { id: job.id }, data: { nextRunAt: nextRunAfter(parseSchedule(job.schedule), new Date(), scheduleTimeZone()) } }).catch(() => undefined);
  await recordAuditEvent({ actor: null, action: "job.session", objectType: "backup-job", objectId: job.id, outcome: state === "failed" ? "failure" : "success", details: { session: sessionId, state, error } });
}
