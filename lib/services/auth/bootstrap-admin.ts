import "server-only";
import crypto from "node:crypto";
import { hashPassword } from "@/lib/auth/password";
import { db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";

export interface BootstrapResult {
  email: string;
  /** Set only when the password was generated here: the caller prints it once, it is never stored. */
  generatedPassword: string | null;
}

/** First start: when no user exists, create the first Backup Administrator. Otherwise does nothing. */
export async function bootstrapAdmin(email: string, password: string | undefined): Promise<BootstrapResult | null> {
  if ((await db.user.count()) > 0) return null;
  const generatedPassword = password ? null : crypto.randomBytes(15).toString("base64url"); // 20 chars, 120 bits
  const user = await db.user.create({
    data: {
      email: email.toLowerCase(),
      name: "Administrator",
      role: "BACKUP_ADMIN",
      passwordHash: await hashPassword(password ?? generatedPassword!),
    },
  });
  await recordAuditEvent({
    actor: null,
    claimedEmail: "system",
    action: "user.bootstrap-admin",
    objectType: "user",
    objectId: user.id,
    outcome: "success",
    details: { email: user.email, adminCredentialOrigin: password ? "environment variable" : "generated, printed once" },
  });
  return { email: user.email, generatedPassword };
}
