// A fresh, throw-away database for one run of the `db` test project (vitest.config.ts), on the
// provider that DATABASE_URL names. The schema comes from the committed migration files, executed
// statement by statement through the raw driver (no `prisma db push`, no Prisma CLI: the wasm
// schema engine takes ~12 s on PostgreSQL, the raw driver well under one).
//
//   file:…            → a new SQLite file in a new temp folder (the file named by the URL is never touched)
//   postgresql://…    → a new database strongroom_test_<random> on the same server, dropped at teardown
//   (unset)           → SQLite, as above
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export type TestProvider = "sqlite" | "postgresql";

export interface TestDatabase {
  provider: TestProvider;
  /** The URL the tests use (DATABASE_URL in the workers). */
  url: string;
  /** Human-readable location, for the run's log line (never a password). */
  label: string;
  migrations: string[];
  drop(): Promise<void>;
}

const root = path.resolve(__dirname, "../..");

export function providerOf(url: string | undefined): TestProvider {
  return url && /^postgres(ql)?:\/\//.test(url) ? "postgresql" : "sqlite";
}

/** The committed migrations of a provider, oldest first: [name, sql]. */
export function committedMigrations(provider: TestProvider): [string, string][] {
  const dir = path.join(root, provider === "postgresql" ? "prisma/postgresql/migrations" : "prisma/migrations");
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, "migration.sql")))
    .map((e) => e.name)
    .sort()
    .map((name) => [name, fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8")]);
}

export interface TestDatabaseOptions {
  /** Name prefix of the PostgreSQL database and the SQLite temp folder (default "strongroom_test"). */
  prefix?: string;
}

export async function createTestDatabase(baseUrl: string | undefined, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const prefix = options.prefix ?? "strongroom_test";
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error("the database prefix must be a plain lower-case identifier");
  return providerOf(baseUrl) === "postgresql" ? createPostgres(baseUrl!, prefix) : createSqlite(prefix);
}

async function createSqlite(prefix: string): Promise<TestDatabase> {
  const { default: Database } = await import("better-sqlite3");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix.replace(/_/g, "-")}-`));
  const file = path.join(dir, "test.db");
  const migrations = committedMigrations("sqlite");
  const conn = new Database(file);
  try {
    conn.pragma("journal_mode = WAL");
    for (const [, sql] of migrations) conn.exec(sql);
  } finally {
    conn.close();
  }
  return {
    provider: "sqlite",
    url: `file:${file}`,
    label: file,
    migrations: migrations.map(([name]) => name),
    async drop() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function createPostgres(baseUrl: string, prefix: string): Promise<TestDatabase> {
  const { Client } = await import("pg");
  const name = `${prefix}_${crypto.randomBytes(6).toString("hex")}`;
  const testUrl = new URL(baseUrl);
  testUrl.pathname = `/${name}`;
  const server = `${testUrl.hostname}:${testUrl.port || "5432"}`;

  const admin = new Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const drop = async () => {
    const c = new Client({ connectionString: baseUrl });
    await c.connect();
    try {
      // FORCE: a worker's idle pool connections must not keep the database alive (PostgreSQL ≥ 13).
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await c.end();
    }
  };

  const migrations = committedMigrations("postgresql");
  try {
    const conn = new Client({ connectionString: testUrl.toString() });
    await conn.connect();
    try {
      // One simple-protocol query per file: PostgreSQL runs its statements in order, atomically.
      for (const [, sql] of migrations) await conn.query(sql);
    } finally {
      await conn.end();
    }
  } catch (e) {
    await drop();
    throw e;
  }
  return {
    provider: "postgresql",
    url: testUrl.toString(),
    label: `${name} on ${server}`,
    migrations: migrations.map(([n]) => n),
    drop,
  };
}
