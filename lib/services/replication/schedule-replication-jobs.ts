import "server-only";
import { nextRunAfter } from "@/lib/backup/schedule";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseSchedule } from "@/lib/services/backup/job-dto";
import { scheduleTimeZone } from "@/lib/services/backup/schedule-time-zone";
import { platform } from "@/lib/services/inventory/platform";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { VM_DONE } from "@/lib/jobs/session-progress";
import { finishReplicationSession } from "./finish-replication-session";
import { activeReplicationSession, queueReplicationSession } from "./run-replication-job";

// The "replication-schedule" kind, every minute (its cron fires once however many processes run,
// as the backup schedule's does): enabled replication jobs whose nextRunAt is due get a session.
// Each job is claimed by moving its nextRunAt to the slot after now (a conditional update on the
// value it read), so one slot gives at most one session even when two schedulers race. A job
// whose session from an earlier slot is still queued or running gets no second one: that slot is
// skipped (said in the audit log), and the next slot is tried again. Disabled jobs and manual-only
// jobs (nextRunAt null) never fire. It also closes replication sessions whose every VM ended but
// whose closing was cut off (the worker that finished the last VM died), as the backup schedule
// does for backups: else such a session would hold its job's one session slot for ever.

export async function scheduleDueReplicationJobs(now: Date = new Date()): Promise<{ started: string[]; skipped: string[] }> {
  await closeCutOffSessions();
  const due = await db.replicationJob.findMany({ where: { enabled: true, nextRunAt: { lte: now } }, select: { id: true } });
  const started: string[] = [];
  const skipped: string[] = [];
  if (due.length === 0) return { started, skipped };
  const inventory = await platform().inventory();
  for (const { id } of due) {
    const outcome = await serializableTransaction(async (tx): Promise<string | null> => {
      const job = await tx.replicationJob.findUnique({ where: { id } });
      if (!job || !job.enabled || !job.nextRunAt || job.nextRunAt > now) return null;
      const next = nextRunAfter(parseSchedule(job.schedule), now, scheduleTimeZone());
      const won = await tx.replicationJob.updateMany({ where: { id, enabled: true, nextRunAt: job.nextRunAt }, data: { nextRunAt: next } });
      if (won.count !== 1) return null;
      const active = await activeReplicationSession(tx, id);
      if (active) {
        await recordAuditEvent(
          { actor: null, action: "replication-job.schedule-skip", objectType: "replication-job", objectId: id, outcome: "success", details: { name: job.name, slot: job.nextRunAt.toISOString(), running: active.id, next: next?.toISOString() ?? null } },
          tx,
        );
        return "skipped";
      }
      const sessionId = await queueReplicationSession(tx, job, inventory, { trigger: "schedule", requestedById: null });
      await recordAuditEvent({ actor: null, action: "replication-job.run", objectType: "replication-job", objectId: id, outcome: "success", details: { name: job.name, session: sessionId, trigger: "schedule", next: next?.toISOString() ?? null } }, tx);
      return sessionId;
    });
    if (outcome === "skipped") skipped.push(id);
    else if (outcome) started.push(outcome);
  }
  return { started, skipped };
}

async function closeCutOffSessions(): Promise<void> {
  const stuck = await db.jobSession.findMany({ where: { kind: "replication", state: "running", vms: { some: {} }, NOT: { vms: { some: { state: { notIn: [...VM_DONE] } } } } }, select: { id: true } });
  for (const s of stuck) {
    // A closing that claimed the session (endedAt set) and then died gets its claim back after two minutes.
    await db.jobSession.updateMany({ where: { id: s.id, state: "running", endedAt: { lt: new Date(Date.now() - 120_000) } }, data: { endedAt: null } });
    await finishReplicationSession(s.id);
  }
}
