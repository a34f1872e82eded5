// PostgreSQL connections across the console and its worker processes. Each process opens up to
// STRONGROOM_DB_POOL_SIZE connections for the application (Prisma) and STRONGROOM_QUEUE_POOL_SIZE
// for the job queue (pg-boss); the console and STRONGROOM_WORKER_PROCESSES workers together must
// stay under the server's max_connections, less its reserved slots and some headroom for
// migrations, psql and monitoring. Past it, the server refuses new connections ("too many
// clients", 53300) at the busiest moment; the console says so at start instead.

export interface ConnectionPlan {
  /** Processes that connect: the console and the planned worker processes. */
  processes: number;
  dbPool: number;
  queuePool: number;
}

export interface ServerLimits {
  maxConnections: number;
  /** superuser_reserved_connections (+ reserved_connections on PostgreSQL 16+). */
  reserved: number;
}

export interface BudgetVerdict {
  fits: boolean;
  /** What the plan may open at most. */
  planned: number;
  /** What the server leaves for it: max_connections − reserved − headroom. */
  available: number;
  headroom: number;
  /** The largest pools per process (split as configured) that would fit; null if even 1 + 1 does not. */
  suggestion: { dbPool: number; queuePool: number } | null;
  message: string;
}

/** Connections kept free for migrations, psql and monitoring: a tenth of the server's, at least 5. */
export function headroomOf(maxConnections: number): number {
  return Math.max(5, Math.ceil(maxConnections / 10));
}

export function checkConnectionBudget(plan: ConnectionPlan, server: ServerLimits): BudgetVerdict {
  const perProcess = plan.dbPool + plan.queuePool;
  const planned = plan.processes * perProcess;
  const headroom = headroomOf(server.maxConnections);
  const available = server.maxConnections - server.reserved - headroom;
  const fits = planned <= available;
  const perProcessRoom = Math.floor(available / plan.processes);
  let suggestion: BudgetVerdict["suggestion"] = null;
  if (perProcessRoom >= 3) {
    // Keep the queue's share as configured (it needs at least 2), give the rest to the application.
    const queuePool = Math.max(2, Math.min(plan.queuePool, perProcessRoom - 1));
    suggestion = { dbPool: perProcessRoom - queuePool, queuePool };
  }
  const who = `the console and ${plan.processes - 1} worker process(es) (STRONGROOM_WORKER_PROCESSES), each with ${plan.dbPool} application (STRONGROOM_DB_POOL_SIZE) + ${plan.queuePool} queue (STRONGROOM_QUEUE_POOL_SIZE) connections`;
  const message = fits
    ? `PostgreSQL connections: ${who} may open ${planned} of the ${available} the server leaves (max_connections ${server.maxConnections}, ${server.reserved} reserved, ${headroom} kept free).`
    : `PostgreSQL connections do not fit: ${who} may open ${planned}, but the server leaves ${available} (max_connections ${server.maxConnections}, ${server.reserved} reserved, ${headroom} kept free for migrations and psql). ` +
      `At the busiest moment the server will refuse connections ("too many clients") and work will wait for retries. ` +
      (suggestion
        ? `Set STRONGROOM_DB_POOL_SIZE=${suggestion.dbPool} and STRONGROOM_QUEUE_POOL_SIZE=${suggestion.queuePool} on every process, run fewer workers, or raise max_connections.`
        : `Run fewer worker processes or raise max_connections.`);
  return { fits, planned, available, headroom, suggestion, message };
}
