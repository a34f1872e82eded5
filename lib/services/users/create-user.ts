import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { hashPassword } from "@/lib/auth/password";
import { serializableTransaction } from "@/lib/db/transaction";
import { parseInput } from "@/lib/errors/parse-input";
import { AppError } from "@/lib/errors/app-error";
import { createUserSchema } from "@/lib/schemas/users";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { toUserDto, type UserDto } from "./user-dto";

export async function createUser(actor: Actor, raw: z.input<typeof createUserSchema>): Promise<UserDto> {
  authorize(actor, "user:manage");
  const input = parseInput(createUserSchema, raw);
  const passwordHash = await hashPassword(input.password);
  return serializableTransaction(async (tx) => {
    if (await tx.user.findUnique({ where: { email: input.email }, select: { id: true } })) {
      throw new AppError("CONFLICT", `A user with the email ${input.email} already exists.`, {
        email: ["This email is already in use"],
      });
    }
    const user = await tx.user.create({
      data: { email: input.email, name: input.name, role: input.role, passwordHash },
    });
    await recordAuditEvent(
      { actor, action: "user.create", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email, role: user.role } },
      tx,
    );
    return toUserDto(user);
  });
}
