import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";

export interface RecoveryRequestDto {
  id: string;
  createdAt: string;
  createdBy: string | null;
  repositoryName: string;
  pointCount: number;
  state: string;
  appliedAt: string | null;
  text: string;
}

export async function listPasswordRecoveryRequests(actor: Actor): Promise<RecoveryRequestDto[]> {
  authorize(actor, "job:read");
  const rows = await db.passwordRecoveryRequest.findMany({ orderBy: { createdAt: "desc" }, take: 50 });
  const [users, repos] = await Promise.all([
    db.user.findMany({ where: { id: { in: rows.map((r) => r.createdById) } }, select: { id: true, name: true } }),
    db.backupRepository.findMany({ where: { id: { in: rows.map((r) => r.repositoryId) } }, select: { id: true, name: true } }),
  ]);
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.createdAt.toISOString(),
    createdBy: users.find((u) => u.id === r.createdById)?.name ?? null,
    repositoryName: repos.find((x) => x.id === r.repositoryId)?.name ?? "(removed)",
    pointCount: (JSON.parse(r.pending) as unknown[]).length,
    state: r.state,
    appliedAt: r.appliedAt?.toISOString() ?? null,
    text: r.requestText,
  }));
}
