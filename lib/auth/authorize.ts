import "server-only";
import { AppError } from "@/lib/errors/app-error";
import type { Actor } from "./actor";
import { hasPermission, ROLE_LABELS, whoToAsk, type Permission } from "@/lib/permissions/roles";

/** Every service calls this first (SEC-1). Throws FORBIDDEN when the role lacks the permission. */
export function authorize(actor: Actor | null | undefined, permission: Permission): asserts actor is Actor {
  if (!actor) throw new AppError("UNAUTHENTICATED", "Sign in to continue.");
  if (!hasPermission(actor.role, permission)) {
    throw new AppError(
      "FORBIDDEN",
      `Your role (${ROLE_LABELS[actor.role]}) does not allow this (${permission}). ${whoToAsk(permission)}`,
    );
  }
}
