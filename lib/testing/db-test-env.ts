// setupFile of the `db` test project: runs in each worker before the test file is imported, so
// lib/config/env.ts (which reads process.env once, at import) sees the run's fresh database.
import { inject } from "vitest";

process.env.DATABASE_URL = inject("strongroomTestDatabaseUrl");
// Lab files, native keys and sealing keys of this run live in a throwaway folder, not in .data/.
// One folder for the whole run, made by the first file: files share one worker and its module cache
// (isolate: false), so lib/config/env.ts keeps the first file's folder, and a worker process a later
// file spawns (inheriting process.env) must get that same folder — with another one it would hold
// another configuration key and audit key, fail to open the jobs' keys and break the audit chain.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
process.env.STRONGROOM_DB_TEST_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), "strongroom-db-test-data-"));
process.env.STRONGROOM_DATA_DIR = process.env.STRONGROOM_DB_TEST_DATA_DIR;

// The job queue starts with the process, as in the console (pg-boss must have its queues before a
// service's transaction enqueues); no handlers run unless a test starts the engine (run-jobs.ts).
import { beforeAll } from "vitest";
beforeAll(async () => {
  const { jobQueue } = await import("@/lib/jobs");
  await jobQueue().start();
});
