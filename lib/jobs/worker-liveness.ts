// When a worker counts as alive: it writes a heartbeat every WORKER_HEARTBEAT_MS; three missed
// beats and it is shown (and treated) as gone. Pure: the engine and the workers page share it.
export const WORKER_HEARTBEAT_MS = 5_000;

export function workerIsAlive(heartbeatAt: Date | string | null | undefined, now: Date = new Date()): boolean {
  if (!heartbeatAt) return false;
  const at = typeof heartbeatAt === "string" ? new Date(heartbeatAt) : heartbeatAt;
  return now.getTime() - at.getTime() <= 3 * WORKER_HEARTBEAT_MS;
}
