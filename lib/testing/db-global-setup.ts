// globalSetup of the `db` test project (vitest.config.ts): one fresh database per run, on the
// provider DATABASE_URL names (SQLite when unset), migrated from the committed migration files.
// Its URL reaches the test files through provide/inject (lib/testing/db-test-env.ts sets
// process.env.DATABASE_URL before lib/config/env.ts is imported).
import type { TestProject } from "vitest/node";
import { createTestDatabase } from "./test-database";

declare module "vitest" {
  export interface ProvidedContext {
    strongroomTestDatabaseUrl: string;
    strongroomTestProvider: "sqlite" | "postgresql";
  }
}

export default async function setup(project: TestProject) {
  const started = Date.now();
  const database = await createTestDatabase(process.env.DATABASE_URL);
  console.log(
    `[db tests] provider: ${database.provider} — fresh database ${database.label} ` +
      `(${database.migrations.length} migration(s): ${database.migrations.join(", ")}; ${Date.now() - started} ms)`,
  );
  project.provide("strongroomTestDatabaseUrl", database.url);
  project.provide("strongroomTestProvider", database.provider);
  return async () => {
    await database.drop();
    console.log(`[db tests] dropped ${database.label}`);
  };
}
