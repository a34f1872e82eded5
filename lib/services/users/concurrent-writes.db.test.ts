import { describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { verifyAuditChain } from "@/lib/services/audit/verify-audit-chain";
import { makeActor, makeUser, uniqueEmail } from "@/lib/testing/factories";
import { changeUserRole } from "./change-user-role";
import { createUser } from "./create-user";
import { resetUserPassword } from "./reset-user-password";
import { setUserDisabled } from "./set-user-disabled";

// Every user-management write appends to the audit chain inside its transaction, so concurrent
// writes race for the chain's tail. On PostgreSQL the loser must run again, not fail.
describe("concurrent user-management writes", () => {
  it("all succeed, each is audited once, and the chain stays intact", async () => {
    const [admin1, admin2] = await Promise.all([makeActor("BACKUP_ADMIN"), makeActor("BACKUP_ADMIN")]);
    const targets = await Promise.all([makeUser(), makeUser(), makeUser(), makeUser()]);
    const email = uniqueEmail("concurrent");

    const results = await Promise.allSettled([
      changeUserRole(admin1, { userId: targets[0].id, role: "RESTORE_OPERATOR" }),
      setUserDisabled(admin2, { userId: targets[1].id, disabled: true }),
      resetUserPassword(admin1, { userId: targets[2].id, password: "another long password" }),
      changeUserRole(admin2, { userId: targets[3].id, role: "SECURITY_OFFICER" }),
      createUser(admin1, { email, name: "Concurrent", role: "BACKUP_VIEWER", password: "yet another long password" }),
    ]);
    expect(results.map((r) => (r.status === "rejected" ? String(r.reason).slice(0, 200) : "ok"))).toEqual(Array(5).fill("ok"));

    for (const t of targets) expect(await db.auditEvent.count({ where: { objectId: t.id } })).toBe(1);
    expect(await db.auditEvent.count({ where: { action: "user.create", details: { contains: email } } })).toBe(1);
    expect(await verifyAuditChain(admin1)).toMatchObject({ ok: true, firstBrokenSeq: null });
  });

  it("two creations of the same email at once: one user, one CONFLICT with a field error", async () => {
    const admin = await makeActor("BACKUP_ADMIN");
    const email = uniqueEmail("twin");
    const input = { email, name: "Twin", role: "BACKUP_VIEWER" as const, password: "a long enough password" };
    const results = await Promise.allSettled([createUser(admin, input), createUser(admin, input)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
    expect(refused.reason).toMatchObject({ name: "AppError", code: "CONFLICT", fieldErrors: { email: [expect.any(String)] } });
    expect(await db.user.count({ where: { email } })).toBe(1);
  });
});
