import "server-only";
import { db } from "@/lib/db/client";
import type { OpenPoint, Repository } from "@/lib/engine";
import { pointVmAttributes, type PointVmAttributes } from "@/lib/engine/pipeline/restore-plan";
import { AppError } from "@/lib/errors/app-error";
import { repositoryKeyRing } from "@/lib/services/backup/repository-key-ring";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";

// A catalogued restore point opened for reading with every key the console holds for its
// repository (the job's password or KMS key, recovered keys). A point whose keys are not at hand
// says which keys it needs (KEY-7) instead of a decryption error.

export interface OpenedRestorePoint {
  row: { id: string; repositoryId: string; vmExternalId: string; vmName: string; createdAt: Date; keyIds: string[] };
  repository: Repository;
  point: OpenPoint;
  source: PointVmAttributes;
  close(): Promise<void>;
}

export async function openRestorePoint(pointId: string, owner: string): Promise<OpenedRestorePoint> {
  const row = await db.restorePoint.findUnique({ where: { id: pointId }, include: { repository: { include: { jobs: true } } } });
  if (!row || row.status === "removed") throw new AppError("NOT_FOUND", "This restore point does not exist (retention may have removed it).");
  if (row.status === "damaged") throw new AppError("CONFLICT", `The restore point of ${row.vmName} from ${row.createdAt.toISOString()} failed its last health check: choose another point, or verify the repository again.`);
  const keyIds = safeJsonArray(row.keyIds);
  const keys = await repositoryKeyRing(row.repositoryId, row.repository.jobs);
  try {
    const repository = await openCataloguedRepository(row.repository, owner);
    let point: OpenPoint;
    try {
      point = await repository.readPoint(row.id, keys.ring);
    } catch (e) {
      throw new AppError("CONFLICT", `The restore point cannot be opened with the keys this console holds (it needs ${keyIds.join(", ") || "unknown keys"}): ${e instanceof Error ? e.message : String(e)}${keys.problems.length ? ` ${keys.problems.join(" ")}` : ""}`);
    }
    return {
      row: { id: row.id, repositoryId: row.repositoryId, vmExternalId: row.vmExternalId, vmName: row.vmName, createdAt: row.createdAt, keyIds },
      repository,
      point,
      source: pointVmAttributes(point.attributes),
      async close() {
        point.close();
        await keys.close();
      },
    };
  } catch (e) {
    await keys.close();
    throw e;
  }
}

function safeJsonArray(s: string): string[] {
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}
