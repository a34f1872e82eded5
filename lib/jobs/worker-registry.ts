import "server-only";
import os from "node:os";
import { db } from "@/lib/db/client";
import { processWorkerId } from "./process-id";
import { WORKER_HEARTBEAT_MS } from "./worker-liveness";

// This process as a worker of the job engine: a JobWorker row with its host and pid, a heartbeat
// every few seconds, and the tasks it runs now — what the workers page shows, and how the engine
// tells a dead worker's work from a live one's.

export interface WorkerTask {
  kind: string;
  sessionId: string;
  vmExternalId?: string;
  since: string;
}

export class WorkerRegistration {
  readonly id: string;
  readonly #tasks = new Map<string, WorkerTask>();
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly role: "console" | "worker") {
    this.id = processWorkerId();
  }

  async start(): Promise<void> {
    const data = { role: this.role, host: os.hostname(), pid: process.pid, heartbeatAt: new Date(), stoppedAt: null, tasks: "[]" };
    await db.jobWorker.upsert({ where: { id: this.id }, create: { id: this.id, ...data }, update: data });
    this.#timer = setInterval(() => void this.beat(), WORKER_HEARTBEAT_MS);
    this.#timer.unref();
  }

  async beat(): Promise<void> {
    await db.jobWorker.update({ where: { id: this.id }, data: { heartbeatAt: new Date(), tasks: JSON.stringify([...this.#tasks.values()]) } }).catch((e: unknown) => {
      console.error("[jobs] worker heartbeat failed:", e instanceof Error ? e.message : e);
    });
  }

  /** Marks a task as running here until the returned function is called. */
  track(key: string, task: Omit<WorkerTask, "since">): () => void {
    this.#tasks.set(key, { ...task, since: new Date().toISOString() });
    void this.beat();
    return () => {
      this.#tasks.delete(key);
      void this.beat();
    };
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#tasks.clear();
    await db.jobWorker.update({ where: { id: this.id }, data: { stoppedAt: new Date(), tasks: "[]" } }).catch(() => undefined);
  }
}
