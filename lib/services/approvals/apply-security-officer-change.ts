import "server-only";
import type { DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { revokeUserSessions } from "@/lib/services/auth/user-sessions";
import type { ApprovalPayload } from "./approval-payload";

type Kind = "user.create" | "user.password" | "user.enable";

/**
 * Applies an approved change to who the Security Officers are or how they sign in (SEC-2). The
 * requester is recorded as the one who made the change: an officer whose account or password came
 * from them never approves their requests (lib/services/approvals/approver-independence.ts).
 */
export async function applySecurityOfficerChange(tx: DbTx, kind: Kind, payload: unknown, requestedById: string): Promise<void> {
  if (kind === "user.create") {
    const p = payload as ApprovalPayload<"user.create">;
    if (await tx.user.findUnique({ where: { email: p.email }, select: { id: true } })) {
      throw new AppError("CONFLICT", `A user with the email ${p.email} was created since this request was made; nothing was changed.`);
    }
    await tx.user.create({
      data: { email: p.email, name: p.name, role: p.role, passwordHash: p.passwordHash, createdById: requestedById, passwordChangedById: requestedById, roleChangedById: requestedById },
    });
    return;
  }
  const userId = (payload as { userId: string }).userId;
  const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true } });
  if (!user) throw new AppError("CONFLICT", "The user of this request no longer exists.");
  if (kind === "user.password") {
    const p = payload as ApprovalPayload<"user.password">;
    await tx.user.update({ where: { id: userId }, data: { passwordHash: p.passwordHash, sessionVersion: { increment: 1 }, passwordChangedById: requestedById } });
  } else {
    await tx.user.update({ where: { id: userId }, data: { disabled: false, sessionVersion: { increment: 1 }, enabledChangedById: requestedById } });
  }
  await revokeUserSessions(tx, userId);
}
