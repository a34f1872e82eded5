import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { nextRunAfter } from "@/lib/backup/schedule";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { parseSchedule } from "@/lib/services/backup/job-dto";
import { scheduleTimeZone } from "@/lib/services/backup/schedule-time-zone";

// Enables or disables a replication job (job:manage). A disabled job keeps its replicas and can
// still run now; the scheduler skips it (nextRunAt empty). Enabling computes the next slot of its
// schedule from now, so slots missed while it was disabled do not all fire at once. Audited.

export const setReplicationJobEnabledSchema = z.object({
  jobId: z.string().trim().min(1).max(64),
  enabled: z.union([z.boolean(), z.enum(["true", "false", "on"]).transform((v) => v !== "false")]),
});

export async function setReplicationJobEnabled(actor: Actor, raw: z.input<typeof setReplicationJobEnabledSchema>): Promise<{ enabled: boolean; nextRunAt: Date | null }> {
  authorize(actor, "job:manage");
  const { jobId, enabled } = parseInput(setReplicationJobEnabledSchema, raw);
  return serializableTransaction(async (tx) => {
    const job = await tx.replicationJob.findUnique({ where: { id: jobId }, select: { id: true, name: true, schedule: true, enabled: true } });
    if (!job) throw new AppError("NOT_FOUND", "This replication job does not exist (it may have been removed).");
    const nextRunAt = enabled ? nextRunAfter(parseSchedule(job.schedule), new Date(), scheduleTimeZone()) : null;
    await tx.replicationJob.update({ where: { id: jobId }, data: { enabled, nextRunAt } });
    await recordAuditEvent({ actor, action: enabled ? "replication-job.enable" : "replication-job.disable", objectType: "replication-job", objectId: jobId, outcome: "success", details: { name: job.name, was: job.enabled ? "enabled" : "disabled", nextRunAt: nextRunAt?.toISOString() ?? null } }, tx);
    return { enabled, nextRunAt };
  });
}
