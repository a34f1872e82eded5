import { afterEach, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { dbState, expectAppError } from "@/lib/testing/db-state";
import { makeActor, makeUser } from "@/lib/testing/factories";
import { changeUserRole } from "./change-user-role";
import { setUserDisabled } from "./set-user-disabled";

// "At least one active Backup Administrator stays" is checked against the whole table, which
// other tests fill with administrators of their own. These tests take the others out of play for
// a moment (disabled) and put them back afterwards.
let restore: (() => Promise<unknown>) | null = null;

async function makeOnlyActiveAdmin(keepId: string): Promise<void> {
  const others = await db.user.findMany({ where: { role: "BACKUP_ADMIN", disabled: false, id: { not: keepId } }, select: { id: true } });
  const ids = others.map((o) => o.id);
  await db.user.updateMany({ where: { id: { in: ids } }, data: { disabled: true } });
  restore = () => db.user.updateMany({ where: { id: { in: ids } }, data: { disabled: false } });
  expect(await db.user.count({ where: { role: "BACKUP_ADMIN", disabled: false } })).toBe(1);
}

afterEach(async () => {
  await restore?.();
  restore = null;
});

describe("the last active Backup Administrator", () => {
  // The acting administrator is a session that is still in flight while its own account was
  // disabled (or a request racing with that): the guard must hold even then.
  it("cannot be demoted: CONFLICT, and nothing changes", async () => {
    const actor = await makeActor("BACKUP_ADMIN");
    const last = await makeUser({ role: "BACKUP_ADMIN" });
    await makeOnlyActiveAdmin(last.id);
    const row = await db.user.findUniqueOrThrow({ where: { id: last.id } });
    const before = await dbState();

    const error = await expectAppError(changeUserRole(actor, { userId: last.id, role: "BACKUP_VIEWER" }), "CONFLICT");
    expect(error.message).toMatch(/no active Backup Administrator/);
    expect(await db.user.findUniqueOrThrow({ where: { id: last.id } })).toEqual(row);
    expect(await dbState()).toEqual(before);
  });

  it("cannot be disabled: CONFLICT, and nothing changes (not even the session version)", async () => {
    const actor = await makeActor("BACKUP_ADMIN");
    const last = await makeUser({ role: "BACKUP_ADMIN" });
    await makeOnlyActiveAdmin(last.id);
    const row = await db.user.findUniqueOrThrow({ where: { id: last.id } });
    const before = await dbState();

    await expectAppError(setUserDisabled(actor, { userId: last.id, disabled: true }), "CONFLICT");
    expect(await db.user.findUniqueOrThrow({ where: { id: last.id } })).toEqual(row);
    expect(await dbState()).toEqual(before);
  });

  it("can still be demoted or disabled while another active administrator remains", async () => {
    const actor = await makeActor("BACKUP_ADMIN");
    const a = await makeUser({ role: "BACKUP_ADMIN" });
    const b = await makeUser({ role: "BACKUP_ADMIN" });
    await makeOnlyActiveAdmin(actor.id); // actor, a and b: then a and b come back
    await db.user.updateMany({ where: { id: { in: [a.id, b.id] } }, data: { disabled: false } });

    await expect(changeUserRole(actor, { userId: a.id, role: "BACKUP_VIEWER" })).resolves.toMatchObject({ role: "BACKUP_VIEWER" });
    await expect(setUserDisabled(actor, { userId: b.id, disabled: true })).resolves.toMatchObject({ disabled: true });
    // Only the actor is left: it cannot act on itself, and there is no one else to demote.
    expect(await db.user.count({ where: { role: "BACKUP_ADMIN", disabled: false } })).toBe(1);
  });

  it("holds when two administrators are demoted and disabled at the same moment: one wins, the other gets CONFLICT", async () => {
    // Each transaction alone leaves one administrator; both together would leave none (write skew).
    for (let round = 0; round < 3; round++) {
      const actor = await makeActor("BACKUP_ADMIN");
      const a = await makeUser({ role: "BACKUP_ADMIN" });
      const b = await makeUser({ role: "BACKUP_ADMIN" });
      await makeOnlyActiveAdmin(a.id);
      await db.user.update({ where: { id: b.id }, data: { disabled: false } });
      await db.user.update({ where: { id: actor.id }, data: { disabled: true } });

      const results = await Promise.allSettled([
        changeUserRole(actor, { userId: a.id, role: "BACKUP_VIEWER" }),
        setUserDisabled(actor, { userId: b.id, disabled: true }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const refused = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
      expect(refused.reason).toMatchObject({ name: "AppError", code: "CONFLICT" });
      expect(await db.user.count({ where: { role: "BACKUP_ADMIN", disabled: false } })).toBe(1);

      await restore!();
      restore = null;
    }
  });
});
