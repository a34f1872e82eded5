// The proxy side of NBD / NBDSSL: a DiskReader, and for a writable export a writer, over a real
// NBD connection to the host.
//
// A read or write is split into requests of at most `maxRequestBytes` (and never above the maximum
// block size the host advertised), and up to `maxInFlight` requests travel at once on the
// connection, matched to their replies by cookie: over a network the round trip, not the
// bandwidth, is what a one-at-a-time client would measure. Reply data is copied straight from the
// socket's chunks into the caller's buffer; write data goes from the caller's buffer to the socket
// uncopied, so the slots bound what is held, too.
//
// NBD cannot cancel a request. A request that times out therefore poisons the connection: every
// outstanding request fails with "timeout", the socket is dropped, and later requests fail with the
// same error. The caller (the engine) retries on a fresh connection, which is what VDDK users do too.

import type net from "node:net";
import type tls from "node:tls";
import { HostError, type DiskReader } from "../data-plane/types";
import { TransportError, errorFromErrno, toTransportError } from "./errors";
import * as C from "./nbd-constants";
import { encodeRequest, type NbdClientDecoder } from "./nbd-protocol";
import { negotiate, type NbdClientTlsOptions, type NegotiationOptions } from "./nbd-negotiation";

export type { NbdClientTlsOptions } from "./nbd-negotiation";

export interface NbdClientOptions extends NegotiationOptions {
  /** Per request, from sending it to the last byte of its reply (default 30 s). */
  requestTimeoutMs?: number;
  /** Requests on the wire at once (default 8). */
  maxInFlight?: number;
  /** Largest single request (default 4 MiB); larger reads and writes are split. */
  maxRequestBytes?: number;
  tls?: NbdClientTlsOptions;
}

interface Pending {
  type: number;
  /** Where a read's reply data goes; an empty Buffer for requests without reply data. */
  target: Buffer;
  offset: number;
  length: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const NO_DATA = Buffer.alloc(0);
const COMMAND_NAMES: Record<number, string> = { [C.NBD_CMD_READ]: "read", [C.NBD_CMD_WRITE]: "write", [C.NBD_CMD_FLUSH]: "flush" };

export class NbdClient implements DiskReader {
  readonly capacityBytes: number;
  readonly transmissionFlags: number;
  /** Whether the data travels inside TLS (NBDSSL). */
  readonly tls: boolean;
  readonly endpoint: string;
  private readonly stream: net.Socket | tls.TLSSocket;
  private readonly decoder: NbdClientDecoder;
  private readonly pending = new Map<bigint, Pending>();
  private readonly slotWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private readonly requestTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly chunkBytes: number;
  private nextCookie = 1n;
  private inFlight = 0;
  /** write() calls not yet settled: flush() covers them. */
  private readonly writing = new Set<Promise<void>>();
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  static async connect(options: NbdClientOptions): Promise<NbdClient> {
    const n = await negotiate(options);
    return new NbdClient(options, n);
  }

  private constructor(options: NbdClientOptions, n: Awaited<ReturnType<typeof negotiate>>) {
    this.endpoint = `${options.host}:${options.port}`;
    this.capacityBytes = Number(n.size);
    this.transmissionFlags = n.transmissionFlags;
    this.tls = n.tls;
    this.stream = n.stream;
    this.decoder = n.decoder;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 8);
    const wanted = options.maxRequestBytes ?? 4 * 1024 * 1024;
    this.chunkBytes = Math.max(1, n.blockSize ? Math.min(wanted, n.blockSize.maximum) : wanted);
    // The decoder asks where a successful reply's data goes; only we know each cookie's length.
    this.decoder.readTarget = (cookie) => this.pending.get(cookie)?.target;
    this.stream.on("data", (chunk: Buffer) => this.onData(chunk));
    this.stream.on("error", (err) => this.fail(toTransportError(err, this.endpoint, "transmission")));
    this.stream.on("close", () => this.fail(new TransportError("connection-reset", `${this.endpoint} closed the NBD connection`, { endpoint: this.endpoint })));
    this.stream.resume(); // negotiation paused it while the listeners changed hands
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(checkRange(offset, length));
    await this.readInto(offset, out);
    return out;
  }

