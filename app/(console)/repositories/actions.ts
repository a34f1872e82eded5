"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { createRepositorySchema, repositoryIdSchema } from "@/lib/schemas/backup";
import { createBackupRepository } from "@/lib/services/backup/create-repository";
import { verifyBackupRepository } from "@/lib/services/backup/verify-repository";

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
