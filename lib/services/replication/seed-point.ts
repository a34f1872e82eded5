import "server-only";
import { AppError } from "@/lib/errors/app-error";
import { db } from "@/lib/db/client";
import { openRestorePoint, type OpenedRestorePoint } from "@/lib/services/restore/open-restore-point";

// Seeding a replica (REP-1: "seeded from a restore point already in a repository at the DR site"):
// the VM's newest restore point in the job's seed repository, opened with the keys this console
// holds and checked to be a backup of that VM — by its sealed description, not only by the
// catalogue row. Refusals say what to do; nothing is created or written before this answers.

const when = (d: Date) => d.toISOString().replace("T", " ").slice(0, 16) + " UTC";

/** The newest usable point of `vm` in the repository, opened; the caller closes it. */
export async function openSeedPoint(repositoryId: string, vm: { externalId: string; name: string }, owner: string): Promise<OpenedRestorePoint> {
  const repo = await db.backupRepository.findUnique({ where: { id: repositoryId }, select: { name: true } });
  if (!repo) throw new AppError("CONFLICT", `The repository to seed from no longer exists: choose another repository to seed ${vm.name}'s replica from, or replicate without seeding.`, { seedFromRepositoryId: ["Choose another repository"] });
  const row = await db.restorePoint.findFirst({ where: { repositoryId, vmExternalId: vm.externalId, status: { notIn: ["removed", "damaged"] } }, orderBy: { createdAt: "desc" }, select: { id: true, createdAt: true } });
  if (!row) throw new AppError("CONFLICT", `${repo.name} holds no restore point of ${vm.name} to seed its replica from: back the VM up to ${repo.name} first, or replicate without seeding.`, { seedFromRepositoryId: [`No restore point of ${vm.name} here`] });
  let opened: OpenedRestorePoint;
  try {
    opened = await openRestorePoint(row.id, owner);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new AppError("CONFLICT", `The restore point of ${vm.name} from ${when(row.createdAt)} in ${repo.name} cannot seed its replica: ${why} Unlock the repository with its backup password (Repositories), or choose another repository to seed from.`, { seedFromRepositoryId: ["Its restore point cannot be opened here"] });
  }
  const of = opened.source.vm;
  if (of.externalId !== vm.externalId) {
    await opened.close();
    throw new AppError("CONFLICT", `The restore point ${row.id} that ${repo.name} lists for ${vm.name} is a backup of ${of.name} (${of.externalId}): a replica is only seeded from its own VM's backup. Verify the repository, or choose another repository to seed from.`, { seedFromRepositoryId: ["Its restore point is of another VM"] });
  }
  return opened;
}
