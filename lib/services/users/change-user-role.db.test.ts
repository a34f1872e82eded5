import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { dbState, expectAppError } from "@/lib/testing/db-state";
import { makeActor, makeUser } from "@/lib/testing/factories";
import { changeUserRole } from "./change-user-role";

let admin: Actor;
beforeAll(async () => {
  admin = await makeActor("BACKUP_ADMIN");
});

describe("changeUserRole", () => {
  it("changes the role, returns the DTO and audits from → to", async () => {
    const target = await makeUser({ role: "BACKUP_VIEWER" });
    const dto = await changeUserRole(admin, { userId: target.id, role: "SECURITY_OFFICER" });
    expect(dto).toMatchObject({ id: target.id, role: "SECURITY_OFFICER" });
    expect((await db.user.findUniqueOrThrow({ where: { id: target.id } })).role).toBe("SECURITY_OFFICER");

    const events = await db.auditEvent.findMany({ where: { action: "user.change-role", objectId: target.id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: admin.id, outcome: "success", objectType: "user" });
    expect(JSON.parse(events[0].details)).toEqual({ email: target.email, from: "BACKUP_VIEWER", to: "SECURITY_OFFICER" });
  });

  it("refuses to change the actor's own role, and nothing changes", async () => {
    const self = await makeActor("BACKUP_ADMIN");
    const row = await db.user.findUniqueOrThrow({ where: { id: self.id } });
    const before = await dbState();
    await expectAppError(changeUserRole(self, { userId: self.id, role: "BACKUP_VIEWER" }), "CONFLICT");
    expect(await db.user.findUniqueOrThrow({ where: { id: self.id } })).toEqual(row);
    expect(await dbState()).toEqual(before);
  });

  it("refuses an unknown role or a missing id with INVALID_INPUT and field errors, and writes nothing", async () => {
    const target = await makeUser({ role: "BACKUP_VIEWER" });
    const row = await db.user.findUniqueOrThrow({ where: { id: target.id } });
    const before = await dbState();
    const badRole = await expectAppError(changeUserRole(admin, { userId: target.id, role: "SUPERUSER" as never }), "INVALID_INPUT");
    expect(Object.keys(badRole.fieldErrors ?? {})).toEqual(["role"]);
    const noId = await expectAppError(changeUserRole(admin, { userId: "  ", role: "BACKUP_ADMIN" }), "INVALID_INPUT");
    expect(Object.keys(noId.fieldErrors ?? {})).toEqual(["userId"]);
    expect(await db.user.findUniqueOrThrow({ where: { id: target.id } })).toEqual(row);
    expect(await dbState()).toEqual(before);
  });

  it("answers NOT_FOUND for an unknown id, and writes nothing", async () => {
    const before = await dbState();
    await expectAppError(changeUserRole(admin, { userId: "no-such-user", role: "BACKUP_VIEWER" }), "NOT_FOUND");
    expect(await dbState()).toEqual(before);
  });
});
