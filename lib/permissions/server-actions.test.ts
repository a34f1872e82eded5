// Every server action (SEC-1, issue 13): all exported functions of every "use server" file under
// app/ are found by scanning the sources; each must pass the action gate under a name listed in
// ACTION_PERMISSIONS (exactly once), and is called as each role the permission map does not grant
// that permission: it must refuse before touching anything, saying who to ask. Without an Origin
// header (a forged cross-site POST) every action refuses, whatever the role.
import fs from "node:fs";
import path from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { ACTION_PERMISSIONS, type ActionName } from "./actions";
import { hasPermission, ROLE_LABELS, ROLES, type Role } from "./roles";

const state = vi.hoisted(() => ({ actor: null as Actor | null, headers: {} as Record<string, string>, audited: [] as unknown[] }));
vi.mock("next/headers", () => ({ headers: async () => new Headers(state.headers), cookies: async () => ({ get: () => undefined, getAll: () => [] }) }));
vi.mock("next/cache", () => ({ revalidatePath: () => undefined, revalidateTag: () => undefined }));
vi.mock("@/lib/auth/session", () => ({ getActor: async () => state.actor, requireActor: async () => state.actor }));
vi.mock("@/lib/services/audit/record-audit-event", () => ({ recordAuditEvent: async (e: unknown) => void state.audited.push(e) }));

const root = path.resolve(__dirname, "../..");
const appDir = path.join(root, "app");
const actionFiles = (fs.readdirSync(appDir, { recursive: true }) as string[])
  .filter((f) => /\.tsx?$/.test(f))
  .map((f) => path.join(appDir, f))
  .filter((f) => /^\s*["']use server["']/.test(fs.readFileSync(f, "utf8")));

/** Each exported function of a "use server" file, with the action name its source gives the gate. */
function declaredActions(file: string): { exportName: string; action: string | null }[] {
  const source = fs.readFileSync(file, "utf8");
  return source
    .split(/\nexport /)
    .slice(1)
    .flatMap((chunk) => {
      const m = /^(?:const (\w+) = validatedAction\(\s*"([^"]+)"|async function (\w+)\([\s\S]*?actionGate\("([^"]+)"\)|async function (\w+))/.exec(chunk);
      if (!m) return []; // a type or interface
      return [{ exportName: (m[1] ?? m[3] ?? m[5])!, action: m[2] ?? m[4] ?? null }];
    });
}

const found = actionFiles.flatMap((file) => declaredActions(file).map((a) => ({ file: path.relative(root, file), ...a })));
const actorOf = (role: Role): Actor => ({ id: `u-${role}`, email: `${role.toLowerCase()}@test.local`, name: role, role, sourceIp: "10.0.0.1" });
const SAME_ORIGIN = { origin: "http://localhost:3000", host: "localhost:3000" };

async function load(file: string, exportName: string): Promise<(...args: unknown[]) => Promise<unknown>> {
  const mod = (await import(path.join(root, file))) as Record<string, unknown>;
  const fn = mod[exportName];
  expect(typeof fn, `${file}#${exportName}`).toBe("function");
  return fn as (...args: unknown[]) => Promise<unknown>;
}
/** What the person would read: a wrapped action's formError, or a plain action's error. */
async function refusalOf(fn: (...args: unknown[]) => Promise<unknown>): Promise<string | undefined> {
  const r = (await (fn.length >= 2 ? fn(null, new FormData()) : fn({}))) as { ok?: boolean; formError?: string; error?: string } | null;
  expect(r?.ok, "the action went through").toBe(false);
  return r?.formError ?? r?.error;
}

beforeEach(() => {
  state.actor = null;
  state.headers = { ...SAME_ORIGIN };
  state.audited = [];
});

describe("the table of server actions", () => {
  it("finds the action files", () => {
    expect(actionFiles.length).toBeGreaterThan(10);
    expect(found.length).toBeGreaterThan(30);
  });

  it("every exported function of a \"use server\" file passes the gate under a listed name, each name once", () => {
    expect(found.filter((a) => !a.action).map((a) => `${a.file}#${a.exportName}`), "actions that do not go through validatedAction or actionGate").toEqual([]);
    const names = found.map((a) => a.action!);
    expect(names.filter((n) => !(n in ACTION_PERMISSIONS)), "action names missing from ACTION_PERMISSIONS").toEqual([]);
    expect(Object.keys(ACTION_PERMISSIONS).filter((n) => !names.includes(n)), "table entries no action uses").toEqual([]);
    expect(names.filter((n, i) => names.indexOf(n) !== i), "names used twice").toEqual([]);
  });

  it("Check now of a KMS cluster needs keyprovider:manage, not just inventory:read", () => {
    expect(ACTION_PERMISSIONS["kms.check"]).toBe("keyprovider:manage");
  });

  it("failover: Restore Operators check, fail over and undo; only Backup Administrators make it permanent; Viewers none (FOV-1)", () => {
    const may = (action: ActionName) => ROLES.filter((r) => hasPermission(r, ACTION_PERMISSIONS[action]));
    for (const a of ["failover.check", "failover.start", "failover.planned", "failover.undo"] as const) expect(may(a)).toEqual(["BACKUP_ADMIN", "RESTORE_OPERATOR"]);
    expect(may("failover.permanent")).toEqual(["BACKUP_ADMIN"]);
    expect(found.filter((f) => f.file.endsWith("failover-actions.ts")).map((f) => f.action).sort()).toEqual(["failover.check", "failover.permanent", "failover.planned", "failover.start", "failover.undo"]);
  });

  it("failback: only Backup Administrators fail back, commit and undo; Restore Operators and Viewers none (FBK-1)", () => {
    const may = (action: ActionName) => ROLES.filter((r) => hasPermission(r, ACTION_PERMISSIONS[action]));
    for (const a of ["failback.start", "failback.commit", "failback.undo"] as const) expect(may(a)).toEqual(["BACKUP_ADMIN"]);
    expect(found.filter((f) => f.file.endsWith("failback-actions.ts")).map((f) => f.action).sort()).toEqual(["failback.commit", "failback.start", "failback.undo"]);
  });
});

const cases = found.filter((a) => a.action).map((a) => ({ ...a, permission: ACTION_PERMISSIONS[a.action as ActionName] }));

describe.each(cases)("$file#$exportName ($action needs $permission)", ({ file, exportName, permission }) => {
  const denied = ROLES.filter((r) => !hasPermission(r, permission));
  it.each(denied.length ? denied : ["(no role is refused)" as Role])("refuses %s and says who to ask", async (role) => {
    if (!ROLES.includes(role)) return;
    const fn = await load(file, exportName);
    state.actor = actorOf(role);
    const message = await refusalOf(fn);
    expect(message).toContain(ROLE_LABELS[role]);
    const ask = message!.split("Ask ")[1] ?? "";
    for (const r of ROLES) expect(ask.includes(ROLE_LABELS[r]), `${r} named as someone to ask?`).toBe(hasPermission(r, permission));
    expect(state.audited).toMatchObject([{ outcome: "denied" }]);
  });

  it("refuses a request without an Origin header, even from a role that may", async () => {
    const fn = await load(file, exportName);
    state.actor = actorOf(ROLES.find((r) => hasPermission(r, permission))!);
    state.headers = { host: "localhost:3000" };
    expect(await refusalOf(fn)).toMatch(/without an Origin header/);
    state.headers = { host: "localhost:3000", origin: "https://evil.example" };
    expect(await refusalOf(fn)).toMatch(/another site/);
  });
});
