"use server";
import { revalidatePath } from "next/cache";
import { validatedAction } from "@/lib/auth/safe-action";
import { ROLE_LABELS } from "@/lib/permissions/roles";
import { changeUserRoleSchema, createUserSchema, resetUserPasswordSchema, setUserDisabledSchema } from "@/lib/schemas/users";
import { changeUserRole } from "@/lib/services/users/change-user-role";
import { createUser } from "@/lib/services/users/create-user";
import { resetUserPassword } from "@/lib/services/users/reset-user-password";
import { setUserDisabled } from "@/lib/services/users/set-user-disabled";

// Thin actions: validation and authorization happen again in each service (direct POSTs reach here too).

export const createUserAction = validatedAction("user.create", createUserSchema, async (actor, input) => {
  const user = await createUser(actor, input);
  revalidatePath("/users");
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
  return user.disabled ? `${user.email} is disabled and signed out everywhere.` : `${user.email} can sign in again.`;
});

export const resetUserPasswordAction = validatedAction("user.reset-password", resetUserPasswordSchema, async (actor, input) => {
  const user = await resetUserPassword(actor, input);
  revalidatePath("/users");
  return `New password set for ${user.email}; their existing sessions have ended.`;
});
