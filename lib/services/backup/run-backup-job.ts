import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { enqueue } from "@/lib/jobs";
import { jobIdSchema, sessionIdSchema, setJobEnabledSchema } from "@/lib/schemas/backup";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { nextRunAfter } from "@/lib/backup/schedule";
import { scheduleTimeZone } from "@/lib/services/backup/schedule-time-zone";
import { parseSchedule } from "./job-dto";

/** "Run now": queues a session for the runner; a job already queued or running is not queued twice. */
export async function runBackupJobNow(actor: Actor, raw: { jobId: string }): Promise<{ sessionId: string }> {
  authorize(actor, "job:manage");
  const { jobId } = parseInput(jobIdSchema, raw);
  const sessionId = await serializableTransaction(async (tx) => {
    const job = await tx.backupJob.findUnique({ where: { id: jobId }, select: { id: true, name: true, pendingApprovalId: true, encryptionMode: true, passwordKeyHeader: true } });
    if (!job) throw new AppError("NOT_FOUND", "This job does not exist (it may have been removed).");
    if (job.pendingApprovalId && job.encryptionMode !== "kms" && !job.passwordKeyHeader) {
      throw new AppError("CONFLICT", `Job ${job.name} cannot run yet: its encryption waits for a Security Officer's approval (four-eyes).`);
    }
    const active = await tx.jobSession.findFirst({ where: { jobId, state: { in: ["queued", "running"] } }, select: { id: true, state: true } });
    if (active) throw new AppError("CONFLICT", `Job ${job.name} is already ${active.state}. Open its session to follow it.`);
    const s = await tx.jobSession.create({ data: { kind: "backup", subject: `backup-job:${jobId}`, title: job.name, jobId, state: "queued", trigger: "manual", requestedById: actor.id } });
    await enqueue(tx, { kind: "backup-session", payload: { sessionId: s.id }, singletonKey: `backup-session:${s.id}` });
    await recordAuditEvent({ actor, action: "job.run", objectType: "backup-job", objectId: jobId, outcome: "success", details: { name: job.name, session: s.id } }, tx);
    return s.id;
  });
  return { sessionId };
}

/**
 * Stops a session: a queued one at once; a running one within seconds — running VMs are cut off and
 * make no point, VMs not started are skipped. A replication session stops the same way: each VM's
 * replica keeps its last complete point (its half-written blocks are reverted at the next run).
 */
export async function stopJobSession(actor: Actor, raw: { sessionId: string }): Promise<{ state: string }> {
  authorize(actor, "job:manage");
  return stopSession(actor, raw, ["backup", "verify", "replication"]);
}

/** Stops a restore session (whoever may restore may stop one): the VM being written is cut off and its new copy deleted. */
export async function stopRestoreSession(actor: Actor, raw: { sessionId: string }): Promise<{ state: string }> {
  authorize(actor, "restore:run");
  return stopSession(actor, raw, ["restore"]);
}

async function stopSession(actor: Actor, raw: { sessionId: string }, kinds: string[]): Promise<{ state: string }> {
  const { sessionId } = parseInput(sessionIdSchema, raw);
  return serializableTransaction(async (tx) => {
    const s = await tx.jobSession.findUnique({ where: { id: sessionId }, select: { id: true, state: true, jobId: true, replicationJobId: true, kind: true } });
    if (!s) throw new AppError("NOT_FOUND", "This session does not exist.");
    if (!kinds.includes(s.kind)) throw new AppError("FORBIDDEN", s.kind === "restore" ? "A restore session is stopped from its own page by someone who may restore." : "Only a Backup Administrator stops backup sessions.");
    if (s.state !== "queued" && s.state !== "running") throw new AppError("CONFLICT", `The session has already ended (${s.state}).`);
    const state = s.state === "queued" ? "stopped" : "running";
    await tx.jobSession.update({ where: { id: s.id }, data: s.state === "queued" ? { state: "stopped", endedAt: new Date(), stopRequested: true } : { stopRequested: true } });
    const [action, objectType, objectId] =
      s.kind === "restore" ? ["restore.stop", "session", s.id] : s.kind === "replication" ? ["replication-job.stop", "replication-job", s.replicationJobId ?? s.id] : ["job.stop", "backup-job", s.jobId ?? s.id];
    await recordAuditEvent({ actor, action, objectType, objectId, outcome: "success", details: { session: s.id, was: s.state } }, tx);
    return { state };
  });
}

/** Disabled jobs keep their points and can still run now; the scheduler skips them. */
export async function setBackupJobEnabled(actor: Actor, raw: { jobId: string; enabled: boolean | string }): Promise<void> {
  authorize(actor, "job:manage");
  const { jobId, enabled } = parseInput(setJobEnabledSchema, raw);
  await serializableTransaction(async (tx) => {
    const job = await tx.backupJob.findUnique({ where: { id: jobId }, select: { id: true, name: true, schedule: true } });
    if (!job) throw new AppError("NOT_FOUND", "This job does not exist (it may have been removed).");
    await tx.backupJob.update({ where: { id: jobId }, data: { enabled, nextRunAt: enabled ? nextRunAfter(parseSchedule(job.schedule), new Date(), scheduleTimeZone()) : null } });
    await recordAuditEvent({ actor, action: enabled ? "job.enable" : "job.disable", objectType: "backup-job", objectId: jobId, outcome: "success", details: { name: job.name } }, tx);
  });
}
