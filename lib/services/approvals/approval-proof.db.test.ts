// Issue 13 (SEC-2): the approval password was not throttled, and an approval was not bound to one
// decision (a captured approve replayed with another request id approved that one). Now the
// password is throttled and audited like sign-in, and yields a single-use proof bound to one
// request and its payload hash, spent in the approval's transaction.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, makeUser, TEST_PASSWORD, uniqueIp } from "@/lib/testing/factories";
import { changeUserRole } from "../users/change-user-role";
import { payloadHash } from "./approval-payload";
import { confirmApprovalPassword } from "./confirm-approval-password";
import { approveRequest } from "./decide-approval";
import { writeFourEyes } from "./four-eyes-state";

type A = Awaited<ReturnType<typeof makeActor>>;
let admin: A, so1: A, so2: A;
beforeAll(async () => {
  admin = await makeActor("BACKUP_ADMIN");
  so1 = await makeActor("SECURITY_OFFICER");
  so2 = await makeActor("SECURITY_OFFICER");
});
beforeEach(async () => writeFourEyes(db, { enabled: true, expiryHours: 24 }));
afterAll(async () => writeFourEyes(db, { enabled: false, expiryHours: 24 }));

async function request() {
  const target = await makeUser({ role: "BACKUP_VIEWER" });
  const r = await changeUserRole(admin, { userId: target.id, role: "RESTORE_OPERATOR" });
  return { id: r.pendingApprovalId!, target };
}
const roleOf = async (id: string) => (await db.user.findUniqueOrThrow({ where: { id } })).role;
const stateOf = async (id: string) => (await db.approvalRequest.findUniqueOrThrow({ where: { id } })).state;

describe("the password on Approve", () => {
  it("is throttled like sign-in: a loop of wrong passwords, then the right one, approves nothing; it is audited", async () => {
    const officer = await makeActor("SECURITY_OFFICER");
    const r = await request();
    for (let i = 0; i < 5; i++) {
      const e = await expectAppError(confirmApprovalPassword(officer, { requestId: r.id, password: `guess ${i}` }), "FORBIDDEN");
      expect(e.message).toMatch(/not accepted/);
    }
    const e = await expectAppError(confirmApprovalPassword(officer, { requestId: r.id, password: TEST_PASSWORD }), "FORBIDDEN");
    expect(e.message).toMatch(/Too many wrong passwords/);
    expect(await db.approvalProof.count({ where: { requestId: r.id } })).toBe(0);
    expect(await stateOf(r.id)).toBe("pending");
    const events = await db.auditEvent.findMany({ where: { action: "approval.reauthenticate", actorId: officer.id }, orderBy: { seq: "asc" } });
    expect(events.map((ev) => [ev.outcome, JSON.parse(ev.details).reason])).toEqual([...Array(5).fill(["denied", "wrong password"]), ["denied", "throttled"]]);
    expect(await db.auditEvent.count({ where: { action: "auth.lock", actorId: officer.id } })).toBeGreaterThan(0);
    // The lock is per source: the officer at another desk is not locked out.
    const elsewhere = { ...officer, sourceIp: uniqueIp() };
    await confirmApprovalPassword(elsewhere, { requestId: r.id, password: TEST_PASSWORD });
  });
});

describe("the proof of the password", () => {
  it("is bound to one request: replayed with another request id, it approves nothing", async () => {
    const a = await request();
    const b = await request();
    const { proof } = await confirmApprovalPassword(so1, { requestId: a.id, password: TEST_PASSWORD });
    const e = await expectAppError(approveRequest(so1, { requestId: b.id, proof }), "FORBIDDEN");
    expect(e.message).toMatch(/Enter your password again/);
    expect(await stateOf(b.id)).toBe("pending");
    expect(await roleOf(b.target.id)).toBe("BACKUP_VIEWER");
    // Another officer cannot use it either.
    await expectAppError(approveRequest(so2, { requestId: a.id, proof }), "FORBIDDEN");
    await approveRequest(so1, { requestId: a.id, proof });
    expect(await roleOf(a.target.id)).toBe("RESTORE_OPERATOR");
  });

  it("is spent on use, and is bound to the payload hash it was given for", async () => {
    const a = await request();
    const b = await request();
    const { proof } = await confirmApprovalPassword(so1, { requestId: a.id, password: TEST_PASSWORD });
    await approveRequest(so1, { requestId: a.id, proof });
    expect((await db.approvalProof.findFirstOrThrow({ where: { requestId: a.id } })).spentAt).toBeInstanceOf(Date);
    await expectAppError(approveRequest(so1, { requestId: a.id, proof }), "CONFLICT"); // decided
    await expectAppError(approveRequest(so1, { requestId: b.id, proof }), "FORBIDDEN"); // spent, and for another request

    // The request swapped for another payload (with a matching hash) after the password was given.
    const p2 = await confirmApprovalPassword(so1, { requestId: b.id, password: TEST_PASSWORD });
    const swapped = { userId: b.target.id, role: "BACKUP_ADMIN" };
    await db.approvalRequest.update({ where: { id: b.id }, data: { payload: JSON.stringify(swapped), payloadHash: payloadHash("user.role", b.target.id, swapped) } });
    await expectAppError(approveRequest(so1, { requestId: b.id, proof: p2.proof }), "FORBIDDEN");
    expect(await roleOf(b.target.id)).toBe("BACKUP_VIEWER");
  });

  it("expires", async () => {
    const a = await request();
    const { proof } = await confirmApprovalPassword(so1, { requestId: a.id, password: TEST_PASSWORD });
    await db.approvalProof.updateMany({ where: { requestId: a.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expectAppError(approveRequest(so1, { requestId: a.id, proof }), "FORBIDDEN");
    expect(await stateOf(a.id)).toBe("pending");
  });

  it("is never stored in clear", async () => {
    const a = await request();
    const { proof } = await confirmApprovalPassword(so1, { requestId: a.id, password: TEST_PASSWORD });
    const row = await db.approvalProof.findFirstOrThrow({ where: { requestId: a.id } });
    expect(JSON.stringify(row)).not.toContain(proof);
    expect(await db.auditEvent.count({ where: { details: { contains: proof } } })).toBe(0);
  });
});
