import "server-only";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { env } from "@/lib/config/env";
import { PrismaClient as SqliteClient } from "@/prisma/generated/sqlite/client";
import { PrismaClient as PostgresClient } from "@/prisma/generated/postgresql/client";

// The two-database mechanism lives here and in prisma.config.ts (docs/decisions/0001-two-databases.md).
// Both generated clients come from the same model, so the PostgreSQL one is used through the
// SQLite one's type: application code sees one `Db`.
export type Db = SqliteClient;

export function isPostgres(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

export function createDb(url: string): Db {
  if (isPostgres(url)) {
    // The pool's size per process is a setting (STRONGROOM_DB_POOL_SIZE), so the console and every
    // worker process together fit the server's max_connections (lib/jobs/connection-budget.ts).
    return new PostgresClient({ adapter: new PrismaPg({ connectionString: url, max: env.STRONGROOM_DB_POOL_SIZE, application_name: "strongroom" }) }) as unknown as Db;
  }
  return new SqliteClient({ adapter: new PrismaBetterSQLite3({ url }) });
}

// One client per process; Next.js dev reloads modules, so keep it on globalThis.
const globalForDb = globalThis as unknown as { strongroomDb?: Db };
export const db: Db = globalForDb.strongroomDb ?? createDb(env.databaseUrl);
globalForDb.strongroomDb = db;

/** What a service receives inside `db.$transaction(async (tx) => …)`; `db` itself also fits. */
export type DbTx = Omit<Db, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;