  /** Reads `target.length` bytes at `offset` into `target` (lets the engine reuse its buffers). */
  async readInto(offset: number, target: Buffer): Promise<void> {
    checkRange(offset, target.length);
    this.checkOpen();
    // Wait for every part, not just the first failure: replies still in flight write into
    // `target`, and the caller may hand that buffer to someone else as soon as we return.
    await this.inParts(target.length, (pos, end) => this.request(C.NBD_CMD_READ, offset + pos, end - pos, target.subarray(pos, end)));
  }

  /** Whether the host takes writes on this export (no NBD_FLAG_READ_ONLY). */
  get writable(): boolean {
    return (this.transmissionFlags & C.NBD_FLAG_READ_ONLY) === 0;
  }

  /**
   * Writes `data` at `offset`. Resolves once the host has applied it (not necessarily durably:
   * see flush). HostError NoPermission for a read-only export, without asking the host.
   */
  write(offset: number, data: Buffer): Promise<void> {
    const written = this.writeParts(offset, data);
    this.writing.add(written);
    const forget = () => void this.writing.delete(written);
    written.then(forget, forget);
    return written;
  }

  /**
   * Makes every write issued before this call durable: waits for them, then NBD_CMD_FLUSH. A host
   * that does not offer flush (no NBD_FLAG_SEND_FLUSH) has nothing more to promise: then only the wait.
   */
  async flush(): Promise<void> {
    this.checkOpen();
    await Promise.allSettled([...this.writing]);
    this.checkOpen();
    if ((this.transmissionFlags & C.NBD_FLAG_SEND_FLUSH) === 0) return;
    await this.request(C.NBD_CMD_FLUSH, 0, 0);
  }

  /**
   * Gives up at once: outstanding requests fail with "closed", NBD_CMD_DISC goes out and the
   * connection is dropped. Writes the host already received may still land, others not: what the
   * export then holds is not promised (that is the point of aborting a restore).
   */
  async abort(): Promise<void> {
    if (!this.failure) {
      const err = new TransportError("closed", `The NBD client for ${this.endpoint} was aborted`, { endpoint: this.endpoint });
      if (!this.stream.destroyed) this.stream.write(encodeRequest({ flags: 0, type: C.NBD_CMD_DISC, cookie: this.nextCookie++, offset: 0n, length: 0 }));
      this.fail(err, false);
    }
    await this.close();
  }

