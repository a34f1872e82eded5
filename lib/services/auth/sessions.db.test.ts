// Issue 13 (SEC-1, SEC-4): sign-out did not end the session — a cookie saved before "Sign out"
// kept working for hours. Sessions are now rows the JWT names; sign-out and an administrator's
// "End sessions" revoke them on the server, and both are audited.
import { describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { makeActor, makeUser, uniqueIp } from "@/lib/testing/factories";
import { endUserSessions } from "../users/end-user-sessions";
import { resolveSessionUser } from "./resolve-session";
import { signOut } from "./sign-out";
import { startUserSession } from "./user-sessions";

/** The claims a signed cookie carries after a sign-in (lib/auth/options.ts). */
async function signedIn(user: { id: string; sessionVersion: number }) {
  return { uid: user.id, sv: user.sessionVersion, sid: await startUserSession(user.id, uniqueIp()) };
}

describe("server-side sessions", () => {
  it("a cookie kept from before Sign out no longer works; the user's other browsers still do; sign-out is audited", async () => {
    const user = await makeUser();
    const laptop = await signedIn(user);
    const phone = await signedIn(user);
    expect(await resolveSessionUser(laptop)).toMatchObject({ id: user.id });
    const ip = uniqueIp();
    await signOut(laptop.sid, ip);
    expect(await resolveSessionUser(laptop)).toBeNull();
    expect(await resolveSessionUser(phone)).toMatchObject({ id: user.id });
    const [event] = await db.auditEvent.findMany({ where: { action: "auth.sign-out", objectId: user.id } });
    expect(event).toMatchObject({ actorId: user.id, outcome: "success", sourceIp: ip });
    // Signing out twice records nothing more.
    await signOut(laptop.sid, ip);
    expect(await db.auditEvent.count({ where: { action: "auth.sign-out", objectId: user.id } })).toBe(1);
  });

  it("a token without a session id (issued before sessions were rows) or with a forged one is refused", async () => {
    const user = await makeUser();
    expect(await resolveSessionUser({ uid: user.id, sv: user.sessionVersion })).toBeNull();
    expect(await resolveSessionUser({ uid: user.id, sv: user.sessionVersion, sid: "made-up" })).toBeNull();
    const other = await makeUser();
    const theirs = await signedIn(other);
    expect(await resolveSessionUser({ uid: user.id, sv: user.sessionVersion, sid: theirs.sid })).toBeNull();
  });

  it("an expired session is refused", async () => {
    const user = await makeUser();
    const s = await signedIn(user);
    await db.userSession.update({ where: { id: s.sid }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await resolveSessionUser(s)).toBeNull();
  });

  it("an administrator ends all of a user's sessions, audited; the user can sign in again", async () => {
    const admin = await makeActor("BACKUP_ADMIN");
    const user = await makeUser();
    const a = await signedIn(user);
    const b = await signedIn(user);
    expect((await endUserSessions(admin, { userId: user.id })).ended).toBe(2);
    expect(await resolveSessionUser(a)).toBeNull();
    expect(await resolveSessionUser(b)).toBeNull();
    const [event] = await db.auditEvent.findMany({ where: { action: "user.end-sessions", objectId: user.id } });
    expect(event).toMatchObject({ actorId: admin.id, outcome: "success" });
    const fresh = await db.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(await resolveSessionUser(await signedIn(fresh))).toMatchObject({ id: user.id });
  });

  it("disabling a user or resetting their password revokes their sessions", async () => {
    const { setUserDisabled } = await import("../users/set-user-disabled");
    const admin = await makeActor("BACKUP_ADMIN");
    const user = await makeUser();
    const s = await signedIn(user);
    await setUserDisabled(admin, { userId: user.id, disabled: true });
    expect(await db.userSession.findUniqueOrThrow({ where: { id: s.sid } })).toMatchObject({ revokedAt: expect.any(Date) });
  });
});
