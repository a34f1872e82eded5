import "server-only";
import { hash, verify } from "@node-rs/argon2";

// Argon2id with OWASP's baseline (19 MiB, t=2, p=1): memory-hard, ~40 ms here per sign-in.
// See docs/decisions/0002-password-hashing.md. Parameters are stored in the PHC string, so they
// can be raised later without breaking existing hashes.
const PARAMS = { algorithm: 2 /* Argon2id */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false; // a malformed stored hash never signs anyone in
  }
}

// Verifying against this when the user does not exist keeps the response time the same, so
// timing does not reveal which email addresses have accounts.
let dummyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword("strongroom-timing-equaliser");
  await verifyPassword(await dummyHash, password);
}
