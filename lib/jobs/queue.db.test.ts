// The queue contract on this run's database: the table queue always, pg-boss on PostgreSQL. Each
// keeps its jobs apart (a namespace, a schema) from the queue other db tests run sessions on.
import { inject } from "vitest";
import { db } from "@/lib/db/client";
import { PgBossQueue } from "./pg-boss-queue";
import { TableQueue } from "./table-queue";
import { queueContract } from "./testing/queue-contract";

queueContract(`table queue (${inject("strongroomTestProvider")})`, {
  db,
  recoveryMs: 10_000,
  make(workerId) {
    const queue = new TableQueue(db, { workerId, pollMs: 100, leaseMs: 1_000, retryDelayMs: 100, namespace: "contract" });
    return { queue, crash: () => queue.crash() };
  },
});

if (inject("strongroomTestProvider") === "postgresql") {
  queueContract("pg-boss", {
    db,
    recoveryMs: 45_000,
    make() {
      const queue = new PgBossQueue({ connectionString: inject("strongroomTestDatabaseUrl"), heartbeatSeconds: 10, superviseSeconds: 1, cronSeconds: 1, schema: "pgboss_contract" });
      return { queue, crash: () => queue.crash() };
    },
  });
}
