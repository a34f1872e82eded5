// Test data factories (ARCHITECTURE.md "factories make unique data so tests never depend on each
// other"). Every user gets a fresh email, every actor a fresh source address (so the per-address
// sign-in throttle of one test never locks out another). For the `db` test project only: these
// write straight to the database the run created (lib/testing/db-global-setup.ts).
import crypto from "node:crypto";
import type { Actor } from "@/lib/auth/actor";
import { hashPassword } from "@/lib/auth/password";
import type { Role } from "@/lib/permissions/roles";
import { db } from "@/lib/db/client";
import type { User } from "@/prisma/generated/sqlite/client";

/** The password every factory user has unless told otherwise (≥ 12 characters, as the schema asks). */
export const TEST_PASSWORD = "correct horse battery staple";

let counter = 0;

/** Unique within the run (and across runs sharing a database): time, a counter and randomness. */
export function uniqueSuffix(): string {
  counter += 1;
  return `${Date.now().toString(36)}${counter.toString(36)}${crypto.randomBytes(3).toString("hex")}`;
}

export function uniqueEmail(label = "user"): string {
  return `${label}-${uniqueSuffix()}@test.strongroom.local`;
}

/** A unique address in 10.0.0.0/8, for sourceIp. */
export function uniqueIp(): string {
  const [a, b, c] = crypto.randomBytes(3);
  return `10.${a}.${b}.${c === 0 || c === 255 ? 1 : c}`;
}

// Argon2 costs ~40 ms a hash: hash each distinct password once per worker and reuse it.
const hashes = new Map<string, Promise<string>>();
export function passwordHashOf(password: string): Promise<string> {
  let h = hashes.get(password);
  if (!h) {
    h = hashPassword(password);
    hashes.set(password, h);
  }
  return h;
}

export interface MakeUserOptions {
  role?: Role;
  email?: string;
  name?: string;
  password?: string;
  disabled?: boolean;
}

export type TestUser = User & { password: string };

/** A new user row (written directly: the user services are what the tests exercise). */
export async function makeUser(options: MakeUserOptions = {}): Promise<TestUser> {
  const role = options.role ?? "BACKUP_VIEWER";
  const password = options.password ?? TEST_PASSWORD;
  const email = (options.email ?? uniqueEmail(role.toLowerCase().replace(/_/g, "-"))).toLowerCase();
  const user = await db.user.create({
    data: {
      email,
      name: options.name ?? `Test ${role} ${email.split("@")[0]}`,
      role,
      passwordHash: await passwordHashOf(password),
      disabled: options.disabled ?? false,
    },
  });
  return { ...user, password };
}

/** The Actor a service would receive for this user (as lib/auth/session.ts builds it). */
export function actorFor(user: { id: string; email: string; name: string; role: Role }, sourceIp: string | null = uniqueIp()): Actor {
  return { id: user.id, email: user.email, name: user.name, role: user.role, sourceIp };
}

/** A signed-in user of the given role: the row exists in the database, the actor is ready to use. */
export async function makeActor(role: Role, options: Omit<MakeUserOptions, "role"> = {}): Promise<Actor & { user: TestUser }> {
  const user = await makeUser({ ...options, role });
  return { ...actorFor(user), user };
}
