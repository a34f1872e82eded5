import "server-only";
import { z } from "zod";
import { burnPasswordCheck, verifyPassword } from "@/lib/auth/password";
import type { Role } from "@/lib/permissions/roles";
import { db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { clearFailures, isThrottled, recordFailure, signInSubject } from "./sign-in-throttle";

export const signInSchema = z.object({
  email: z.string().trim().toLowerCase().email().max(254),
  password: z.string().min(1).max(1024),
});

export interface SignedInUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  sessionVersion: number;
}

/**
 * Checks credentials. Returns the user, or null for every kind of failure (malformed input,
 * unknown user, wrong password, disabled, throttled): the caller shows one generic message,
 * the audit log keeps the real reason.
 */
export async function signIn(raw: unknown, sourceIp: string | null): Promise<SignedInUser | null> {
  const parsed = signInSchema.safeParse(raw);
  if (!parsed.success) return null;
  const { email, password } = parsed.data;

  const fail = async (reason: string) => {
    await recordAuditEvent({ actor: null, claimedEmail: email, sourceIp, action: "auth.sign-in", outcome: "failure", details: { reason } });
    return null;
  };

  const subject = signInSubject(email);
  if (await isThrottled(subject, sourceIp)) return fail("throttled");
  const failed = async (reason: string) => {
    const locked = await recordFailure(subject, sourceIp);
    if (locked.length) {
      await recordAuditEvent({ actor: null, claimedEmail: email, sourceIp, action: "auth.lock", outcome: "failure", details: { reason: `too many failed sign-ins (${reason})`, locked: locked.map((l) => ({ scope: l.key.startsWith("ip:") ? "source address" : "this account from this address", until: l.until.toISOString() })) } });
    }
    return fail(reason);
  };

  const user = await db.user.findUnique({ where: { email } });
  if (!user) {
    await burnPasswordCheck(password);
    return failed("unknown user");
  }
  if (!(await verifyPassword(user.passwordHash, password))) return failed("wrong password");
  if (user.disabled) return fail("account disabled");

  await clearFailures(subject, sourceIp);
  await db.user.update({ where: { id: user.id }, data: { lastSignInAt: new Date() } });
  await recordAuditEvent({
    actor: { id: user.id, email: user.email, sourceIp },
    action: "auth.sign-in",
    objectType: "user",
    objectId: user.id,
    outcome: "success",
  });
  return { id: user.id, email: user.email, name: user.name, role: user.role, sessionVersion: user.sessionVersion };
}
