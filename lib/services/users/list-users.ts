import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { toUserDto, type UserDto } from "./user-dto";

export async function listUsers(actor: Actor): Promise<UserDto[]> {
  authorize(actor, "user:read");
  const users = await db.user.findMany({ orderBy: [{ disabled: "asc" }, { email: "asc" }] });
  return users.map(toUserDto);
}
