import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { defineConfig } from "@playwright/test";

// End-to-end tests run against their own console instance: port 3100, its own data folder
// (fresh each run: first start, seeded lab, bootstrap administrator), the production build.
const PORT = Number(process.env.E2E_PORT ?? 3100);
const dataDir = path.resolve(".data/e2e");

// The config is evaluated by the runner and again by each worker; prepare once, in the runner,
// and hand the generated admin password to the workers through the environment.
if (!process.env.E2E_PREPARED) {
  fs.rmSync(dataDir, { recursive: true, force: true });
  process.env.E2E_ADMIN_PASSWORD ??= randomBytes(18).toString("base64url");
  process.env.E2E_PREPARED = "1";
}

export const E2E = { baseURL: `http://localhost:${PORT}`, dataDir };

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/e2e",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL: E2E.baseURL,
    viewport: { width: 1440, height: 1000 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  projects: [
    { name: "setup", testMatch: /.*\.setup\.ts/ },
    { name: "chromium", dependencies: ["setup"], testIgnore: /.*\.setup\.ts/ },
  ],
  webServer: {
    command: "node node_modules/.bin/tsx scripts/start.ts",
    url: `${E2E.baseURL}/api/health`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: "pipe",
    env: {
      PORT: String(PORT),
      STRONGROOM_BUILD_DIR: ".next-e2e",
      STRONGROOM_DATA_DIR: dataDir,
      DATABASE_URL: `file:${path.join(dataDir, "strongroom.db")}`,
      STRONGROOM_ADMIN_EMAIL: "admin@e2e.strongroom.test",
      STRONGROOM_ADMIN_PASSWORD: process.env.E2E_ADMIN_PASSWORD!,
      NEXTAUTH_URL: `http://localhost:${PORT}`,
      // Check KMS clusters every 2 s so a stopped KMS shows quickly in the tests.
      STRONGROOM_KMS_CHECK_SECONDS: "2",
    },
  },
});
