import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { listRestorePoints, type RestorePointDto } from "@/lib/services/backup/list-restore-points";
import { openRestorePoint } from "./open-restore-point";

// The Restore page: the VMs that have restore points (first step of a restore: pick the VM), and
// for one VM its points, newest first, each with its key ids and whether the console can open it
// now (a point whose keys are missing says which before anyone picks it).

export interface RestorableVmDto {
  vmExternalId: string;
  vmName: string;
  /** The VM in the console's inventory, when it still exists. */
  vmId: string | null;
  encrypted: boolean;
  pointCount: number;
  latestAt: string;
}

export async function listRestorableVms(actor: Actor): Promise<RestorableVmDto[]> {
  authorize(actor, "job:read");
  const groups = await db.restorePoint.groupBy({ by: ["vmExternalId"], where: { status: { not: "removed" } }, _count: { _all: true }, _max: { createdAt: true } });
  const latest = await db.restorePoint.findMany({ where: { status: { not: "removed" }, vmExternalId: { in: groups.map((g) => g.vmExternalId) } }, orderBy: { createdAt: "desc" }, select: { vmExternalId: true, vmName: true, vmEncrypted: true } });
  const vms = new Map((await db.vm.findMany({ where: { externalId: { in: groups.map((g) => g.vmExternalId) } }, select: { id: true, externalId: true } })).map((v) => [v.externalId, v.id]));
  const first = new Map<string, { vmName: string; vmEncrypted: boolean }>();
  for (const p of latest) if (!first.has(p.vmExternalId)) first.set(p.vmExternalId, p);
  return groups
    .map((g) => ({ vmExternalId: g.vmExternalId, vmName: first.get(g.vmExternalId)?.vmName ?? g.vmExternalId, vmId: vms.get(g.vmExternalId) ?? null, encrypted: first.get(g.vmExternalId)?.vmEncrypted ?? false, pointCount: g._count._all, latestAt: (g._max.createdAt ?? new Date(0)).toISOString() }))
    .sort((a, b) => a.vmName.localeCompare(b.vmName));
}

export interface RestorablePointDto extends RestorePointDto {
  /** null: not checked (only the newest points are opened to check their keys). */
  keysAvailable: boolean | null;
  keysProblem: string | null;
}

const KEY_CHECKS = 10;
const vmSchema = z.object({ vmExternalId: z.string().trim().min(1).max(200) });

/** One VM's points, newest first; the newest few opened to say whether their keys are at hand. */
export async function listRestorablePoints(actor: Actor, raw: unknown): Promise<RestorablePointDto[]> {
  authorize(actor, "job:read");
  const { vmExternalId } = parseInput(vmSchema, raw);
  const rows = await db.restorePoint.findMany({ where: { vmExternalId, status: { not: "removed" } }, select: { repositoryId: true }, distinct: ["repositoryId"] });
  const points = (await Promise.all(rows.map((r) => listRestorePoints(actor, { repositoryId: r.repositoryId })))).flat().filter((p) => p.vmExternalId === vmExternalId);
  points.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const out: RestorablePointDto[] = [];
  for (const [i, p] of points.entries()) {
    if (i >= KEY_CHECKS || p.status !== "ok") {
      out.push({ ...p, keysAvailable: null, keysProblem: p.status === "ok" ? null : p.status === "missing" ? "The point's file is not in the repository folder." : "The point failed its last health check." });
      continue;
    }
    try {
      const opened = await openRestorePoint(p.id, `strongroom/${process.pid}/restore-list`);
      await opened.close();
      out.push({ ...p, keysAvailable: true, keysProblem: null });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      out.push({ ...p, keysAvailable: false, keysProblem: e.message });
    }
  }
  return out;
}
