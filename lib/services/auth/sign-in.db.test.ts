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

  it("after 5 failures refuses the 6th attempt even with the right password, and audits it as throttled", async () => {
    const user = await makeUser();
    const ip = uniqueIp();
    for (let i = 0; i < 5; i++) expect(await signIn({ email: user.email, password: `wrong password ${i}` }, ip)).toBeNull();
    expect(await signIn({ email: user.email, password: user.password }, ip)).toBeNull();
    // The lock is per email: another address does not get around it.
    expect(await signIn({ email: user.email, password: user.password }, uniqueIp())).toBeNull();

    const events = await signInEvents(user.email);
    expect(events.map((e) => e.reason)).toEqual(["throttled", "throttled", ...Array(5).fill("wrong password")]);
    expect(events.every((e) => e.outcome === "failure")).toBe(true);
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).lastSignInAt).toBeNull();
  });

  it("four failures do not lock the account; a success clears the count", async () => {
    const user = await makeUser();
    const ip = uniqueIp();
    for (let i = 0; i < 4; i++) expect(await signIn({ email: user.email, password: `wrong password ${i}` }, ip)).toBeNull();
    expect(await signIn({ email: user.email, password: user.password }, ip)).not.toBeNull();
    expect(await db.signInThrottle.findUnique({ where: { key: `email:${user.email}` } })).toBeNull();
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
