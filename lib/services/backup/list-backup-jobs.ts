import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { decodeKeyHeader, describeKey } from "@/lib/engine";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import type { z } from "zod";
import { jobIdSchema, type backupJobSchema } from "@/lib/schemas/backup";
import { jobSummaryInclude, parseIds, parseSchedule, parseSelection, toJobSummaryDto, type JobSummaryDto } from "./job-dto";

export async function listBackupJobs(actor: Actor): Promise<JobSummaryDto[]> {
  authorize(actor, "job:read");
  const rows = await db.backupJob.findMany({ include: jobSummaryInclude, orderBy: { name: "asc" } });
  return rows.map(toJobSummaryDto);
}

export interface JobDetailDto extends JobSummaryDto {
  proxyMode: "automatic" | "manual";
  proxyIds: string[];
  failoverToNetwork: boolean;
  passwordHint: string | null;
  passwordSetAt: string | null;
  userKeyId: string | null;
  kmsKeyProvider: { id: string; name: string } | null;
  kmsKeyName: string | null;
  /** SEC-3: the current key was applied by an approved request. */
  approvedBySecurity: { by: string; at: string } | null;
  /** A four-eyes request about this job's encryption, waiting for a Security Officer. */
  pendingApprovalId: string | null;
  sessions: Array<{ id: string; state: string; trigger: string; queuedAt: string; startedAt: string | null; endedAt: string | null; error: string | null; bytesRead: number; bytesStored: number }>;
  /** The wizard's values for editing (never the password). */
  form: Omit<z.infer<typeof backupJobSchema>, "password" | "passwordConfirm">;
}

export async function getBackupJob(actor: Actor, raw: { jobId: string }): Promise<JobDetailDto> {
  authorize(actor, "job:read");
  const { jobId } = parseInput(jobIdSchema, raw);
  const job = await db.backupJob.findUnique({ where: { id: jobId }, include: { ...jobSummaryInclude } });
  if (!job) throw new AppError("NOT_FOUND", "This job does not exist (it may have been removed).");
  const [sessions, provider, approver] = await Promise.all([
    db.jobSession.findMany({ where: { jobId }, orderBy: { queuedAt: "desc" }, take: 50, select: { id: true, state: true, trigger: true, queuedAt: true, startedAt: true, endedAt: true, error: true, bytesRead: true, bytesStored: true } }),
    job.kmsKeyProviderId ? db.keyProvider.findUnique({ where: { id: job.kmsKeyProviderId }, select: { id: true, name: true } }) : null,
    job.passwordApprovedById ? db.user.findUnique({ where: { id: job.passwordApprovedById }, select: { name: true, email: true } }) : null,
  ]);
  const summary = toJobSummaryDto(job);
  const proxyIds = parseIds(job.proxyIds);
  const userKeyId = job.encryptionMode === "password" && job.passwordKeyHeader ? userKeyIdOf(job.passwordKeyHeader) : null;
  return {
    ...summary,
    proxyMode: job.proxyMode === "manual" ? "manual" : "automatic",
    proxyIds,
    failoverToNetwork: job.failoverToNetwork,
    passwordHint: job.encryptionMode === "password" ? job.passwordHint : null,
    passwordSetAt: job.passwordSetAt?.toISOString() ?? null,
    userKeyId,
    kmsKeyProvider: provider,
    kmsKeyName: job.kmsKeyName,
    approvedBySecurity: job.passwordApprovedAt ? { by: approver ? `${approver.name} (${approver.email})` : "a removed user", at: job.passwordApprovedAt.toISOString() } : null,
    pendingApprovalId: job.pendingApprovalId,
    sessions: sessions.map((s) => ({
      id: s.id,
      state: s.state,
      trigger: s.trigger,
      queuedAt: s.queuedAt.toISOString(),
      startedAt: s.startedAt?.toISOString() ?? null,
      endedAt: s.endedAt?.toISOString() ?? null,
      error: s.error,
      bytesRead: Number(s.bytesRead),
      bytesStored: Number(s.bytesStored),
    })),
    form: {
      name: job.name,
      description: job.description,
      selection: parseSelection(job.selection),
      repositoryId: job.repositoryId,
      retentionPoints: job.retentionPoints,
      proxyMode: job.proxyMode === "manual" ? "manual" : "automatic",
      proxyIds,
      failoverToNetwork: job.failoverToNetwork,
      encryptionMode: summary.encryptionMode,
      passwordHint: job.passwordHint ?? "",
      kmsKeyProviderId: job.kmsKeyProviderId ?? undefined,
      schedule: parseSchedule(job.schedule),
    },
  };
}

/** "password:<key id>" as restore points name it (KEY-7). The header is public (salt, KDF parameters). */
function userKeyIdOf(headerB64: string): string | null {
  try {
    return describeKey(decodeKeyHeader(Buffer.from(headerB64, "base64"), "job key header"));
  } catch {
    return null;
  }
}
