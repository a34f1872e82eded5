// A second console's start-up, as a child process of a db test (lib/testing/child-processes.ts):
// it starts the console's job engine the way instrumentation.ts does (startConsoleJobEngine) on
// the DATABASE_URL and STRONGROOM_DATA_DIR it was given, and prints one JSON line saying whether
// it runs work. With --hold it keeps running (and heartbeating) until SIGTERM or SIGKILL;
// otherwise it stops its engine and exits.
import { startConsoleJobEngine } from "@/lib/services/start-job-engine";

async function main() {
  const engine = await startConsoleJobEngine();
  console.log(`[console-child] ${JSON.stringify({ started: engine !== null, workerId: engine?.worker.id ?? null, pid: process.pid })}`);
  if (engine && process.argv.includes("--hold")) {
    const keepAlive = setInterval(() => undefined, 60_000);
    process.on("SIGTERM", () => {
      clearInterval(keepAlive);
      void engine.stop().finally(() => process.exit(0));
    });
    return;
  }
  await engine?.stop();
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error("[console-child] failed:", e);
  process.exit(1);
});
