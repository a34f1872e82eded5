import "server-only";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { parseInput } from "@/lib/errors/parse-input";
import { parseIds } from "./job-dto";

const filterSchema = z.object({
  vmId: z.string().trim().min(1).max(64).optional(),
  jobId: z.string().trim().min(1).max(64).optional(),
  repositoryId: z.string().trim().min(1).max(64).optional(),
});

export interface RestorePointDto {
  id: string;
  createdAt: string;
  vmExternalId: string;
  vmName: string;
  job: { id: string; name: string } | null;
  repository: { id: string; name: string };
  sessionId: string | null;
  incremental: boolean;
  vmEncrypted: boolean;
  /** KEY-7: every key that opens the point. */
  keyIds: string[];
  diskCount: number;
  bytesStored: number;
  status: string;
}

/** Restore points (newest first) of a VM, a job or a repository; removed ones are left out. */
export async function listRestorePoints(actor: Actor, raw: z.input<typeof filterSchema>): Promise<RestorePointDto[]> {
  authorize(actor, "job:read");
  const f = parseInput(filterSchema, raw);
  let vmExternalId: string | undefined;
  if (f.vmId) {
    const vm = await db.vm.findUnique({ where: { id: f.vmId }, select: { externalId: true } });
    if (!vm) return [];
    vmExternalId = vm.externalId;
  }
  const rows = await db.restorePoint.findMany({
    where: { status: { not: "removed" }, ...(vmExternalId ? { vmExternalId } : {}), ...(f.jobId ? { jobId: f.jobId } : {}), ...(f.repositoryId ? { repositoryId: f.repositoryId } : {}) },
    include: { job: { select: { id: true, name: true } }, repository: { select: { id: true, name: true, path: true } } },
    orderBy: { createdAt: "desc" },
    take: 500,
  });
  const present = await pointFilesByRepository(rows.map((r) => r.repository));
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.createdAt.toISOString(),
    vmExternalId: r.vmExternalId,
    vmName: r.vmName,
    job: r.job,
    repository: { id: r.repository.id, name: r.repository.name },
    sessionId: r.sessionId,
    incremental: r.incremental,
    vmEncrypted: r.vmEncrypted,
    keyIds: parseIds(r.keyIds),
    diskCount: r.diskCount,
    bytesStored: Number(r.bytesStored),
    // A point whose file is not in the folder is missing, whatever the last check recorded.
    status: present.get(r.repository.id)?.has(r.id) === false ? "missing" : r.status,
  }));
}

/** The point files in each repository's folder now (a folder that cannot be read is left out). */
async function pointFilesByRepository(repos: Array<{ id: string; path: string }>): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const r of new Map(repos.map((x) => [x.id, x])).values()) {
    try {
      out.set(r.id, new Set(await readdir(path.join(r.path, "points"))));
    } catch (e) {
      // No points folder in a repository that is there: no point file at all.
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && (await stat(path.join(r.path, "config")).catch(() => null))) out.set(r.id, new Set());
      // Otherwise unmounted or unreadable: the repository page says so; statuses stay as last recorded.
    }
  }
  return out;
}
