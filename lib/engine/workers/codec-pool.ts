// A small pool of worker threads for the CPU half of the data path (README.md beside this file):
// hashing, compression and AES-GCM of blocks, so that the main thread stays free for I/O.
//
// Blocks travel through a fixed set of slots in one SharedArrayBuffer (no copy into messages, no
// allocation per block); a message names the slot. The number of slots bounds the work in flight:
// acquire() waits for a free slot, which is the backpressure a reader feels. Lane 0 runs the same
// code inline on the calling thread: it serves jobs while the threads start (or when none are
// wanted), and it is what small backups and most tests use. Each lane that seals has its own
// nonce fixed field and counter under the session key (FORMAT.md "Nonce").
//
// Threads are unref'ed while idle, so a pool that someone forgot to close does not keep the
// process alive; close() wipes the session key in every lane and ends the threads.

import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { NonceExhaustedError } from "../errors";
import { alignUp, allocateShared } from "../repository/aligned-memory";
import { compressedBound, recordLengthOf, type RecordIdentity } from "../repository/block-codec";
import type { DamageReason } from "../errors";
import { SIZES } from "../format-registry";
import { CodecExecutor, writeIdentity, type JobMessage } from "./codec-ops";
import { META, slotBytes, slotViews, type FromWorker, type SlotLayout, type ToWorker } from "./codec-protocol";

/** A worker thread died or could not start: not damage in the repository, the process is unwell. */
export class CodecWorkerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CodecWorkerError";
  }
}

export interface CodecSlot {
  readonly index: number;
  /** A block (backup) or a record (restore). */
  readonly input: Buffer;
  /** The compressed payload, then the sealed record (backup); the opened block (restore). */
  readonly output: Buffer;
  /** Hashes and ids of the job (codec-protocol.ts META). */
  readonly meta: Buffer;
}

export interface CodecPoolOptions {
  blockSize: number;
  /** Worker threads to start at once (default 0; startThreads() adds them later). */
  threads?: number;
  /**
   * Jobs wait for the threads instead of running inline while the threads start. Tests use it to
   * drive every block through the threads; the engine lets the inline lane bridge the start-up.
   */
  requireThreads?: boolean;
  /** Seals records under this key (backup). Without it the pool only opens records (restore). */
  sessionKey?: Buffer;
  /** Nonce fixed field of lane `lane` (0 = inline, 1… = threads); distinct per lane. */
  fixedField?: (lane: number) => number;
  /** Slots in the arena (default: 2 per possible thread + 2, fewer for very large blocks). */
  slots?: number;
}

export interface PreparedBlock {
  contentHash: Buffer;
  compressionId: number;
  payloadLength: number;
}

export interface SealedRecord {
  recordLength: number;
  recordHash: Buffer;
}

export type OpenedBlock = { ok: true; length: number } | { ok: false; reason: DamageReason };

