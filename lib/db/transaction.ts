import "server-only";
import { db, type DbTx } from "./client";

// Read-check-write transactions (a guard such as "one active Backup Administrator stays", a
// unique email, the audit chain's tail) are only sound when concurrent ones cannot interleave.
// SQLite runs write transactions one at a time; PostgreSQL's default READ COMMITTED does not,
// so there two such transactions can each pass their check on the old state (write skew), or
// collide on the audit chain's unique prevHash. Serializable isolation makes PostgreSQL abort
// one of them instead (P2034); a unique violation (P2002) means another writer won the race.
// Either way the loser runs again from the start and sees the winner's committed change.
const RETRYABLE = new Set(["P2034", "P2002"]);
const ATTEMPTS = 8;

/** `db.$transaction(fn)` at Serializable isolation, retried when a concurrent writer wins. `fn` must be safe to rerun (database work only). */
export async function serializableTransaction<T>(fn: (tx: DbTx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(fn, { isolationLevel: "Serializable" });
    } catch (e) {
      const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
      if (attempt >= ATTEMPTS || typeof code !== "string" || !RETRYABLE.has(code)) throw e;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
