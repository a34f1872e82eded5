import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { verifyPassword } from "@/lib/auth/password";
import { db } from "@/lib/db/client";
import { dbState, expectAppError } from "@/lib/testing/db-state";
import { makeActor, makeUser, uniqueEmail } from "@/lib/testing/factories";
import type { UserDto } from "./user-dto";
import { createUser } from "./create-user";

const DTO_KEYS = ["createdAt", "disabled", "email", "id", "lastSignInAt", "name", "role"];
const NEW_PASSWORD = "a brand new password 42";

let admin: Actor;
beforeAll(async () => {
  admin = await makeActor("BACKUP_ADMIN");
});

describe("createUser", () => {
  it("creates the user with a hashed password, returns a DTO without secrets, and audits it", async () => {
    const email = uniqueEmail("new");
    const dto = (await createUser(admin, { email: `  ${email.toUpperCase()} `, name: "  New Person ", role: "RESTORE_OPERATOR", password: NEW_PASSWORD })) as UserDto;

    expect(Object.keys(dto).sort()).toEqual(DTO_KEYS);
    expect(dto).toMatchObject({ email, name: "New Person", role: "RESTORE_OPERATOR", disabled: false, lastSignInAt: null });
    const row = await db.user.findUniqueOrThrow({ where: { id: dto.id } });
    expect(row.email).toBe(email);
    expect(row.passwordHash).not.toContain(NEW_PASSWORD);
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(row.passwordHash, NEW_PASSWORD)).toBe(true);

    const [event] = await db.auditEvent.findMany({ where: { action: "user.create", objectId: dto.id } });
    expect(event).toMatchObject({ actorId: admin.id, actorEmail: admin.email, sourceIp: admin.sourceIp, objectType: "user", outcome: "success" });
    expect(JSON.parse(event.details)).toEqual({ email, role: "RESTORE_OPERATOR" });
    expect(event.details).not.toContain(NEW_PASSWORD);
  });

  it("refuses a duplicate email (whatever its case) with CONFLICT and a field error, and writes nothing", async () => {
    const existing = await makeUser();
    const before = await dbState();
    const error = await expectAppError(
      createUser(admin, { email: existing.email.toUpperCase(), name: "Twin", role: "BACKUP_VIEWER", password: NEW_PASSWORD }),
      "CONFLICT",
    );
    expect(error.fieldErrors).toEqual({ email: [expect.any(String)] });
    expect(error.message).not.toContain(NEW_PASSWORD);
    expect(await db.user.count({ where: { email: existing.email } })).toBe(1);
    expect(await dbState()).toEqual(before);
  });

  it("refuses invalid input with INVALID_INPUT, an error per field, and writes nothing", async () => {
    const before = await dbState();
    const error = await expectAppError(
      createUser(admin, { email: "not-an-email", name: "   ", role: "ROOT" as never, password: "short" }),
      "INVALID_INPUT",
    );
    expect(Object.keys(error.fieldErrors ?? {}).sort()).toEqual(["email", "name", "password", "role"]);
    expect(error.message).not.toContain("short");
    expect(await dbState()).toEqual(before);
  });

  it("refuses a name with a right-to-left override, a zero-width space or a NUL (a direct POST, not the form), writing nothing", async () => {
    const before = await dbState();
    for (const name of ["Mallory \u202Enimda", "ad\u200Bmin", "x\u0000y"]) {
      const error = await expectAppError(createUser(admin, { email: uniqueEmail("hidden"), name, role: "BACKUP_VIEWER", password: NEW_PASSWORD }), "INVALID_INPUT");
      expect(error.fieldErrors?.name?.[0]).toMatch(/invisible or control character/);
    }
    expect(await dbState()).toEqual(before);
  });

  it("refuses a missing body and over-long values", async () => {
    const before = await dbState();
    await expectAppError(createUser(admin, undefined as never), "INVALID_INPUT");
    const error = await expectAppError(
      createUser(admin, { email: uniqueEmail(), name: "x".repeat(101), role: "BACKUP_VIEWER", password: "p".repeat(257) }),
      "INVALID_INPUT",
    );
    expect(Object.keys(error.fieldErrors ?? {}).sort()).toEqual(["name", "password"]);
    expect(await dbState()).toEqual(before);
  });
});
