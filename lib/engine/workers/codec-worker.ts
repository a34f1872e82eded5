// The body of one block codec worker thread (started by codec-pool.ts through codec-worker.cjs):
// maps the pool's shared slot arena at "init", then answers each job message with CodecExecutor,
// the same code the pool's inline lane runs. "close" wipes the session key and ends the thread.

import { parentPort } from "node:worker_threads";
import { CodecExecutor, type JobMessage } from "./codec-ops";
import type { FromWorker, ToWorker } from "./codec-protocol";

const port = parentPort;
if (!port) throw new Error("codec-worker runs in a worker thread");

let executor: CodecExecutor | undefined;

port.on("message", (m: ToWorker) => {
  switch (m.op) {
    case "init":
      executor = new CodecExecutor(m.arena, m.layout, m.sessionKey, m.fixedField);
      m.sessionKey?.fill(0);
      port.postMessage({ op: "ready" } satisfies FromWorker);
      return;
    case "target":
      executor?.addTarget(m.buffer, m.memory);
      return;
    case "close":
      executor?.wipe();
      executor = undefined;
      port.close();
      return;
    default: {
      const job = m as JobMessage;
      const reply: FromWorker = executor
        ? executor.handle(job)
        : { id: job.id, ok: false, error: { name: "Error", message: "codec worker not initialised" } };
      if (job.op === "open") job.sessionKey.fill(0);
      port.postMessage(reply);
    }
  }
});
