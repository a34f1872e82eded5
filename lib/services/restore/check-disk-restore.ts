import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db, type DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import type { InventorySnapshot } from "@/lib/platform/connector";
import { diskRestoreTargetSchema, type DiskRestoreTargetInput } from "@/lib/schemas/restore";
import { readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { platform } from "@/lib/services/inventory/platform";
import { planDiskRestore, pointDisksOf, type DiskRestorePlan } from "./disk-restore-plan";
import { openRestorePoint } from "./open-restore-point";

// The disk restore's check (RST-7), for the wizard as the user chooses: the point opens, the target
// VM exists and belongs to the same tenant, each disk can go where it is asked (RST-3), and what
// the restore means for the VM (powered off, which disk is deleted). The start checks it again.

export interface DiskRestoreCheckDto {
  ok: boolean;
  problems: DiskRestorePlan["problems"];
  consequences: string[];
}

export async function checkDiskRestore(actor: Actor, raw: unknown): Promise<DiskRestoreCheckDto> {
  authorize(actor, "restore:run");
  const input = parseInput(diskRestoreTargetSchema, raw);
  const { plan } = await planDiskRestoreNow(input, await platform().inventory());
  const refusal = await decryptionRefusal(plan);
  const problems = refusal ? [...plan.problems, { field: "disks", message: refusal }] : plan.problems;
  return { ok: problems.length === 0, problems, consequences: plan.consequences };
}

/**
 * SEC-2: with four-eyes on, taking the encryption off a disk that had it needs a Security Officer's
 * approval. The approval path is the full restore's (a new VM), so a disk restore that would
 * decrypt is refused, saying what to do instead; null when it may go ahead.
 */
export async function decryptionRefusal(plan: DiskRestorePlan, tx: DbTx = db): Promise<string | null> {
  if (!plan.decrypted?.length || !(await readFourEyes(tx)).enabled) return null;
  return `Four-eyes approval is on, and this restore would write ${plan.decrypted.join(", ")} unencrypted although it was encrypted when backed up. Restore it encrypted, or restore the VM to a new location unencrypted: that restore is sent to a Security Officer for approval.`;
}

/** Opens the point (its keys must be at hand) and plans the restore against `inventory`. */
export async function planDiskRestoreNow(input: DiskRestoreTargetInput, inventory: InventorySnapshot) {
  const opened = await openRestorePoint(input.pointId, `strongroom/${process.pid}/disk-restore-check`).catch((e: unknown) => {
    if (e instanceof AppError && e.code !== "NOT_FOUND") return e;
    throw e;
  });
  if (opened instanceof AppError) return { plan: { target: null, attach: [], problems: [{ field: "point", message: opened.message }], consequences: [] } as DiskRestorePlan, row: null };
  try {
    const backedUp = opened.source.vm;
    const plan = planDiskRestore(input, { vmName: opened.row.vmName, tenantExternalId: backedUp.tenantExternalId, disks: pointDisksOf(opened.point, backedUp) }, inventory);
    return { plan, row: opened.row };
  } finally {
    await opened.close();
  }
}
