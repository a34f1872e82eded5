// `npm run worker`: a worker process of the job engine — in production a proxy host, here a second
// process. It needs PostgreSQL (DATABASE_URL=postgresql://…), the console's data folder settings
// (STRONGROOM_DATA_DIR / STRONGROOM_CONFIG_KEY, to open the jobs' keys) and the same lab folder.
// It claims backup VMs, verifies and the system's schedules from the shared queue, heartbeats,
// and on SIGINT/SIGTERM lets running work finish (or hand back) before it exits.
import { JobEngineRefused } from "@/lib/jobs/engine";
import { startWorkerJobEngine } from "@/lib/services/start-job-engine";

async function main() {
  const engine = await startWorkerJobEngine();
  console.log(`[worker] ${engine.worker.id} runs work from the ${engine.queue.implementation} queue (Ctrl-C to stop).`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[worker] ${signal}: stopping; running work is handed back to the queue.`);
    await engine.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((e: unknown) => {
  console.error(e instanceof JobEngineRefused ? `[worker] ${e.message}` : e);
  process.exit(1);
});
