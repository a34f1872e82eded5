"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { diskRestoreTargetSchema, restoreDisksSchema, restoreVmSchema, rollbackVmSchema, startRestoreSchema } from "@/lib/schemas/restore";
import { checkDiskRestore } from "@/lib/services/restore/check-disk-restore";
import { checkRestore } from "@/lib/services/restore/check-restore";
import { startDiskRestore } from "@/lib/services/restore/start-disk-restore";
import { startRestore } from "@/lib/services/restore/start-restore";
import { startRollback } from "@/lib/services/restore/start-rollback";

/** The wizard's pre-restore check: the same checks the restore runs again when it starts. */
export const checkRestoreAction = validatedAction("restore.check", restoreVmSchema, async (actor, input) => {
  const result = await checkRestore(actor, input);
  return { message: result.ok ? "The pre-restore check passed." : `The pre-restore check found ${result.problems.length} problem(s).`, data: result };
});

/**
 * Start: one restore session, checked again on the server; the browser opens the session. Under
 * four-eyes a restore that writes an encrypted VM unencrypted is a request instead (SEC-2): the
 * wizard says "Request sent" and links to it.
 */
export const startRestoreAction = validatedAction("restore.start", startRestoreSchema, async (actor, input) => {
  const started = await startRestore(actor, input);
  if ("approvalRequestId" in started) {
    revalidatePath("/approvals");
    return { message: "Request sent: a Security Officer must approve this restore before it starts.", data: { approvalRequestId: started.approvalRequestId } };
  }
  revalidatePath("/sessions");
  return { message: "Restore started.", id: started.sessionId };
});

/** Start an in-place restore (RST-1: overwrite or quick rollback of the VM itself); startRollback authorizes and checks again. */
export const startRollbackAction = validatedAction("restore.rollback", rollbackVmSchema, async (actor, input) => {
  const { sessionId } = await startRollback(actor, input);
  revalidatePath("/sessions");
  return { message: input.mode === "quick-rollback" ? "Quick rollback started." : "Restore in place started.", id: sessionId };
});

/** The disk restore's check (RST-7), as the wizard's choices change; the start runs it again. */
export const checkDiskRestoreAction = validatedAction("restore.disks.check", diskRestoreTargetSchema, async (actor, input) => {
  const result = await checkDiskRestore(actor, input);
  return { message: result.ok ? "The disks can be restored as chosen." : `${result.problems.length} problem(s) to fix.`, data: result };
});

/** Start a disk restore (RST-7): chosen disks attached to an existing VM; startDiskRestore authorizes and checks again. */
export const startDiskRestoreAction = validatedAction("restore.disks.start", restoreDisksSchema, async (actor, input) => {
  const { sessionId } = await startDiskRestore(actor, input);
  revalidatePath("/sessions");
  return { message: "Disk restore started.", id: sessionId };
});
