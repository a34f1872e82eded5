import { describe, expect, expectTypeOf, it } from "vitest";
import { AppError } from "@/lib/errors/app-error";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { hasPermission, PERMISSIONS, permissionsOf, ROLE_LABELS, ROLE_PERMISSIONS, ROLES, type Permission, type Role } from "./roles";

// The permission map written out by hand. Changing lib/permissions/roles.ts must change this table too:
// a grant or a revocation is a security decision and shows up in review twice.
//
//                    inventory: inventory: keyprovider: vm:      user:  user:    audit: job:  job:    restore: failover: failover:  failback: approval: keyset: signin:
//                    read       sync       manage       operate  read   manage   read   read  manage  run      run       permanent  run       decide    manage  unlock
const COLUMNS = ["inventory:read", "inventory:sync", "keyprovider:manage", "vm:operate", "user:read", "user:manage", "audit:read", "job:read", "job:manage", "restore:run", "failover:run", "failover:permanent", "failback:run", "approval:decide", "keyset:manage", "signin:unlock"] as const;
const EXPECTED: Record<Role, readonly (0 | 1)[]> = {
  BACKUP_ADMIN: /*  */ [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1], // four-eyes: the administrator never approves (SEC-2); nor holds the keysets' private keys (KEY-6)
  RESTORE_OPERATOR: [1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0], // fails over and undoes; never makes a failover permanent (it drops the source from its job) nor fails back (it overwrites production)
  BACKUP_VIEWER: /* */ [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
  SECURITY_OFFICER: [1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1], // keyset:manage: exporting a private key that opens every backup is a Security Officer's act; signin:unlock: a locked-out administrator has a way back
};

const actor = (role: Role): Actor => ({ id: `u-${role}`, email: `${role}@test.local`, name: role, role, sourceIp: null });

describe("the permission map", () => {
  it("has exactly the four roles and the permissions the table above lists", () => {
    expect([...ROLES]).toEqual(["BACKUP_ADMIN", "RESTORE_OPERATOR", "BACKUP_VIEWER", "SECURITY_OFFICER"]);
    expect([...PERMISSIONS].sort()).toEqual([...COLUMNS].sort());
    expect(Object.keys(ROLE_PERMISSIONS).sort()).toEqual([...ROLES].sort());
    expect(Object.keys(ROLE_LABELS).sort()).toEqual([...ROLES].sort());
    expect(Object.keys(EXPECTED).sort()).toEqual([...ROLES].sort());
    for (const role of ROLES) expect(EXPECTED[role]).toHaveLength(COLUMNS.length);
  });

  const cells = ROLES.flatMap((role) => COLUMNS.map((permission, i) => ({ role, permission, granted: EXPECTED[role][i] === 1 })));
  it.each(cells)("$role × $permission → $granted", ({ role, permission, granted }) => {
    expect(hasPermission(role, permission)).toBe(granted);
    expect(permissionsOf(role).includes(permission)).toBe(granted);
  });

  it("grants only known permission strings, each once", () => {
    for (const role of ROLES) {
      const granted: readonly string[] = ROLE_PERMISSIONS[role];
      for (const p of granted) expect(PERMISSIONS as readonly string[], `${role} grants unknown ${p}`).toContain(p);
      expect(new Set(granted).size, `${role} lists a permission twice`).toBe(granted.length);
    }
  });

  it("never grants a string outside the map, whatever the caller passes", () => {
    for (const role of ROLES) {
      expect(hasPermission(role, "inventory:delete" as Permission)).toBe(false);
      expect(hasPermission(role, "" as Permission)).toBe(false);
      expect(hasPermission(role, "*" as Permission)).toBe(false);
    }
  });

  it("hands out copies, so a caller cannot widen a role", () => {
    const mine = permissionsOf("BACKUP_VIEWER");
    mine.push("user:manage");
    expect(hasPermission("BACKUP_VIEWER", "user:manage")).toBe(false);
  });

  it("is typed by `satisfies Record<Role, readonly Permission[]>`: every role, only known permissions", () => {
    expectTypeOf<keyof typeof ROLE_PERMISSIONS>().toEqualTypeOf<Role>();
    expectTypeOf<(typeof ROLE_PERMISSIONS)[Role][number]>().toExtend<Permission>();
    // What the compiler refuses (tsc --noEmit checks these lines; vitest only runs them):
    // @ts-expect-error an unknown permission string
    const unknownPermission = { ...ROLE_PERMISSIONS, BACKUP_VIEWER: ["inventory:read", "vm:delete"] } satisfies Record<Role, readonly Permission[]>;
    // @ts-expect-error a role left out of the map
    const missingRole = { BACKUP_ADMIN: [], RESTORE_OPERATOR: [], BACKUP_VIEWER: [] } satisfies Record<Role, readonly Permission[]>;
    // @ts-expect-error a role that does not exist
    const unknownRole = { ...ROLE_PERMISSIONS, AUDITOR: [] } satisfies Record<Role, readonly Permission[]>;
    // @ts-expect-error hasPermission takes only known permissions
    hasPermission("BACKUP_ADMIN", "vm:delete");
    expect([unknownPermission, missingRole, unknownRole]).toHaveLength(3);
  });
});

describe("authorize()", () => {
  it("throws UNAUTHENTICATED without an actor", () => {
    for (const nobody of [null, undefined]) {
      let error: unknown;
      try {
        authorize(nobody, "inventory:read");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe("UNAUTHENTICATED");
      expect((error as AppError).status).toBe(401);
    }
  });

  const cells = ROLES.flatMap((role) => COLUMNS.map((permission, i) => ({ role, permission, granted: EXPECTED[role][i] === 1 })));
  it.each(cells)("$role × $permission: allowed = $granted", ({ role, permission, granted }) => {
    if (granted) {
      expect(() => authorize(actor(role), permission)).not.toThrow();
      return;
    }
    let error: unknown;
    try {
      authorize(actor(role), permission);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("FORBIDDEN");
    expect((error as AppError).status).toBe(403);
    // The message names the role (as people call it) and the missing permission.
    expect((error as AppError).message).toContain(ROLE_LABELS[role]);
    expect((error as AppError).message).toContain(permission);
    // …and who to ask, read from the map: only roles that hold the permission are named.
    const holders = ROLES.filter((r) => EXPECTED[r][COLUMNS.indexOf(permission)] === 1);
    const ask = (error as AppError).message.split("Ask ")[1] ?? "";
    for (const r of ROLES) expect(ask.includes(ROLE_LABELS[r]), `${permission}: ${r} named?`).toBe(holders.includes(r));
  });

  it("sends people to a Security Officer for what only Security Officers may do", () => {
    expect(() => authorize(actor("BACKUP_ADMIN"), "approval:decide")).toThrow(/Ask a Security Officer\.$/);
    expect(() => authorize(actor("BACKUP_VIEWER"), "keyset:manage")).toThrow(/Ask a Security Officer\.$/);
    expect(() => authorize(actor("BACKUP_VIEWER"), "user:manage")).toThrow(/Ask a Backup Administrator\.$/);
    expect(() => authorize(actor("BACKUP_VIEWER"), "signin:unlock")).toThrow(/Ask a Backup Administrator or a Security Officer\.$/);
  });
});
