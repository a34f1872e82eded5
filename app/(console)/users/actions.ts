"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { ROLE_LABELS } from "@/lib/permissions/roles";
import { changeUserRoleSchema, createUserSchema, resetUserPasswordSchema, setUserDisabledSchema } from "@/lib/schemas/users";
import { changeUserRole } from "@/lib/services/users/change-user-role";
import { clearSignInLocks, clearSignInLocksSchema } from "@/lib/services/users/clear-sign-in-locks";
import { endUserSessions, endUserSessionsSchema } from "@/lib/services/users/end-user-sessions";
import { createUser } from "@/lib/services/users/create-user";
import { resetUserPassword } from "@/lib/services/users/reset-user-password";
import { setUserDisabled } from "@/lib/services/users/set-user-disabled";

// Thin actions: validation and authorization happen again in each service (direct POSTs reach here too).

export const createUserAction = validatedAction("user.create", createUserSchema, async (actor, input) => {
  const user = await createUser(actor, input);
  revalidatePath("/users");
  if ("pendingApprovalId" in user) return `Four-eyes approval is on: the new Security Officer ${user.email} is created once another Security Officer approves (see Approvals).`;
  return `Created ${user.email} as ${ROLE_LABELS[user.role]}. Give them their password through a safe channel.`;
});

export const changeUserRoleAction = validatedAction("user.change-role", changeUserRoleSchema, async (actor, input) => {
  const user = await changeUserRole(actor, input);
  revalidatePath("/users");
  if (user.pendingApprovalId) return `Four-eyes approval is on: the role change of ${user.email} waits for a Security Officer (see Approvals).`;
  return `${user.email} is now ${ROLE_LABELS[user.role]}.`;
});

export const setUserDisabledAction = validatedAction("user.set-disabled", setUserDisabledSchema, async (actor, input) => {
  const user = await setUserDisabled(actor, input);
  revalidatePath("/users");
  if (user.pendingApprovalId) return `Four-eyes approval is on: enabling the Security Officer ${user.email} waits for another Security Officer (see Approvals).`;
  return user.disabled ? `${user.email} is disabled and signed out everywhere.` : `${user.email} can sign in again.`;
});

export const resetUserPasswordAction = validatedAction("user.reset-password", resetUserPasswordSchema, async (actor, input) => {
  const user = await resetUserPassword(actor, input);
  revalidatePath("/users");
  if (user.pendingApprovalId) return `Four-eyes approval is on: the new password of the Security Officer ${user.email} applies once another Security Officer approves (see Approvals).`;
  return `New password set for ${user.email}; their existing sessions have ended.`;
});

export const endUserSessionsAction = validatedAction("user.end-sessions", endUserSessionsSchema, async (actor, input) => {
  const r = await endUserSessions(actor, input);
  revalidatePath("/users");
  return `${r.email} is signed out everywhere; they can sign in again.`;
});

export const clearSignInLocksAction = validatedAction("user.clear-sign-in-lock", clearSignInLocksSchema, async (actor, input) => {
  const r = await clearSignInLocks(actor, input);
  revalidatePath("/users");
  return r.cleared ? `The sign-in lock of ${r.email} is cleared.` : `${r.email} was not locked.`;
});
