import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { dbState, expectAppError } from "@/lib/testing/db-state";
import { makeActor, makeUser } from "@/lib/testing/factories";
import { setUserDisabled } from "./set-user-disabled";

let admin: Actor;
beforeAll(async () => {
  admin = await makeActor("BACKUP_ADMIN");
});

describe("setUserDisabled", () => {
  it("disables the user and bumps the session version (existing sessions end), then enables again", async () => {
    const target = await makeUser({ role: "RESTORE_OPERATOR" });
    const disabled = await setUserDisabled(admin, { userId: target.id, disabled: true });
    expect(disabled).toMatchObject({ id: target.id, disabled: true });
    const afterDisable = await db.user.findUniqueOrThrow({ where: { id: target.id } });
    expect(afterDisable).toMatchObject({ disabled: true, sessionVersion: target.sessionVersion + 1 });

    // Forms send strings.
    const enabled = await setUserDisabled(admin, { userId: target.id, disabled: "false" });
    expect(enabled.disabled).toBe(false);
    expect(await db.user.findUniqueOrThrow({ where: { id: target.id } })).toMatchObject({ disabled: false, sessionVersion: target.sessionVersion + 2 });

    const events = await db.auditEvent.findMany({ where: { objectId: target.id }, orderBy: { seq: "asc" } });
    expect(events.map((e) => [e.action, e.actorId, e.outcome])).toEqual([
      ["user.disable", admin.id, "success"],
      ["user.enable", admin.id, "success"],
    ]);
  });

  it("refuses to disable the actor's own account, and nothing changes", async () => {
    const self = await makeActor("BACKUP_ADMIN");
    const row = await db.user.findUniqueOrThrow({ where: { id: self.id } });
    const before = await dbState();
    await expectAppError(setUserDisabled(self, { userId: self.id, disabled: true }), "CONFLICT");
    expect(await db.user.findUniqueOrThrow({ where: { id: self.id } })).toEqual(row);
    expect(await dbState()).toEqual(before);
  });

  it("refuses a value that is not a boolean with INVALID_INPUT and a field error, and writes nothing", async () => {
    const target = await makeUser();
    const row = await db.user.findUniqueOrThrow({ where: { id: target.id } });
    const before = await dbState();
    const error = await expectAppError(setUserDisabled(admin, { userId: target.id, disabled: "maybe" as never }), "INVALID_INPUT");
    expect(Object.keys(error.fieldErrors ?? {})).toEqual(["disabled"]);
    expect(await db.user.findUniqueOrThrow({ where: { id: target.id } })).toEqual(row);
    expect(await dbState()).toEqual(before);
  });

  it("answers NOT_FOUND for an unknown id, and writes nothing", async () => {
    const before = await dbState();
    await expectAppError(setUserDisabled(admin, { userId: "no-such-user", disabled: true }), "NOT_FOUND");
    expect(await dbState()).toEqual(before);
  });
});
