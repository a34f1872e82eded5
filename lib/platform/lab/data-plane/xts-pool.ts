// The lab host's cores for VM Encryption (VME-1): an ESXi host encrypts the blocks a restoring
// proxy writes on its own CPUs, many writes at once. The lab does the same work — every block is
// still XTS-encrypted with the disk's DEK — on a few worker threads instead of one, so parallel
// writes are not serialised behind one core. Blocks travel through slots of one SharedArrayBuffer
// (copied in, encrypted in place, copied out); a message carries numbers and the 64-byte DEK.
//
// Small pieces (under OFFLOAD_BYTES) and every call while the threads start or when they cannot be
// had run inline on the calling thread: the same XtsCipher, the same bytes. Threads are unref'ed
// while idle, so the pool never keeps a process alive.

import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { CBT_BLOCK_SIZE } from "./types";
import type { XtsCipher } from "./xts";

export interface XtsJob {
  op: "job";
  id: number;
  keyId: number;
  key: Uint8Array;
  encrypt: boolean;
  sector: number;
  slot: number;
  length: number;
}
export type XtsReply = { id: number; ok: true } | { id: number; ok: false; message: string };

/** Below this, a piece is encrypted inline: the round trip would cost more than it saves. */
export const OFFLOAD_BYTES = 128 * 1024;
const SLOT_BYTES = CBT_BLOCK_SIZE;

const ENTRY_NAME = ["xts-worker", "cjs"].join(".");
function workerEntry(): string {
  const candidates = [
    path.join(/* turbopackIgnore: true */ __dirname, ENTRY_NAME),
    path.join(/* turbopackIgnore: true */ process.cwd(), "lib", "platform", "lab", "data-plane", ENTRY_NAME),
  ];
  return candidates.find((c) => existsSync(c)) ?? candidates[0];
}

class Lane {
  state: "starting" | "ready" | "failed" = "starting";
  inflight = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly worker: Worker;

  constructor(arena: SharedArrayBuffer) {
    this.worker = new Worker(/* turbopackIgnore: true */ workerEntry(), { execArgv: [] });
    this.worker.on("message", (m: { op: "ready" } | XtsReply) => {
      if ("op" in m) {
        this.state = "ready";
        this.worker.unref();
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (--this.inflight === 0) this.worker.unref();
      if (m.ok) p.resolve();
      else p.reject(new Error(`lab XTS worker: ${m.message}`));
    });
    const die = (e: Error) => {
      this.state = "failed";
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.inflight = 0;
      this.worker.unref();
    };
    this.worker.on("error", (e) => die(e));
    this.worker.on("exit", (code) => die(new Error(`lab XTS worker exited (code ${code})`)));
    this.worker.postMessage({ op: "init", arena, slotBytes: SLOT_BYTES });
  }

  run(job: XtsJob): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      if (this.inflight++ === 0) this.worker.ref();
      this.worker.postMessage(job);
    });
  }
}

export class XtsPool {
  private readonly arena: SharedArrayBuffer;
  private readonly view: Buffer;
  private readonly free: number[];
  private readonly waiters: Array<(slot: number) => void> = [];
  private readonly lanes: Lane[] = [];
  private nextId = 1;
  private started = false;
  /** Pieces encrypted per lane kind (tests look). */
  readonly jobs = { inline: 0, threads: 0 };

  constructor(readonly threads: number = Math.max(1, Math.min(2, availableParallelism()))) {
    const slots = 2 * threads + 2;
    this.arena = new SharedArrayBuffer(slots * SLOT_BYTES);
    this.view = Buffer.from(this.arena);
    this.free = Array.from({ length: slots }, (_, i) => i);
  }

  /** output = XTS(input) for sectors from `firstSector`, like XtsCipher.encryptSectors (output may be input). */
  async encrypt(cipher: XtsCipher, firstSector: number, input: Buffer, output: Buffer): Promise<void> {
    return this.apply(true, cipher, firstSector, input, output);
  }

  private async apply(encrypt: boolean, cipher: XtsCipher, firstSector: number, input: Buffer, output: Buffer): Promise<void> {
    const lane = input.length >= OFFLOAD_BYTES ? this.pickLane() : undefined;
    if (!lane || input.length > SLOT_BYTES) {
      this.jobs.inline++;
      if (encrypt) cipher.encryptSectors(firstSector, input, output);
      else cipher.decryptSectors(firstSector, input, output);
      return;
    }
    const slot = await this.acquire();
    try {
      const data = this.view.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + input.length);
      input.copy(data);
      const key = cipher.keyBytes();
      await lane.run({ op: "job", id: this.nextId++, keyId: cipher.id, key, encrypt, sector: firstSector, slot, length: input.length });
      data.copy(output);
      this.jobs.threads++;
    } finally {
      this.release(slot);
    }
  }

  /** The least busy ready thread; none (inline) while they start. The first call starts them. */
  private pickLane(): Lane | undefined {
    if (!this.started) {
      this.started = true;
      try {
        for (let i = 0; i < this.threads; i++) this.lanes.push(new Lane(this.arena));
      } catch {
        // No worker threads here (the entry cannot be found or loaded): the host encrypts inline.
      }
    }
    let best: Lane | undefined;
    for (const l of this.lanes) if (l.state === "ready" && (!best || l.inflight < best.inflight)) best = l;
    return best;
  }

  private acquire(): Promise<number> {
    const slot = this.free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(slot: number): void {
    const w = this.waiters.shift();
    if (w) w(slot);
    else this.free.push(slot);
  }
}

let shared: XtsPool | undefined;
/** The process's lab host cores (one pool for every disk of the lab). */
export function labXtsPool(): XtsPool {
  return (shared ??= new XtsPool());
}
