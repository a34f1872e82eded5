import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { verifyPassword } from "@/lib/auth/password";
import { db } from "@/lib/db/client";
import { dbState, expectAppError } from "@/lib/testing/db-state";
import { makeActor, makeUser } from "@/lib/testing/factories";
import { resetUserPassword } from "./reset-user-password";

const NEW_PASSWORD = "the replacement password 7";

let admin: Actor;
beforeAll(async () => {
  admin = await makeActor("BACKUP_ADMIN");
});

describe("resetUserPassword", () => {
  it("sets the new password (the old one stops working), bumps the session version and audits without the password", async () => {
    const target = await makeUser({ role: "BACKUP_VIEWER" });
    const dto = await resetUserPassword(admin, { userId: target.id, password: NEW_PASSWORD });
    expect(dto).not.toHaveProperty("passwordHash");

    const row = await db.user.findUniqueOrThrow({ where: { id: target.id } });
    expect(await verifyPassword(row.passwordHash, NEW_PASSWORD)).toBe(true);
    expect(await verifyPassword(row.passwordHash, target.password)).toBe(false);
    expect(row.sessionVersion).toBe(target.sessionVersion + 1);

    const events = await db.auditEvent.findMany({ where: { action: "user.reset-password", objectId: target.id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: admin.id, outcome: "success" });
    expect(JSON.parse(events[0].details)).toEqual({ email: target.email });
    expect(await db.auditEvent.count({ where: { details: { contains: NEW_PASSWORD } } })).toBe(0);
  });

  it("refuses a too-short password with INVALID_INPUT and a field error; the old password still works", async () => {
    const target = await makeUser();
    const row = await db.user.findUniqueOrThrow({ where: { id: target.id } });
    const before = await dbState();
    const error = await expectAppError(resetUserPassword(admin, { userId: target.id, password: "tooshort" }), "INVALID_INPUT");
    expect(Object.keys(error.fieldErrors ?? {})).toEqual(["password"]);
    expect(error.message).not.toContain("tooshort");
    const after = await db.user.findUniqueOrThrow({ where: { id: target.id } });
    expect(after).toEqual(row);
    expect(await verifyPassword(after.passwordHash, target.password)).toBe(true);
    expect(await dbState()).toEqual(before);
  });

  it("answers NOT_FOUND for an unknown id, and writes nothing", async () => {
    const before = await dbState();
    await expectAppError(resetUserPassword(admin, { userId: "no-such-user", password: NEW_PASSWORD }), "NOT_FOUND");
    expect(await dbState()).toEqual(before);
  });
});
