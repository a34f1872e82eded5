import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { enqueue } from "@/lib/jobs";
import { repositoryIdSchema } from "@/lib/schemas/backup";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";

/** Starts a health check of the whole repository (BKP-7) as a job; the page follows it. */
export async function verifyBackupRepository(actor: Actor, raw: { repositoryId: string }): Promise<void> {
  authorize(actor, "job:manage");
  const { repositoryId } = parseInput(repositoryIdSchema, raw);
  const row = await db.backupRepository.findUnique({ where: { id: repositoryId }, select: { id: true, name: true, verifyRunning: true } });
  if (!row) throw new AppError("NOT_FOUND", "This repository does not exist (it may have been removed).");
  if (row.verifyRunning) throw new AppError("CONFLICT", `A verify of ${row.name} is already running.`);
  await db.$transaction(async (tx) => {
    const claimed = await tx.backupRepository.updateMany({ where: { id: row.id, verifyRunning: false }, data: { verifyRunning: true } });
    if (claimed.count !== 1) throw new AppError("CONFLICT", `A verify of ${row.name} is already running.`);
    const s = await tx.jobSession.create({ data: { kind: "verify", subject: `repository:${row.id}`, title: `Verify ${row.name}`, state: "queued", trigger: "manual", requestedById: actor.id } });
    await enqueue(tx, { kind: "repository-verify", payload: { sessionId: s.id, repositoryId: row.id }, retryLimit: 1 });
    await recordAuditEvent({ actor, action: "repository.verify-start", objectType: "repository", objectId: row.id, outcome: "success", details: { name: row.name, session: s.id } }, tx);
  });
}
