import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { queueRepositoryVerify } from "@/lib/runner/job-runner";
import { repositoryIdSchema } from "@/lib/schemas/backup";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";

/** Starts a health check of the whole repository (BKP-7) in the runner; the page follows it. */
export async function verifyBackupRepository(actor: Actor, raw: { repositoryId: string }): Promise<void> {
  authorize(actor, "job:manage");
  const { repositoryId } = parseInput(repositoryIdSchema, raw);
  const row = await db.backupRepository.findUnique({ where: { id: repositoryId }, select: { id: true, name: true, verifyRunning: true } });
  if (!row) throw new AppError("NOT_FOUND", "This repository does not exist (it may have been removed).");
  if (row.verifyRunning) throw new AppError("CONFLICT", `A verify of ${row.name} is already running.`);
  await db.backupRepository.update({ where: { id: row.id }, data: { verifyRunning: true } });
  await recordAuditEvent({ actor, action: "repository.verify-start", objectType: "repository", objectId: row.id, outcome: "success", details: { name: row.name } });
  queueRepositoryVerify(row.id);
}
