// The proxy side of NBD / NBDSSL: a DiskReader over a real NBD connection to the host.
//
// A read is split into requests of at most `maxRequestBytes` (and never above the maximum block
// size the host advertised), and up to `maxInFlight` requests travel at once on the connection,
// matched to their replies by cookie: over a network the round trip, not the bandwidth, is what a
// one-at-a-time reader would measure. Reply data is copied straight from the socket's chunks into
// the caller's buffer.
//
// NBD cannot cancel a request. A request that times out therefore poisons the connection: every
// outstanding read fails with "timeout", the socket is dropped, and later reads fail with the same
// error. The caller (the engine) retries on a fresh connection, which is what VDDK users do too.

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
  /** Largest single request (default 4 MiB); larger reads are split. */
  maxRequestBytes?: number;
  tls?: NbdClientTlsOptions;
}

interface Pending {
  target: Buffer;
  offset: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

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
    if (this.failure) throw this.failure;
    if (this.closing) throw this.closedError();
    const parts: Promise<void>[] = [];
    for (let pos = 0; pos < target.length; pos += this.chunkBytes) {
      parts.push(this.request(offset + pos, target.subarray(pos, Math.min(target.length, pos + this.chunkBytes))));
    }
    // Wait for every part, not just the first failure: replies still in flight write into
    // `target`, and the caller may hand that buffer to someone else as soon as we return.
    const settled = await Promise.allSettled(parts);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
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

  private async request(offset: number, target: Buffer): Promise<void> {
    await this.acquireSlot();
    if (this.failure) {
      this.releaseSlot();
      throw this.failure;
    }
    const cookie = this.nextCookie++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new TransportError("timeout", `No reply from ${this.endpoint} to the read of ${target.length} bytes at offset ${offset} within ${this.requestTimeoutMs} ms`, { endpoint: this.endpoint }));
      }, this.requestTimeoutMs);
      this.pending.set(cookie, { target, offset, resolve, reject, timer });
      this.stream.write(encodeRequest({ flags: 0, type: C.NBD_CMD_READ, cookie, offset: BigInt(offset), length: target.length }));
    });
  }

  private onData(chunk: Buffer): void {
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
          p.reject(errorFromErrno(msg.error, `the read of ${p.target.length} bytes at offset ${p.offset}`, this.endpoint));
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

  /** The connection is unusable: fail everything outstanding with `err` and drop the socket. */
  private fail(err: Error): void {
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
    this.stream.destroy();
  }

  private closedError(): TransportError {
    return new TransportError("closed", `The NBD client for ${this.endpoint} is closed`, { endpoint: this.endpoint });
  }
}

function checkRange(offset: number, length: number): number {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new HostError("InvalidArgument", `Bad read range: offset ${offset}, length ${length}`);
  }
  return length;
}
