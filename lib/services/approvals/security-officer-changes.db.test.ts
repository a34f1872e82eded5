// Issue 13 (SEC-2): one Backup Administrator could approve their own request by creating a new
// Security Officer, resetting an officer's password or re-enabling a disabled one, then signing in
// as it. While four-eyes is on, those changes are requests themselves, and an officer whose account
// or credentials came from the requester never approves that requester's requests.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { approveWithPassword } from "@/lib/testing/approve";
import { expectAppError } from "@/lib/testing/db-state";
import { actorFor, makeActor, makeUser, TEST_PASSWORD, uniqueEmail, uniqueIp } from "@/lib/testing/factories";
import { signIn } from "../auth/sign-in";
import { changeUserRole } from "../users/change-user-role";
import { createUser } from "../users/create-user";
import { resetUserPassword } from "../users/reset-user-password";
import { setUserDisabled } from "../users/set-user-disabled";
import { confirmApprovalPassword } from "./confirm-approval-password";
import { writeFourEyes } from "./four-eyes-state";
import { listApprovalRequests } from "./list-approval-requests";

type A = Awaited<ReturnType<typeof makeActor>>;
let admin: A, so1: A, so2: A;
const MINE = "admin-chosen-password-1";

beforeAll(async () => {
  admin = await makeActor("BACKUP_ADMIN");
  so1 = await makeActor("SECURITY_OFFICER");
  so2 = await makeActor("SECURITY_OFFICER");
});
beforeEach(async () => writeFourEyes(db, { enabled: true, expiryHours: 24 }));
afterAll(async () => writeFourEyes(db, { enabled: false, expiryHours: 24 }));

/** A request of the administrator's that an officer might be tempted to approve. */
async function adminRequest() {
  const target = await makeUser({ role: "BACKUP_VIEWER" });
  const r = await changeUserRole(admin, { userId: target.id, role: "RESTORE_OPERATOR" });
  expect(r.pendingApprovalId).toBeTruthy();
  return { requestId: r.pendingApprovalId!, target };
}

describe("changes to who the Security Officers are, under four-eyes", () => {
  it("a new Security Officer is a request; once approved, it still cannot approve its creator's requests", async () => {
    const { requestId, target } = await adminRequest();
    const email = uniqueEmail("made-by-admin");
    const created = await createUser(admin, { email, name: "Puppet officer", role: "SECURITY_OFFICER", password: MINE });
    expect("pendingApprovalId" in created && created.pendingApprovalId).toBeTruthy();
    expect(await db.user.findUnique({ where: { email } })).toBeNull();
    // Another officer approves the creation; the account exists and signs in …
    await approveWithPassword(so1, { requestId: (created as { pendingApprovalId: string }).pendingApprovalId, password: TEST_PASSWORD });
    const puppet = await db.user.findUniqueOrThrow({ where: { email } });
    expect(puppet).toMatchObject({ role: "SECURITY_OFFICER", createdById: admin.id });
    expect(await signIn({ email, password: MINE }, uniqueIp())).not.toBeNull();
    // … but the administrator, signed in as it, cannot approve their own request.
    const e = await expectAppError(confirmApprovalPassword(actorFor(puppet), { requestId, password: MINE }), "FORBIDDEN");
    expect(e.message).toMatch(/created by .*who made this request/);
    expect((await db.user.findUniqueOrThrow({ where: { id: target.id } })).role).toBe("BACKUP_VIEWER");
    // The inbox says why, and offers no Approve.
    const item = (await listApprovalRequests(actorFor(puppet), { scope: "inbox" })).find((r) => r.id === requestId)!;
    expect(item.canDecide).toBe(false);
    expect(item.refusal).toMatch(/another Security Officer must/);
    // An independent officer still can.
    await approveWithPassword(so2, { requestId, password: TEST_PASSWORD });
    expect((await db.user.findUniqueOrThrow({ where: { id: target.id } })).role).toBe("RESTORE_OPERATOR");
  });

  it("resetting a Security Officer's password is a request; the officer it was set for cannot approve the resetter", async () => {
    const officer = await makeActor("SECURITY_OFFICER");
    const reset = await resetUserPassword(admin, { userId: officer.id, password: MINE });
    expect(reset.pendingApprovalId).toBeTruthy();
    // Nothing changed yet: the old password still works, the new one does not.
    expect(await signIn({ email: officer.email, password: MINE }, uniqueIp())).toBeNull();
    await approveWithPassword(so1, { requestId: reset.pendingApprovalId!, password: TEST_PASSWORD });
    expect(await signIn({ email: officer.email, password: MINE }, uniqueIp())).not.toBeNull();
    expect((await db.user.findUniqueOrThrow({ where: { id: officer.id } })).passwordChangedById).toBe(admin.id);
    const { requestId } = await adminRequest();
    const e = await expectAppError(confirmApprovalPassword(officer, { requestId, password: MINE }), "FORBIDDEN");
    expect(e.message).toMatch(/password was last set by/);
  });

  it("enabling a disabled Security Officer is a request; promoting to Security Officer marks who promoted", async () => {
    const officer = await makeActor("SECURITY_OFFICER", { disabled: true });
    const enabled = await setUserDisabled(admin, { userId: officer.id, disabled: false });
    expect(enabled.pendingApprovalId).toBeTruthy();
    expect((await db.user.findUniqueOrThrow({ where: { id: officer.id } })).disabled).toBe(true);
    await approveWithPassword(so2, { requestId: enabled.pendingApprovalId!, password: TEST_PASSWORD });
    expect(await db.user.findUniqueOrThrow({ where: { id: officer.id } })).toMatchObject({ disabled: false, enabledChangedById: admin.id });
    const { requestId } = await adminRequest();
    await expectAppError(confirmApprovalPassword(officer, { requestId, password: TEST_PASSWORD }), "FORBIDDEN");

    const viewer = await makeActor("BACKUP_VIEWER");
    const promoted = await changeUserRole(admin, { userId: viewer.id, role: "SECURITY_OFFICER" });
    await approveWithPassword(so1, { requestId: promoted.pendingApprovalId!, password: TEST_PASSWORD });
    const e = await expectAppError(confirmApprovalPassword({ ...viewer, role: "SECURITY_OFFICER" }, { requestId, password: TEST_PASSWORD }), "FORBIDDEN");
    expect(e.message).toMatch(/role was last changed by/);
  });

  it("with four-eyes off, the same changes apply at once and are still recorded", async () => {
    await writeFourEyes(db, { enabled: false, expiryHours: 24 });
    const email = uniqueEmail("direct-so");
    const created = await createUser(admin, { email, name: "Direct officer", role: "SECURITY_OFFICER", password: MINE });
    expect("pendingApprovalId" in created).toBe(false);
    expect(await db.user.findUniqueOrThrow({ where: { email } })).toMatchObject({ createdById: admin.id, passwordChangedById: admin.id });
  });
});
