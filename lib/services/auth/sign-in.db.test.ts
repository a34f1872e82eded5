import { describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { dbState } from "@/lib/testing/db-state";
import { makeUser, TEST_PASSWORD, uniqueEmail, uniqueIp } from "@/lib/testing/factories";
import { signIn } from "./sign-in";

/** The newest sign-in events for an email, newest first, with the parsed reason. */
async function signInEvents(email: string) {
  const rows = await db.auditEvent.findMany({ where: { action: "auth.sign-in", actorEmail: email }, orderBy: { seq: "desc" } });
  return rows.map((r) => ({ outcome: r.outcome, reason: (JSON.parse(r.details) as { reason?: string }).reason, actorId: r.actorId, sourceIp: r.sourceIp }));
}

describe("signIn", () => {
  it("returns the user for the right password, records lastSignInAt and a success event", async () => {
    const user = await makeUser({ role: "RESTORE_OPERATOR" });
    const ip = uniqueIp();
    const result = await signIn({ email: `  ${user.email.toUpperCase()}  `, password: user.password }, ip);
    expect(result).toEqual({ id: user.id, email: user.email, name: user.name, role: "RESTORE_OPERATOR", sessionVersion: user.sessionVersion });
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).lastSignInAt).toBeInstanceOf(Date);
    expect(await signInEvents(user.email)).toEqual([{ outcome: "success", reason: undefined, actorId: user.id, sourceIp: ip }]);
  });

  it("returns null for a wrong password and records why", async () => {
    const user = await makeUser();
    expect(await signIn({ email: user.email, password: "not the password at all" }, uniqueIp())).toBeNull();
    expect(await signInEvents(user.email)).toMatchObject([{ outcome: "failure", reason: "wrong password", actorId: null }]);
  });

  it("returns null for an unknown user and records why", async () => {
    const email = uniqueEmail("ghost");
    expect(await signIn({ email, password: TEST_PASSWORD }, uniqueIp())).toBeNull();
    expect(await signInEvents(email)).toMatchObject([{ outcome: "failure", reason: "unknown user" }]);
  });

  it("returns null for a disabled user, even with the right password", async () => {
    const user = await makeUser({ disabled: true });
    expect(await signIn({ email: user.email, password: user.password }, uniqueIp())).toBeNull();
    expect(await signInEvents(user.email)).toMatchObject([{ outcome: "failure", reason: "account disabled" }]);
  });

  it("after 5 failures refuses the 6th attempt from that address even with the right password, and audits it as throttled", async () => {
    const user = await makeUser();
    const ip = uniqueIp();
    for (let i = 0; i < 5; i++) expect(await signIn({ email: user.email, password: `wrong password ${i}` }, ip)).toBeNull();
    expect(await signIn({ email: user.email, password: user.password }, ip)).toBeNull();

    const events = await signInEvents(user.email);
    expect(events.map((e) => e.reason)).toEqual(["throttled", ...Array(5).fill("wrong password")]);
    expect(events.every((e) => e.outcome === "failure")).toBe(true);
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).lastSignInAt).toBeNull();
    // The lock itself is audited.
    const locks = await db.auditEvent.findMany({ where: { action: "auth.lock", actorEmail: user.email } });
    expect(locks.length).toBeGreaterThan(0);
  });

  // SEC-1, issue 13: five wrong passwords from one address used to lock the account everywhere —
  // anyone could lock the first administrator out.
  it("an attacker at one address does not lock the account for its owner at another", async () => {
    const user = await makeUser({ role: "BACKUP_ADMIN" });
    const attacker = uniqueIp();
    for (let i = 0; i < 12; i++) expect(await signIn({ email: user.email, password: `guess ${i}` }, attacker)).toBeNull();
    expect(await signIn({ email: user.email, password: user.password }, attacker)).toBeNull();
    // The owner, at their own desk, still signs in; the attacker's address stays locked.
    expect(await signIn({ email: user.email, password: user.password }, uniqueIp())).not.toBeNull();
    expect(await signIn({ email: user.email, password: user.password }, attacker)).toBeNull();
  });

  it("an administrator or a Security Officer clears a lock without the locked person; it is audited", async () => {
    const { clearSignInLocks } = await import("@/lib/services/users/clear-sign-in-locks");
    const { makeActor } = await import("@/lib/testing/factories");
    const user = await makeUser();
    const ip = uniqueIp();
    for (let i = 0; i < 6; i++) await signIn({ email: user.email, password: `wrong ${i}` }, ip);
    expect(await signIn({ email: user.email, password: user.password }, ip)).toBeNull();
    const officer = await makeActor("SECURITY_OFFICER");
    expect((await clearSignInLocks(officer, { userId: user.id })).cleared).toBeGreaterThan(0);
    expect(await signIn({ email: user.email, password: user.password }, ip)).not.toBeNull();
    const [event] = await db.auditEvent.findMany({ where: { action: "user.clear-sign-in-lock", objectId: user.id } });
    expect(event).toMatchObject({ actorId: officer.id, outcome: "success" });
    const viewer = await makeActor("BACKUP_VIEWER");
    await expect(clearSignInLocks(viewer, { userId: user.id })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("many addresses guessing one account: each address is throttled on its own", async () => {
    const user = await makeUser();
    const a = uniqueIp();
    for (let i = 0; i < 5; i++) await signIn({ email: user.email, password: `wrong ${i}` }, a);
    expect(await db.signInThrottle.findUnique({ where: { key: `email:${user.email}|ip:${a}` } })).toMatchObject({ failures: 5 });
    expect(await db.signInThrottle.findUnique({ where: { key: `ip:${a}` } })).toMatchObject({ failures: 5 });
  });

  it("four failures do not lock the account; a success clears the count", async () => {
    const user = await makeUser();
    const ip = uniqueIp();
    for (let i = 0; i < 4; i++) expect(await signIn({ email: user.email, password: `wrong password ${i}` }, ip)).toBeNull();
    expect(await signIn({ email: user.email, password: user.password }, ip)).not.toBeNull();
    expect(await db.signInThrottle.findUnique({ where: { key: `email:${user.email}|ip:${ip}` } })).toBeNull();
  });

  it("returns null for malformed input without touching the database", async () => {
    const user = await makeUser();
    const before = await dbState();
    for (const raw of [
      null,
      undefined,
      "email=x&password=y",
      {},
      { email: user.email },
      { password: user.password },
      { email: "not-an-email", password: user.password },
      { email: user.email, password: "" },
      { email: user.email, password: "x".repeat(1025) },
      { email: [user.email], password: user.password },
      { email: user.email, password: { $ne: "" } },
    ]) {
      expect(await signIn(raw, uniqueIp())).toBeNull();
    }
    expect(await dbState()).toEqual(before);
  });

  it("never writes the attempted password to the audit log", async () => {
    const user = await makeUser();
    const attempted = `leaked-${user.id}`;
    await signIn({ email: user.email, password: attempted }, uniqueIp());
    expect(await db.auditEvent.count({ where: { details: { contains: attempted } } })).toBe(0);
  });
});
