import "server-only";
import type { Actor } from "@/lib/auth/actor";
import type { DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";

/** Loads the target user inside the transaction, or NOT_FOUND. */
export async function loadUser(tx: DbTx, userId: string) {
  const user = await tx.user.findUnique({ where: { id: userId } });
  if (!user) throw new AppError("NOT_FOUND", "That user no longer exists. Reload the page.");
  return user;
}

/** An administrator cannot lock themselves out by changing their own role or disabling themselves. */
export function refuseSelf(actor: Actor, userId: string, what: string): void {
  if (actor.id === userId) {
    throw new AppError("CONFLICT", `You cannot ${what} your own account. Ask another Backup Administrator.`);
  }
}

/** Checked in the same transaction as the change: at least one active Backup Administrator stays. */
export async function keepOneActiveAdmin(tx: DbTx): Promise<void> {
  const admins = await tx.user.count({ where: { role: "BACKUP_ADMIN", disabled: false } });
  if (admins < 1) {
    throw new AppError("CONFLICT", "This would leave no active Backup Administrator. Promote someone else first.");
  }
}
