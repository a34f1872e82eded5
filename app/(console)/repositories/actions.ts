"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { createRepositorySchema, repositoryIdSchema } from "@/lib/schemas/backup";
import { unlockRepositorySchema } from "@/lib/schemas/restore";
import { createBackupRepository } from "@/lib/services/backup/create-repository";
import { verifyBackupRepository } from "@/lib/services/backup/verify-repository";
import { unlockRepository } from "@/lib/services/restore/unlock-repository";

export const createRepositoryAction = validatedAction("repository.create", createRepositorySchema, async (actor, input) => {
  const { id, adopted } = await createBackupRepository(actor, input);
  revalidatePath("/repositories");
  return {
    message: adopted
      ? `Added ${input.name}: the folder already held a Strongroom repository, which is now listed with its own settings.`
      : `Added ${input.name}: a new, empty repository in ${input.path}.`,
    id,
  };
});

export const verifyRepositoryAction = validatedAction("repository.verify", repositoryIdSchema, async (actor, input) => {
  await verifyBackupRepository(actor, input);
  return "Verify started: every block is read, authenticated and its hash checked.";
});

/** Disaster recovery (KEY-9): the backup password of an adopted repository's points; only the key it derives is kept, sealed. */
export const unlockRepositoryAction = validatedAction("restore.unlock-repository", unlockRepositorySchema, async (actor, input) => {
  const { opened } = await unlockRepository(actor, input);
  revalidatePath(`/repositories/${input.repositoryId}`);
  revalidatePath("/restore");
  return {
    message: `The password opened ${opened} restore point${opened === 1 ? "" : "s"}. ${opened === 1 ? "It is" : "They are"} listed under Restore with ${opened === 1 ? "its VM's name" : "their VMs' names"} and can be restored now. The password itself was not stored.`,
    data: { opened },
  };
});
