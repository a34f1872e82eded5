// setupFile of the `db` test project: runs in each worker before the test file is imported, so
// lib/config/env.ts (which reads process.env once, at import) sees the run's fresh database.
import { inject } from "vitest";

process.env.DATABASE_URL = inject("strongroomTestDatabaseUrl");
