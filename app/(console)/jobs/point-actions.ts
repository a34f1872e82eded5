"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { validatedAction } from "@/lib/auth/safe-action";
import { deleteRestorePoint } from "@/lib/services/backup/delete-restore-point";

export const deleteRestorePointAction = validatedAction("restore-point.delete", z.object({ pointId: z.string().max(64) }), async (actor, input) => {
  const r = await deleteRestorePoint(actor, input);
  revalidatePath("/", "layout");
  return r.pendingApprovalId ? "Four-eyes approval is on: the deletion waits for a Security Officer (see Approvals)." : "Restore point deleted.";
});
