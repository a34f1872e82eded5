// setupFile of the `db` test project: runs in each worker before the test file is imported, so
// lib/config/env.ts (which reads process.env once, at import) sees the run's fresh database.
import { inject } from "vitest";

process.env.DATABASE_URL = inject("strongroomTestDatabaseUrl");
// Lab files, native keys and sealing keys of this run live in a throwaway folder, not in .data/.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
process.env.STRONGROOM_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-db-test-data-"));

// The job queue starts with the process, as in the console (pg-boss must have its queues before a
// service's transaction enqueues); no handlers run unless a test starts the engine (run-jobs.ts).
import { beforeAll } from "vitest";
beforeAll(async () => {
  const { jobQueue } = await import("@/lib/jobs");
  await jobQueue().start();
});