/** Threads a pool starts by default: one per core, at most 4 (the main thread does the I/O). */
export function defaultThreadCount(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

// The entry is found at run time, not by the bundler: inside the Next.js server bundle __dirname is
// a chunk folder, and a path Turbopack can follow makes it bundle the entry with tsx and esbuild.
const ENTRY_NAME = ["codec-worker", "cjs"].join(".");
function workerEntry(): string {
  const candidates = [
    path.join(/* turbopackIgnore: true */ __dirname, ENTRY_NAME),
    path.join(/* turbopackIgnore: true */ process.cwd(), "lib", "engine", "workers", ENTRY_NAME),
  ];
  return candidates.find((c) => existsSync(c)) ?? candidates[0];
}
const ARENA_BUDGET = 160 * 1024 * 1024;

interface Pending {
  resolve: (m: FromWorker) => void;
  reject: (e: unknown) => void;
}

class ThreadLane {
  state: "starting" | "ready" | "failed" | "closed" = "starting";
  inflight = 0;
  readonly ready: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private readonly worker: Worker;
  private failure: unknown;

  constructor(
    readonly lane: number,
    init: Extract<ToWorker, { op: "init" }>,
  ) {
    // A clean execArgv: the entry registers its own TypeScript loader (see codec-worker.cjs).
    this.worker = new Worker(/* turbopackIgnore: true */ workerEntry(), { execArgv: [] });
    let started: () => void;
    let failedToStart: (e: unknown) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failedToStart = reject;
    });
    this.ready.catch(() => undefined);
    this.worker.on("message", (m: FromWorker) => {
      if ("op" in m) {
        if (this.state === "starting") this.state = "ready";
        this.updateRef();
        started();
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      this.inflight--;
      this.updateRef();
      p.resolve(m);
    });
    const die = (e: unknown) => {
      if (this.state === "closed") return;
      this.failure ??= e;
      this.state = "failed";
      failedToStart(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.inflight = 0;
    };
    this.worker.on("error", (e) => die(new CodecWorkerError(`codec worker ${lane} failed: ${e.message}`, { cause: e })));
    this.worker.on("exit", (code) => die(new CodecWorkerError(`codec worker ${lane} exited (code ${code})`)));
    this.worker.postMessage(init);
  }

  /** A message that needs no answer (registering a target buffer); queued behind init. */
  post(m: ToWorker): void {
    if (this.state === "starting" || this.state === "ready") this.worker.postMessage(m);
  }

  run(m: JobMessage): Promise<FromWorker> {
    if (this.state !== "ready") return Promise.reject(this.failure ?? new CodecWorkerError(`codec worker ${this.lane} is ${this.state}`));
    return new Promise<FromWorker>((resolve, reject) => {
      this.pending.set(m.id, { resolve, reject });
      this.inflight++;
      this.updateRef();
      this.worker.postMessage(m);
    });
  }

  /** Ref'ed while starting or busy, so that awaited work keeps the process alive; idle threads do not. */
  private updateRef(): void {
    if (this.state === "starting" || this.inflight > 0) this.worker.ref();
    else this.worker.unref();
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    const wasAlive = this.state === "ready" || this.state === "starting";
    this.state = "closed";
    for (const p of this.pending.values()) p.reject(new CodecWorkerError("the codec pool was closed"));
    this.pending.clear();
    this.inflight = 0;
    if (!wasAlive) {
      await this.worker.terminate();
      return;
    }
    // "close" wipes the key and lets the thread end by itself; terminate if it does not.
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage({ op: "close" } satisfies ToWorker);
    const timer = setTimeout(() => void this.worker.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }
}

export class BlockCodecPool {
  readonly layout: SlotLayout;
  /** Slot inputs and outputs start page-aligned in memory (they may be written with direct I/O). */
  readonly aligned: boolean;
  private readonly arena: SharedArrayBuffer;
  private readonly slots: CodecSlot[];
  private readonly free: CodecSlot[];
  private readonly waiters: Array<{ resolve: (s: CodecSlot) => void; reject: (e: unknown) => void }> = [];
  private readonly inline: CodecExecutor;
  private readonly threads: ThreadLane[] = [];
  private readonly sessionKey: Buffer | undefined;
  private readonly fixedField: (lane: number) => number;
  private readonly requireThreads: boolean;
  private nextId = 1;
  private readonly targets: SharedArrayBuffer[] = [];
  private interrupted: unknown;
  private closed = false;
  /** Jobs run per lane kind (tests and the benchmark look). */
  readonly jobs = { inline: 0, threads: 0 };

  constructor(options: CodecPoolOptions) {
    const { blockSize } = options;
    // Page multiples, so that a slot's input and output start page-aligned (direct I/O from them).
    const inputBytes = alignUp(recordLengthOf(blockSize)); // a block, or a record being opened
    const outputBytes = alignUp(Math.max(blockSize, recordLengthOf(compressedBound(blockSize))));
    const perSlot = slotBytes({ count: 1, inputBytes, outputBytes });
    const wanted = options.slots ?? 2 * defaultThreadCount() + 2;
    const count = Math.max(2, Math.min(wanted, Math.floor(ARENA_BUDGET / perSlot)));
    this.layout = { count, inputBytes, outputBytes };
    const shared = allocateShared(count * perSlot);
    this.arena = shared.memory;
    this.aligned = shared.aligned;
    this.slots = Array.from({ length: count }, (_, index) => ({ index, ...slotViews(this.arena, this.layout, index) }));
    this.free = [...this.slots].reverse();
    this.sessionKey = options.sessionKey ? Buffer.from(options.sessionKey) : undefined;
    this.fixedField = options.fixedField ?? ((lane) => lane);
    this.requireThreads = options.requireThreads ?? false;
    this.inline = new CodecExecutor(this.arena, this.layout, this.sessionKey, this.sessionKey ? this.fixedField(0) : undefined);
    if (options.threads) this.startThreads(options.threads);
  }

  get threadCount(): number {
    return this.threads.length;
  }

  /** Threads starting or running (0 after close()). */
  get liveThreads(): number {
    return this.threads.filter((t) => t.state === "starting" || t.state === "ready").length;
  }

  /** Starts threads up to `count` in all (start-up takes ~0.2–0.5 s; the inline lane serves meanwhile). */
  startThreads(count: number = defaultThreadCount()): void {
    if (this.closed) return;
    while (this.threads.length < count) {
      const lane = this.threads.length + 1;
      const init: ToWorker = {
        op: "init",
        arena: this.arena,
        layout: this.layout,
        sessionKey: this.sessionKey ? new Uint8Array(this.sessionKey) : undefined,
        fixedField: this.sessionKey ? this.fixedField(lane) : undefined,
      };
      const thread = new ThreadLane(lane, init);
      this.targets.forEach((memory, buffer) => thread.post({ op: "target", buffer, memory }));
      this.threads.push(thread);
    }
  }

  /**
   * A shared buffer (SharedArrayBuffer-backed) that seal() may write records into, so that records
   * go straight into the pack being assembled; returns its id. Kept for the pool's life.
   */
  registerTarget(memory: SharedArrayBuffer): number {
    const buffer = this.targets.push(memory) - 1;
    this.inline.addTarget(buffer, memory);
    for (const t of this.threads) t.post({ op: "target", buffer, memory });
    return buffer;
  }

  /** Resolves when every thread started (rejects if one could not). */
  async whenThreadsReady(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.ready));
  }

  /** A free slot; waits while all are in use (backpressure). Rejects once the pool is interrupted. */
  acquire(): Promise<CodecSlot> {
    if (this.interrupted !== undefined) return Promise.reject(this.interrupted);
    const slot = this.free.pop();
    if (slot) return Promise.resolve(slot);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(slot: CodecSlot): void {
    if (this.slots[slot.index] !== slot) throw new RangeError("not a slot of this pool");
    const w = this.waiters.shift();
    if (w) w.resolve(slot);
    else this.free.push(slot);
  }

  /** Fails every waiting and future acquire() with `error` (a session that failed stops its reader). */
  interrupt(error: unknown): void {
    this.interrupted ??= error;
    for (const w of this.waiters.splice(0)) w.reject(this.interrupted);
  }

  /** BLAKE3 and zstd-1 of slot.input[0, length); a kept compressed payload waits in slot.output. */
  async prepare(slot: CodecSlot, length: number, compression: number): Promise<PreparedBlock> {
    const r = await this.run({ op: "prepare", id: this.nextId++, slot: slot.index, length, compression });
    if (!("payloadLength" in r)) throw new CodecWorkerError("unexpected codec reply");
    const contentHash = Buffer.from(slot.meta.subarray(META.contentHash, META.contentHash + SIZES.hash));
    return { contentHash, compressionId: r.compressionId, payloadLength: r.payloadLength };
  }

  /**
   * Seals the prepared payload under the lane's own nonce: into slot.output[0, recordLength), or
   * into a registered target buffer at an offset.
   */
  async seal(slot: CodecSlot, payloadLength: number, identity: RecordIdentity, target?: { buffer: number; offset: number }): Promise<SealedRecord> {
    writeIdentity(slot.meta, identity);
    const { entryIndex, compressionId, plainLength } = identity;
    const r = await this.run({
      op: "seal",
      id: this.nextId++,
      slot: slot.index,
      payloadLength,
      entryIndex,
      compressionId,
      plainLength,
      targetBuffer: target?.buffer ?? -1,
      targetOffset: target?.offset ?? 0,
    });
    if (!("recordLength" in r)) throw new CodecWorkerError("unexpected codec reply");
    return { recordLength: r.recordLength, recordHash: Buffer.from(slot.meta.subarray(META.recordHash, META.recordHash + SIZES.hash)) };
  }

  /** Checks (record hash, when given) and opens the record in slot.input[0, length) into slot.output (restore). */
  async open(slot: CodecSlot, length: number, identity: RecordIdentity, sessionKey: Buffer, recordHash?: Buffer): Promise<OpenedBlock> {
    writeIdentity(slot.meta, identity);
    if (recordHash) recordHash.copy(slot.meta, META.recordHash);
    const { entryIndex, compressionId, plainLength } = identity;
    const key = new Uint8Array(sessionKey);
    try {
      const r = await this.run({ op: "open", id: this.nextId++, slot: slot.index, length, entryIndex, compressionId, plainLength, checkRecordHash: !!recordHash, sessionKey: key });
      if (!("opened" in r)) throw new CodecWorkerError("unexpected codec reply");
      return r.opened ? { ok: true, length: r.dataLength } : { ok: false, reason: r.reason as DamageReason };
    } finally {
      key.fill(0);
    }
  }

  private async run(m: JobMessage): Promise<FromWorker> {
    if (this.closed) throw new CodecWorkerError("the codec pool was closed");
    const lane = await this.pickLane();
    let reply: FromWorker;
    if (lane) {
      this.jobs.threads++;
      reply = await lane.run(m);
    } else {
      this.jobs.inline++;
      reply = this.inline.handle(m);
    }
    if ("ok" in reply && !reply.ok) throw rebuildError(reply.error);
    return reply;
  }

  /** The least busy ready thread; the inline lane (undefined) while none is ready, unless threads are required. */
  private async pickLane(): Promise<ThreadLane | undefined> {
    for (;;) {
      let best: ThreadLane | undefined;
      for (const t of this.threads) if (t.state === "ready" && (!best || t.inflight < best.inflight)) best = t;
      if (best) return best;
      const starting = this.threads.filter((t) => t.state === "starting");
      if (!this.requireThreads) return undefined;
      if (!starting.length) throw new CodecWorkerError("no codec worker thread is running");
      await Promise.race(starting.map((t) => t.ready));
    }
  }

  /** Ends the threads (each wipes its copy of the session key) and wipes this lane's. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.interrupt(new CodecWorkerError("the codec pool was closed"));
    this.inline.wipe();
    this.sessionKey?.fill(0);
    await Promise.all(this.threads.map((t) => t.close()));
  }
}

/** Errors cross the thread boundary as plain data: the engine's own come back as themselves. */
function rebuildError(e: { name: string; message: string; code?: string }): Error {
  if (e.code === "NONCE_EXHAUSTED") return new NonceExhaustedError();
  return new CodecWorkerError(`${e.name}: ${e.message}`);
}
