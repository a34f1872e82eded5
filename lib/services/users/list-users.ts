import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { lockedSubjects } from "@/lib/services/auth/sign-in-throttle";
import { toUserDto, type UserDto } from "./user-dto";

export async function listUsers(actor: Actor): Promise<(UserDto & { signInLocked: boolean })[]> {
  authorize(actor, "user:read");
  const [users, locked] = await Promise.all([db.user.findMany({ orderBy: [{ disabled: "asc" }, { email: "asc" }] }), lockedSubjects()]);
  return users.map((u) => ({ ...toUserDto(u), signInLocked: locked.has(`email:${u.email}`) || locked.has(`approval:${u.id}`) }));
}
