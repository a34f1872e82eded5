import "server-only";
import { FilesystemStore, openRepository, type Repository } from "@/lib/engine";
import { AppError } from "@/lib/errors/app-error";

/** Opens a catalogued repository's folder; a missing or foreign folder is a clear CONFLICT. */
export async function openCataloguedRepository(row: { name: string; path: string; engineId: string }, owner = "strongroom-console"): Promise<Repository> {
  let repo: Repository;
  try {
    repo = await openRepository(new FilesystemStore(row.path), { owner });
  } catch (e) {
    throw new AppError("CONFLICT", `Repository ${row.name} cannot be opened at ${row.path}: ${e instanceof Error ? e.message : String(e)}. Check that the folder is mounted and readable.`);
  }
  if (repo.id !== row.engineId) {
    throw new AppError("CONFLICT", `The folder ${row.path} now holds another repository than ${row.name}. Check the mount, or add the folder as a new repository.`);
  }
  return repo;
}
