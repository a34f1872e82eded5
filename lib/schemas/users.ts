// Input schemas for user management, shared by the forms (client) and the services (server).
import { z } from "zod";
import { ROLES } from "@/lib/permissions/roles";
import { plainName } from "./plain-text";

const id = z.string().trim().min(1, "Missing user id").max(64, "Invalid user id");

export const newPasswordSchema = z
  .string()
  .min(12, "Use at least 12 characters")
  .max(256, "Use at most 256 characters");

export const createUserSchema = z.object({
  email: z.string().trim().toLowerCase().email("Enter a valid email address").max(254),
  name: plainName("user"),
  role: z.enum(ROLES, { message: "Choose a role" }),
  password: newPasswordSchema,
});

export const changeUserRoleSchema = z.object({ userId: id, role: z.enum(ROLES, { message: "Choose a role" }) });

export const setUserDisabledSchema = z.object({
  userId: id,
  // Forms send strings; direct callers may send booleans.
  disabled: z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]),
});

export const resetUserPasswordSchema = z.object({ userId: id, password: newPasswordSchema });