  /** Waits for outstanding reads, sends NBD_CMD_DISC and closes the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.failure && (this.pending.size > 0 || this.slotWaiters.length > 0)) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      }
      const clean = !this.failure;
      this.failure ??= this.closedError();
      if (clean) this.stream.write(encodeRequest({ flags: 0, type: C.NBD_CMD_DISC, cookie: this.nextCookie++, offset: 0n, length: 0 }));
      await new Promise<void>((resolve) => {
        if (this.stream.destroyed) return resolve();
        const force = setTimeout(() => this.stream.destroy(), 1000);
        this.stream.once("close", () => {
          clearTimeout(force);
          resolve();
        });
        this.stream.end();
      });
    })();
    return this.closing;
  }

  private async writeParts(offset: number, data: Buffer): Promise<void> {
    checkRange(offset, data.length);
    this.checkOpen();
    if (!this.writable) throw new HostError("NoPermission", `The export at ${this.endpoint} is read-only (NBD_FLAG_READ_ONLY): the host takes no writes on it`);
    await this.inParts(data.length, (pos, end) => this.request(C.NBD_CMD_WRITE, offset + pos, end - pos, undefined, data.subarray(pos, end)));
  }

  /** Runs one request per chunk of `length` bytes, all at once; settles when every one has. */
  private async inParts(length: number, part: (pos: number, end: number) => Promise<void>): Promise<void> {
    const parts: Promise<void>[] = [];
    for (let pos = 0; pos < length; pos += this.chunkBytes) parts.push(part(pos, Math.min(length, pos + this.chunkBytes)));
    const settled = await Promise.allSettled(parts);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** One request on the wire: `target` receives a read's data, `payload` follows a write's header. */
  private async request(type: number, offset: number, length: number, target: Buffer = NO_DATA, payload?: Buffer): Promise<void> {
    await this.acquireSlot();
    if (this.failure) {
      this.releaseSlot();
      throw this.failure;
    }
    const cookie = this.nextCookie++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new TransportError("timeout", `No reply from ${this.endpoint} to ${describe(type, offset, length)} within ${this.requestTimeoutMs} ms`, { endpoint: this.endpoint }));
      }, this.requestTimeoutMs);
      this.pending.set(cookie, { type, target, offset, length, resolve, reject, timer });
      const header = encodeRequest({ flags: 0, type, cookie, offset: BigInt(offset), length });
      if (!payload) {
        this.stream.write(header);
        return;
      }
      // Header and payload leave in one write; the payload is the caller's buffer, not a copy.
      this.stream.cork();
      this.stream.write(header);
      this.stream.write(payload);
      this.stream.uncork();
    });
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw this.closedError();
  }

  private onData(chunk: Buffer): void {
    // After a failure or an abort nothing is waiting: late replies are dropped, not decoded.
    if (this.failure) return;
    this.decoder.push(chunk);
    try {
      for (let msg = this.decoder.next(); msg; msg = this.decoder.next()) {
        if (msg.kind !== "reply") throw new TransportError("protocol", `${this.endpoint} sent ${msg.kind} during transmission`, { endpoint: this.endpoint });
        const p = this.pending.get(msg.cookie);
        if (!p) throw new TransportError("protocol", `${this.endpoint} replied to cookie ${msg.cookie}, which no request is waiting for`, { endpoint: this.endpoint });
        this.pending.delete(msg.cookie);
        clearTimeout(p.timer);
        this.releaseSlot();
        if (msg.error === 0) p.resolve();
        else {
          p.reject(this.replyError(msg.error, p));
          // ESHUTDOWN: the protocol says the client must disconnect (softly, once idle).
          if (msg.error === C.NBD_ESHUTDOWN) void this.close();
        }
        this.notifyIdle();
      }
    } catch (err) {
      this.fail(toTransportError(err, this.endpoint, "transmission"));
    }
  }

  private acquireSlot(): Promise<void> {
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  /** Hands the slot to the next waiting request, or frees it. */
  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.inFlight--;
  }

  private notifyIdle(): void {
    if (this.pending.size > 0 || this.slotWaiters.length > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private replyError(errno: number, p: Pending): Error {
    const what = describe(p.type, p.offset, p.length);
    // ENOSPC is the spec's answer to a write past the end: that is the caller's bad range, as it is
    // in every other mode, not a full datastore.
    if (errno === C.NBD_ENOSPC && p.offset + p.length > this.capacityBytes) {
      return new HostError("InvalidArgument", `The host refused ${what}: beyond the disk's ${this.capacityBytes} bytes (ENOSPC)`);
    }
    return errorFromErrno(errno, what, this.endpoint);
  }

  /**
   * The connection is unusable: fail everything outstanding with `err` and drop the socket
   * (`destroy` false: end it softly, after what was already written, e.g. an NBD_CMD_DISC).
   */
  private fail(err: Error, destroy = true): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    // Waiting requests wake up, see the failure and give their slot back.
    for (const w of this.slotWaiters.splice(0)) w();
    for (const w of this.idleWaiters.splice(0)) w();
    if (destroy) this.stream.destroy();
    else this.stream.end();
  }

  private closedError(): TransportError {
    return new TransportError("closed", `The NBD client for ${this.endpoint} is closed`, { endpoint: this.endpoint });
  }
}

function checkRange(offset: number, length: number): number {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new HostError("InvalidArgument", `Bad range: offset ${offset}, length ${length}`);
  }
  return length;
}

function describe(type: number, offset: number, length: number): string {
  if (type === C.NBD_CMD_FLUSH) return "the flush";
  return `the ${COMMAND_NAMES[type] ?? `command ${type}`} of ${length} bytes at offset ${offset}`;
}
