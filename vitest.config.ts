import { defineConfig } from "vitest/config";
import path from "node:path";

// Two suites, one config:
//  - unit:        *.test.ts beside the code; no database, no network, no server.
//  - integration: *.int.test.ts; may need a database (SQLite file or PostgreSQL
//                 via DATABASE_URL) or a local server such as PyKMIP.
//  - db:          *.db.test.ts beside the services; one fresh database per run, migrated from the
//                 committed migrations, on the provider DATABASE_URL names (SQLite when unset):
//                   npx vitest run --project db
//                   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres npx vitest run --project db
export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(__dirname),
      // "server-only" throws outside a React Server Component bundle; in tests it is a no-op.
      "server-only": path.resolve(__dirname, "lib/testing/server-only-stub.ts"),
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["lib/**/*.test.ts", "components/**/*.test.ts"], exclude: ["**/*.int.test.ts", "**/*.db.test.ts", "node_modules/**"] },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["lib/**/*.int.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: "db",
          include: ["lib/**/*.db.test.ts"],
          globalSetup: ["lib/testing/db-global-setup.ts"],
          setupFiles: ["lib/testing/db-test-env.ts"],
          // One database for the run: files take turns, and factories keep their data apart.
          fileParallelism: false,
          // Files share one worker and its module cache (one Prisma client, one Argon2 hash of the
          // factories' password): ~4× faster. A file that needs vi.mock must not rely on this.
          isolate: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
