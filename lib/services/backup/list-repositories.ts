import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { repositoryIdSchema } from "@/lib/schemas/backup";
import { reportCatalogue } from "./repository-maintenance";
import { openCataloguedRepository } from "./repository-store";
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
  /** The catalogue against the folder now: missing points, a rolled-back folder, files not listed yet. */
  catalogueProblems: string[];
  jobs: Array<{ id: string; name: string }>;
}

export async function getBackupRepository(actor: Actor, raw: { repositoryId: string }): Promise<RepositoryDetailDto> {
  authorize(actor, "job:read");
  const { repositoryId } = parseInput(repositoryIdSchema, raw);
  const row = await db.backupRepository.findUnique({ where: { id: repositoryId }, include: { ...withCounts, jobs: { select: { id: true, name: true }, orderBy: { name: "asc" } } } });
  if (!row) throw new AppError("NOT_FOUND", "This repository does not exist (it may have been removed).");
  const bytes = await storedBytes(row.id);
  const parsed = row.lastVerifyReport ? verifyReportSchema.safeParse(JSON.parse(row.lastVerifyReport)) : null;
  const catalogueProblems = await checkFolder(row);
  return { ...toRepositoryDto(row, bytes.get(row.id) ?? 0), report: parsed?.success ? parsed.data : null, jobs: row.jobs, catalogueProblems };
}

/** Compares the catalogue with the folder (marking missing points; adopting nothing — sessions and verify do). */
async function checkFolder(row: { id: string; name: string; path: string; engineId: string }): Promise<string[]> {
  let repo;
  try {
    repo = await openCataloguedRepository(row, `strongroom/${process.pid}/console`);
  } catch (e) {
    return [e instanceof Error ? e.message : String(e)];
  }
  const problems: string[] = [];
  await reportCatalogue(row, repo, undefined, undefined, { say: (m) => problems.push(m) }, { adopt: false });
  return problems;
}
