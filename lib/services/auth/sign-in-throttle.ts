import "server-only";
import { db } from "@/lib/db/client";

// Throttling of failed password checks (SEC-1) — sign-in, and the re-entered password of an
// approval — kept in the database so it holds across processes and restarts.
//
// Per account *and* source address: after 5 failures in 15 minutes, that account is locked for
// that address 30 s, doubling per further failure up to 15 minutes. Per source address (whatever
// the account): after 30 failures in 15 minutes, locked 5 minutes. An attacker at one address
// therefore never locks the account for its owner at another, and the way back from a lock does
// not need the locked person: an administrator or Security Officer clears it (clear-sign-in-locks).
const WINDOW_MS = 15 * 60_000;
const RULES = {
  account: { freeFailures: 5, baseLockMs: 30_000, maxLockMs: 15 * 60_000 },
  ip: { freeFailures: 30, baseLockMs: 5 * 60_000, maxLockMs: 5 * 60_000 },
} as const;

/** What is being guessed: a sign-in email, or the password behind one user's approvals. */
export type ThrottleSubject = `email:${string}` | `approval:${string}`;

export function signInSubject(email: string): ThrottleSubject {
  return `email:${email}`;
}
export function approvalSubject(userId: string): ThrottleSubject {
  return `approval:${userId}`;
}

export function throttleKeys(subject: ThrottleSubject, sourceIp: string | null): { key: string; rule: keyof typeof RULES }[] {
  const keys: { key: string; rule: keyof typeof RULES }[] = [{ key: `${subject}|ip:${sourceIp ?? "unknown"}`, rule: "account" }];
  if (sourceIp) keys.push({ key: `ip:${sourceIp}`, rule: "ip" });
  return keys;
}

export async function isThrottled(subject: ThrottleSubject, sourceIp: string | null, now = new Date()): Promise<boolean> {
  const rows = await db.signInThrottle.findMany({ where: { key: { in: throttleKeys(subject, sourceIp).map((k) => k.key) } } });
  return rows.some((r) => r.lockedUntil !== null && r.lockedUntil > now);
}

/** Counts one failure; returns the keys that became locked by it (for the audit log). */
export async function recordFailure(subject: ThrottleSubject, sourceIp: string | null, now = new Date()): Promise<{ key: string; until: Date }[]> {
  const locked: { key: string; until: Date }[] = [];
  for (const { key, rule } of throttleKeys(subject, sourceIp)) {
    const r = RULES[rule];
    const row = await db.signInThrottle.findUnique({ where: { key } });
    const fresh = !row || now.getTime() - row.windowStart.getTime() > WINDOW_MS;
    const failures = fresh ? 1 : row.failures + 1;
    const over = failures - r.freeFailures;
    const lockedUntil = over >= 0 ? new Date(now.getTime() + Math.min(r.baseLockMs * 2 ** over, r.maxLockMs)) : null;
    await db.signInThrottle.upsert({
      where: { key },
      create: { key, failures, windowStart: now, lockedUntil },
      update: { failures, windowStart: fresh ? now : row.windowStart, lockedUntil },
    });
    if (lockedUntil) locked.push({ key, until: lockedUntil });
  }
  return locked;
}

/** A success from a source clears that source's count for the subject. */
export async function clearFailures(subject: ThrottleSubject, sourceIp: string | null): Promise<void> {
  await db.signInThrottle.deleteMany({ where: { key: throttleKeys(subject, sourceIp)[0].key } });
}

/** Every lock and count of a subject, from every source (an administrator's "Clear sign-in lock"). */
export async function clearSubject(subject: ThrottleSubject): Promise<number> {
  return (await db.signInThrottle.deleteMany({ where: { key: { startsWith: `${subject}|` } } })).count;
}

/** The subjects some source is locked out of right now (shown on the Users page). */
export async function lockedSubjects(now = new Date()): Promise<Set<string>> {
  const rows = await db.signInThrottle.findMany({ where: { lockedUntil: { gt: now }, NOT: { key: { startsWith: "ip:" } } }, select: { key: true } });
  return new Set(rows.map((r) => r.key.slice(0, r.key.lastIndexOf("|ip:"))));
}
