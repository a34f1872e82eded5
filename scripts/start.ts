// `npm start`: one command from a fresh clone to a running console on the embedded defaults
// (SQLite in .data/, the lab platform). Migrates, seeds on first run, builds when the sources are
// newer than the last build, then serves on http://localhost:3000 (PORT to change).
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "..");
const port = process.env.PORT ?? "3000";
const dataDir = path.resolve(root, process.env.STRONGROOM_DATA_DIR ?? ".data");
const childEnv: NodeJS.ProcessEnv = {
  ...process.env,
  STRONGROOM_DATA_DIR: dataDir,
  DATABASE_URL: process.env.DATABASE_URL ?? `file:${path.join(dataDir, "strongroom.db")}`,
  NEXTAUTH_URL: process.env.NEXTAUTH_URL ?? `http://localhost:${port}`,
  NEXT_TELEMETRY_DISABLED: "1",
};
const bin = (name: string) => path.join(root, "node_modules/.bin", name);
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = childEnv): void {
  try {
    execFileSync(cmd, args, { cwd: root, env, stdio: "inherit" });
  } catch {
    // The step printed its own error above; a stack trace of this launcher adds nothing.
    console.error(`\nStart-up stopped: "${path.basename(args[1] ?? cmd)} ${args.slice(2).join(" ")}" failed (see above).`);
    process.exit(1);
  }
}

function newestSourceMtime(): number {
  let newest = 0;
  const walk = (p: string) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      if (/^(node_modules|\.next.*|\.data|generated)$/.test(path.basename(p))) return;
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ["app", "components", "lib", "package.json", "next.config.ts", "postcss.config.mjs", "prisma/schema.prisma"]) walk(path.join(root, p));
  return newest;
}

function needsBuild(): boolean {
  const id = fs.statSync(path.join(root, process.env.STRONGROOM_BUILD_DIR ?? ".next", "BUILD_ID"), { throwIfNoEntry: false });
  return !id || newestSourceMtime() > id.mtimeMs;
}

fs.mkdirSync(dataDir, { recursive: true });
run(process.execPath, [bin("tsx"), "scripts/db.ts", "generate"]);
run(process.execPath, [bin("tsx"), "scripts/db.ts", "migrate"]);
run(process.execPath, [bin("tsx"), "--conditions=react-server", "scripts/prepare-data.ts"]);
if (needsBuild()) {
  console.log("Building the console (about a minute)…");
  run(bin("next"), ["build"], { ...childEnv, NODE_ENV: "production" });
}
console.log(`Strongroom console: http://localhost:${port}`);
const server = spawn(bin("next"), ["start", "-p", port], { cwd: root, env: { ...childEnv, NODE_ENV: "production" }, stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => server.kill(sig));
server.on("exit", (code) => process.exit(code ?? 0));
