import "server-only";
// Database errors that mean "not now" rather than "no": the server cannot be reached or closed the
// connection, every connection is taken (PostgreSQL 53300 "too many clients", a pool whose wait
// ran out), a transaction could not start in time, a serialization conflict, or SQLite is busy.
// Long work that meets one is tried again by the job queue (with its retry back-off) instead of
// being reported failed: nothing about the work itself was wrong.
//
// Prisma reports these through its driver adapters in several shapes: a known request error with
// a P-code, a DriverAdapterError whose `cause.kind` names the case, or the driver's own error
// (pg's SQLSTATE in `code`, a socket's errno code, better-sqlite3's SQLITE_BUSY) somewhere in the
// `cause` / `meta.driverAdapterError` chain. Each is looked at, a few levels deep.

/** Prisma error codes that are about the connection, not the query. */
const PRISMA_CODES = new Set([
  "P1001", // can't reach the database server
  "P1002", // the server was reached but timed out
  "P1008", // operation timed out (the SQLite adapter maps SQLITE_BUSY here)
  "P1017", // the server closed the connection
  "P2024", // timed out fetching a connection from the pool
  "P2034", // write conflict or deadlock: retry the transaction
  "P2037", // too many database connections opened
]);

/** DriverAdapterError kinds (Prisma's driver adapters) that are transient. */
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections", "TransactionWriteConflict"]);

/** PostgreSQL SQLSTATEs: too many connections, shutdown / cannot connect now, serialization failure, deadlock. */
const SQLSTATES = new Set(["53300", "53400", "57P01", "57P02", "57P03", "40001", "40P01"]);

/**
 * SQLite's busy and locked codes. Bare socket codes (ECONNRESET …) are not here: a disk transport
 * or a KMS fails with those too, and Prisma's adapters turn a database socket's into a kind above.
 */
const SYSTEM_CODES = new Set(["SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_TIMEOUT", "SQLITE_LOCKED"]);

/** Messages of the same cases where no code survived the wrapping (pg's pool, Prisma's transaction manager). */
const MESSAGES = [
  /too many clients/i,
  /remaining connection slots are reserved/i,
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Can't reach database server/i,
  /Server has closed the connection/i,
  /Timed out fetching a new connection/i,
  /Unable to start a transaction in the given time/i,
  /database is locked/i,
  /terminating connection due to administrator command/i,
];

type Loose = { code?: unknown; kind?: unknown; message?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } };

/** True for a database error that another try, a moment later, may not meet. */
export function isTransientDbError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length && seen.size < 12) {
    const e = queue.shift();
    if (!e || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const x = e as Loose;
    if (typeof x.code === "string" && (PRISMA_CODES.has(x.code) || SQLSTATES.has(x.code) || SYSTEM_CODES.has(x.code) || /^08/.test(x.code))) return true;
    if (typeof x.kind === "string" && ADAPTER_KINDS.has(x.kind)) return true;
    // A driver error Prisma did not map (kind "postgres" / "sqlite") keeps the driver's code beside it.
    const original = (x as { originalCode?: unknown; extendedCode?: unknown }).originalCode;
    if (typeof original === "string" && (SQLSTATES.has(original) || SYSTEM_CODES.has(original) || /^08/.test(original))) return true;
    if (x.kind === "sqlite" && [5, 6, 517, 261].includes(Number((x as { extendedCode?: unknown }).extendedCode))) return true;
    if (typeof x.message === "string" && MESSAGES.some((m) => m.test(x.message as string))) return true;
    queue.push(x.cause, x.meta?.driverAdapterError);
  }
  return false;
}

/**
 * Runs `fn`, and again after 0.5 s, 1 s, 2 s … while it fails with a transient database error
 * (`tries` in all). For short writes that must land (a point's catalogue row once the point file
 * exists); `fn` must be safe to rerun.
 */
export async function withTransientRetry<T>(fn: () => Promise<T>, o: { tries?: number; firstDelayMs?: number } = {}): Promise<T> {
  const tries = o.tries ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= tries || !isTransientDbError(e)) throw e;
      await new Promise((resolve) => setTimeout(resolve, (o.firstDelayMs ?? 500) * 2 ** (attempt - 1)));
    }
  }
}
