import "server-only";
import { db } from "@/lib/db/client";
import type { LogLine } from "./session-progress";

// A session's events and log, written by whichever worker runs part of it: rows appended to
// SessionEvent (batched, in order per writer), never a JSON column that two writers would
// overwrite. `text` is the line people read; `data` the typed event.

export interface SessionEventInput {
  type: string;
  level?: LogLine["level"];
  vmExternalId?: string | null;
  text?: string;
  data?: unknown;
}

export class SessionEventWriter {
  #pending: Array<SessionEventInput & { at: Date }> = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    readonly sessionId: string,
    readonly workerId: string | null,
    private readonly intervalMs = 500,
  ) {}

  /** A line for the session log. */
  say(text: string, level: LogLine["level"] = "info", vmExternalId: string | null = null): void {
    this.event({ type: "log", level, text, vmExternalId });
  }

  event(e: SessionEventInput): void {
    this.#pending.push({ ...e, at: new Date() });
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.intervalMs);
  }

  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return this.#writing;
    const rows = batch.map((e) => ({
      sessionId: this.sessionId,
      at: e.at,
      type: e.type,
      level: e.level ?? "info",
      vmExternalId: e.vmExternalId ?? null,
      workerId: this.workerId,
      text: (e.text ?? "").slice(0, 4000),
      data: JSON.stringify(e.data ?? {}),
    }));
    this.#writing = this.#writing
      .then(() => db.sessionEvent.createMany({ data: rows }).then(() => undefined))
      .catch((err: unknown) => console.error(`[jobs] could not record events of session ${this.sessionId}:`, err instanceof Error ? err.message : err));
    return this.#writing;
  }
}
