import "server-only";
import { db } from "@/lib/db/client";

// Throttling of failed sign-ins (SEC-1), kept in the database so it holds across processes and
// restarts. Per email: after 5 failures in 15 minutes, locked 30 s, doubling per further failure
// up to 15 minutes. Per source address: after 30 failures in 15 minutes, locked 5 minutes.
const WINDOW_MS = 15 * 60_000;
const RULES = {
  email: { freeFailures: 5, baseLockMs: 30_000, maxLockMs: 15 * 60_000 },
  ip: { freeFailures: 30, baseLockMs: 5 * 60_000, maxLockMs: 5 * 60_000 },
} as const;

export function throttleKeys(email: string, sourceIp: string | null): { key: string; rule: keyof typeof RULES }[] {
  const keys: { key: string; rule: keyof typeof RULES }[] = [{ key: `email:${email}`, rule: "email" }];
  if (sourceIp) keys.push({ key: `ip:${sourceIp}`, rule: "ip" });
  return keys;
}

export async function isThrottled(email: string, sourceIp: string | null, now = new Date()): Promise<boolean> {
  const rows = await db.signInThrottle.findMany({
    where: { key: { in: throttleKeys(email, sourceIp).map((k) => k.key) } },
  });
  return rows.some((r) => r.lockedUntil !== null && r.lockedUntil > now);
}

export async function recordFailure(email: string, sourceIp: string | null, now = new Date()): Promise<void> {
  for (const { key, rule } of throttleKeys(email, sourceIp)) {
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
  }
}

export async function clearFailures(email: string): Promise<void> {
  await db.signInThrottle.deleteMany({ where: { key: `email:${email}` } });
}
