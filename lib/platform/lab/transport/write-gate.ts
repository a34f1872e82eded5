// Orders the writes to one writable NBD export where the disk's sector granularity demands it.
//
// Sector-aligned writes run side by side: NBD lets a client issue them concurrently, and which of
// two overlapping ones lands last is the client's business. An unaligned write is different: the
// host turns it into a read-modify-write of whole sectors, and two of those on one sector (or one
// and a write landing between its read and its write) would put back bytes that neither client
// request touched. So an unaligned write runs alone: it waits for the writes in progress and holds
// back the ones after it. Arrivals are served in order, so a stream of aligned writes cannot
// starve an unaligned one. One gate per export, shared by all its connections (CAN_MULTI_CONN).

interface Waiter {
  exclusive: boolean;
  start: () => void;
}

export class WriteGate {
  private running = 0;
  private exclusiveRunning = false;
  private readonly waiting: Waiter[] = [];

  /** Runs `work` beside other shared work (`exclusive` false) or alone (`exclusive` true). */
  async run<T>(exclusive: boolean, work: () => Promise<T>): Promise<T> {
    await new Promise<void>((start) => {
      this.waiting.push({ exclusive, start });
      this.grant();
    });
    try {
      return await work();
    } finally {
      this.running--;
      if (exclusive) this.exclusiveRunning = false;
      this.grant();
    }
  }

  /** Work running or waiting (for tests and diagnostics). */
  get busy(): number {
    return this.running + this.waiting.length;
  }

  private grant(): void {
    while (this.waiting.length > 0 && !this.exclusiveRunning) {
      const next = this.waiting[0];
      if (next.exclusive && this.running > 0) return;
      this.waiting.shift();
      this.running++;
      if (next.exclusive) this.exclusiveRunning = true;
      next.start();
    }
  }
}
