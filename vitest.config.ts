import { defineConfig } from "vitest/config";
import path from "node:path";

// Two suites, one config:
//  - unit:        *.test.ts beside the code; no database, no network, no server.
//  - integration: *.int.test.ts; may need a database (SQLite file or PostgreSQL
//                 via DATABASE_URL) or a local server such as PyKMIP.
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
        test: { name: "unit", include: ["lib/**/*.test.ts", "components/**/*.test.ts"], exclude: ["**/*.int.test.ts", "node_modules/**"] },
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
    ],
  },
});
