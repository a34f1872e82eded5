import type { NextConfig } from "next";
import { SERVER_ACTION_BODY_LIMIT } from "./lib/http/body-limit";

const nextConfig: NextConfig = {
  // A test or benchmark instance builds into its own folder, so it never rebuilds under a running console.
  distDir: process.env.STRONGROOM_BUILD_DIR ?? ".next",
  // Native and Node-only packages stay external to the server bundle.
  serverExternalPackages: ["better-sqlite3", "@node-rs/argon2", "@napi-rs/blake-hash", "zstd-napi", "@prisma/adapter-better-sqlite3", "@prisma/adapter-pg", "pg", "pg-boss", "cron-parser"],
  poweredByHeader: false,
  experimental: {
    // proxy.ts refuses larger declared bodies with 413 first; Next itself would answer 500.
    serverActions: { bodySizeLimit: SERVER_ACTION_BODY_LIMIT },
  },
  // The test command type-checks the whole tree with `tsc --noEmit` (scripts/test.sh); doing it again
  // inside every build costs ~10 s and blocks starting the console while unrelated code is mid-edit.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
