import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { repositoryIdSchema } from "@/lib/schemas/backup";
import { toRepositoryDto, verifyReportSchema, type RepositoryDto, type VerifyReportDto } from "./repository-dto";

const withCounts = { _count: { select: { restorePoints: { where: { status: { not: "removed" } } }, jobs: true } } } as const;

async function storedBytes(repositoryId?: string): Promise<Map<string, number>> {
  const sums = await db.restorePoint.groupBy({ by: ["repositoryId"], where: { status: { not: "removed" }, ...(repositoryId ? { repositoryId } : {}) }, _sum: { bytesStored: true } });
  return new Map(sums.map((s) => [s.repositoryId, Number(s._sum.bytesStored ?? 0)]));
}

export async function listBackupRepositories(actor: Actor): Promise<RepositoryDto[]> {
  authorize(actor, "job:read");
  const [rows, bytes] = await Promise.all([db.backupRepository.findMany({ include: withCounts, orderBy: { name: "asc" } }), storedBytes()]);
  return rows.map((r) => toRepositoryDto(r, bytes.get(r.id) ?? 0));
}

export interface RepositoryDetailDto extends RepositoryDto {
  report: VerifyReportDto | null;
  jobs: Array<{ id: string; name: string }>;
}

export async function getBackupRepository(actor: Actor, raw: { repositoryId: string }): Promise<RepositoryDetailDto> {
  authorize(actor, "job:read");
  const { repositoryId } = parseInput(repositoryIdSchema, raw);
  const row = await db.backupRepository.findUnique({ where: { id: repositoryId }, include: { ...withCounts, jobs: { select: { id: true, name: true }, orderBy: { name: "asc" } } } });
  if (!row) throw new AppError("NOT_FOUND", "This repository does not exist (it may have been removed).");
  const bytes = await storedBytes(row.id);
  const parsed = row.lastVerifyReport ? verifyReportSchema.safeParse(JSON.parse(row.lastVerifyReport)) : null;
  return { ...toRepositoryDto(row, bytes.get(row.id) ?? 0), report: parsed?.success ? parsed.data : null, jobs: row.jobs };
}
