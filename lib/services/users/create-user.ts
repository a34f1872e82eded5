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
import { createApprovalRequest } from "@/lib/services/approvals/create-approval-request";
import { readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { toUserDto, type UserDto } from "./user-dto";

export type CreatedUser = UserDto | { pendingApprovalId: string; email: string; role: "SECURITY_OFFICER" };

/**
 * Creates an account. While four-eyes is on, a new Security Officer is a request another Security
 * Officer approves (SEC-2): otherwise one administrator could create an officer, sign in as it and
 * approve their own requests. The creator is recorded (createdById): an officer never approves the
 * requests of whoever created their account.
 */
export async function createUser(actor: Actor, raw: z.input<typeof createUserSchema>): Promise<CreatedUser> {
  authorize(actor, "user:manage");
  const input = parseInput(createUserSchema, raw);
  const passwordHash = await hashPassword(input.password);
  return serializableTransaction(async (tx) => {
    if (await tx.user.findUnique({ where: { email: input.email }, select: { id: true } })) {
      throw new AppError("CONFLICT", `A user with the email ${input.email} already exists.`, {
        email: ["This email is already in use"],
      });
    }
    if (input.role === "SECURITY_OFFICER" && (await readFourEyes(tx)).enabled) {
      const req = await createApprovalRequest(tx, actor, {
        kind: "user.create",
        objectType: "new-user",
        objectId: input.email,
        summary: [
          { field: "New Security Officer", from: "", to: `${input.name} (${input.email})` },
          { field: "Sign-in password", from: "", to: `set by ${actor.name} (${actor.email})` },
        ],
        payload: { email: input.email, name: input.name, role: "SECURITY_OFFICER", passwordHash },
        requiredPermission: "user:manage",
      });
      return { pendingApprovalId: req.id, email: input.email, role: "SECURITY_OFFICER" as const };
    }
    const user = await tx.user.create({
      data: { email: input.email, name: input.name, role: input.role, passwordHash, createdById: actor.id, passwordChangedById: actor.id, roleChangedById: actor.id },
    });
    await recordAuditEvent(
      { actor, action: "user.create", objectType: "user", objectId: user.id, outcome: "success", details: { email: user.email, role: user.role } },
      tx,
    );
    return toUserDto(user);
  });
}
