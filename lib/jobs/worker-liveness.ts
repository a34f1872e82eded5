// When a worker counts as alive (issue 9): it heartbeats every WORKER_HEARTBEAT_MS; three missed
// beats and it is taken for dead — its leases run out and its work is taken up elsewhere. Pure: the
// engine, the services and the pages all ask the same question the same way.

/** How often a worker (the console's in-process one included) writes JobWorker.heartbeatAt. */
export const WORKER_HEARTBEAT_MS = 5_000;

/** A worker whose last heartbeat is older than this is no longer alive (three missed beats). */
export const WORKER_DEAD_AFTER_MS = 3 * WORKER_HEARTBEAT_MS;

type Instant = Date | string | number;

function ms(t: Instant): number {
  return t instanceof Date ? t.getTime() : typeof t === "number" ? t : Date.parse(t);
}

/** True while the last heartbeat is at most WORKER_DEAD_AFTER_MS old (a missing or unreadable one is dead). */
export function workerIsAlive(heartbeatAt: Instant | null | undefined, now: Instant = Date.now()): boolean {
  if (heartbeatAt === null || heartbeatAt === undefined) return false;
  const beat = ms(heartbeatAt);
  if (!Number.isFinite(beat)) return false;
  return ms(now) - beat <= WORKER_DEAD_AFTER_MS;
}
