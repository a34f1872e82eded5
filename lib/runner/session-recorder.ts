import "server-only";
import { db } from "@/lib/db/client";
import { MAX_LOG_LINES, sessionTotals, type LogLine, type SessionProgress } from "./session-progress";

/**
 * Holds a running session's progress and log in memory and writes them to its row at most every
 * `intervalMs` (and on flush). One writer per session: the runner. Never given a secret: log lines
 * come from the engine, which names keys by id only (SEC-6).
 */
export class SessionRecorder {
  readonly progress: SessionProgress = { vms: [] };
  readonly log: LogLine[] = [];
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    readonly sessionId: string,
    private readonly intervalMs = 1000,
  ) {}

  say(text: string, level: LogLine["level"] = "info"): void {
    if (this.log.length >= MAX_LOG_LINES) this.log.splice(1, 1); // keep the first line (what ran)
    this.log.push({ at: new Date().toISOString(), level, text });
    this.touch();
  }

  touch(): void {
    this.#dirty = true;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.intervalMs);
  }

  async flush(extra: Record<string, unknown> = {}): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const dirty = this.#dirty || Object.keys(extra).length > 0;
    this.#dirty = false;
    if (!dirty) return this.#writing;
    const totals = sessionTotals(this.progress);
    const data = { progress: JSON.stringify(this.progress), log: JSON.stringify(this.log), bytesRead: BigInt(Math.round(totals.bytesRead)), bytesStored: BigInt(Math.round(totals.bytesTransferred)), ...extra };
    // Writes in order, one at a time.
    this.#writing = this.#writing.then(() => db.jobSession.update({ where: { id: this.sessionId }, data }).then(() => undefined)).catch((e: unknown) => {
      console.error(`[runner] could not record progress of session ${this.sessionId}:`, e instanceof Error ? e.message : e);
    });
    return this.#writing;
  }
}
