// The thin transport: one reusable stream to the KMS, requests serialized on
// it (one in flight at a time, FIFO), a per-request timeout, reconnection on
// the next request after any failure, and close(). It moves opaque message
// bytes; framing is TtlvFramer's, meaning is the client's.
//
// A stream is obtained from a Connector; `tlsConnector` is the real one
// (mutual TLS, TLS >= 1.2). Tests may pass any Duplex-returning connector.

import net from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import { KmipCodecError, KmipTransportError, configErrorFrom, transportErrorFrom } from "./errors";
import { TtlvFramer } from "./framer";

/** Opens a stream ready to carry KMIP messages (for TLS: after the handshake). */
export type Connector = () => Promise<Duplex>;

export interface TlsConnectorOptions {
  host: string;
  port: number;
  /** PEM CA certificate(s) that issued the KMS certificate (replaces the system roots). */
  ca: string | Buffer | (string | Buffer)[];
  /** PEM client certificate (needs extendedKeyUsage clientAuth for most KMSs). */
  cert: string | Buffer;
  /** PEM client private key. */
  key: string | Buffer;
  passphrase?: string;
  /** Name to verify the KMS certificate against; default `host` (an IP is checked against IP SANs). */
  servername?: string;
  connectTimeoutMs: number;
  minVersion?: "TLSv1.2" | "TLSv1.3";
}

export function tlsConnector(o: TlsConnectorOptions): Connector {
  const endpoint = `${o.host}:${o.port}`;
  return () =>
    new Promise<Duplex>((resolve, reject) => {
      let socket: tls.TLSSocket;
      try {
        socket = tls.connect({
          host: o.host,
          port: o.port,
          ca: o.ca,
          cert: o.cert,
          key: o.key,
          passphrase: o.passphrase,
          // SNI must not be an IP address; identity checks still use `host` then.
          servername: o.servername ?? (net.isIP(o.host) ? undefined : o.host),
          minVersion: o.minVersion ?? "TLSv1.2",
          rejectUnauthorized: true,
        });
      } catch (err) {
        reject(configErrorFrom(err, endpoint)); // bad PEM, key/cert mismatch, wrong passphrase ...
        return;
      }
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new KmipTransportError("timeout", `No TLS handshake with KMS ${endpoint} within ${o.connectTimeoutMs} ms`, {
            endpoint,
            phase: "connect",
          }),
        );
      }, o.connectTimeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(transportErrorFrom(err, endpoint, "connect"));
      };
      socket.once("error", onError);
      socket.once("secureConnect", () => {
        clearTimeout(timer);
        socket.removeListener("error", onError);
        resolve(socket);
      });
    });
}

export interface ConnectionOptions {
  /** "host:port", for messages. */
  endpoint: string;
  requestTimeoutMs: number;
  maxMessageSize: number;
  /** Close the stream after this long without requests (0: never). */
  idleTimeoutMs: number;
}

export interface ConnectionStats {
  /** Streams opened (1 + reconnections). */
  connects: number;
  /** Requests sent. */
  requests: number;
  /** Idempotent requests resent once because a reused stream had gone stale. */
  retries: number;
}

interface Pending {
  resolve: (msg: Buffer) => void;
  reject: (err: Error) => void;
  gotBytes: boolean;
}

export class KmipConnection {
  private stream: Duplex | undefined;
  private framer: TtlvFramer;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Whether the last failed round trip had received part of an answer (then it is never resent). */
  private lastRoundTripGotBytes = false;
  readonly stats: ConnectionStats = { connects: 0, requests: 0, retries: 0 };

  constructor(
    private readonly connector: Connector,
    private readonly options: ConnectionOptions,
  ) {
    this.framer = new TtlvFramer({ maxMessageSize: options.maxMessageSize });
  }

  /** True while a stream is open (it may still be found dead on the next request). */
  get connected(): boolean {
    return this.stream !== undefined && !this.stream.destroyed;
  }

  /**
   * Send one request message and resolve with the response message's bytes.
   * Requests run one at a time in call order. `idempotent` requests are resent
   * once on a fresh stream if a reused stream turns out to be dead before any
   * response byte arrived.
   */
  request(message: Buffer, opts: { idempotent: boolean; timeoutMs?: number }): Promise<Buffer> {
    if (this.closed) return Promise.reject(this.closedError());
    const run = () => this.exchange(message, opts);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Let queued requests finish, then close the stream. Later requests fail with code "closed". */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    clearTimeout(this.idleTimer);
    const s = this.stream;
    this.stream = undefined;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => s.destroy(), 1000);
        s.once("close", () => {
          clearTimeout(t);
          resolve();
        });
        s.end();
      });
    }
  }

  private closedError(): KmipTransportError {
    return new KmipTransportError("closed", `The KMIP client for ${this.options.endpoint} is closed`, { endpoint: this.options.endpoint });
  }

  private async exchange(message: Buffer, opts: { idempotent: boolean; timeoutMs?: number }): Promise<Buffer> {
    clearTimeout(this.idleTimer);
    let fresh = false;
    if (!this.connected) {
      await this.open();
      fresh = true;
    }
    try {
      return await this.roundTrip(message, opts.timeoutMs ?? this.options.requestTimeoutMs);
    } catch (err) {
      const stale = err instanceof KmipTransportError && err.code === "connection-reset" && !fresh && opts.idempotent;
      if (!stale || this.lastRoundTripGotBytes) throw err;
      this.stats.retries++;
      await this.open();
      return await this.roundTrip(message, opts.timeoutMs ?? this.options.requestTimeoutMs);
    } finally {
      this.armIdle();
    }
  }

  private async open(): Promise<void> {
    this.drop();
    const stream = await this.connector();
    this.stats.connects++;
    this.framer.reset();
    this.stream = stream;
    let lastError: Error | undefined;
    stream.on("data", (chunk: Buffer) => this.onData(stream, chunk));
    stream.on("error", (err) => {
      lastError = err;
    });
    const onGone = () => {
      stream.destroy();
      if (this.stream !== stream) return; // dropped on purpose: whoever dropped it settled the request
      this.stream = undefined;
      const p = this.pending;
      if (p) {
        this.pending = undefined;
        p.reject(
          lastError
            ? transportErrorFrom(lastError, this.options.endpoint, "response")
            : new KmipTransportError("connection-reset", `KMS ${this.options.endpoint} closed the connection before answering`, {
                endpoint: this.options.endpoint,
                phase: "response",
              }),
        );
      }
    };
    stream.on("end", onGone);
    stream.on("close", onGone);
  }

  /** Forget the current stream (destroying it). */
  private drop(): void {
    const s = this.stream;
    this.stream = undefined;
    s?.destroy();
  }

  private onData(stream: Duplex, chunk: Buffer): void {
    if (stream !== this.stream) return;
    const p = this.pending;
    if (!p) {
      this.drop(); // unsolicited bytes: the stream cannot be trusted any more
      return;
    }
    p.gotBytes = true;
    let messages: Buffer[];
    try {
      messages = this.framer.push(chunk);
    } catch (err) {
      this.pending = undefined;
      this.drop();
      p.reject(err as KmipCodecError);
      return;
    }
    if (messages.length === 0) return;
    this.pending = undefined;
    if (messages.length > 1 || this.framer.bufferedBytes > 0) this.drop(); // more than one answer: out of sync
    p.resolve(messages[0]);
  }

  private roundTrip(message: Buffer, timeoutMs: number): Promise<Buffer> {
    const stream = this.stream;
    if (!stream) return Promise.reject(new KmipTransportError("connection-reset", `No connection to KMS ${this.options.endpoint}`, { endpoint: this.options.endpoint }));
    this.stats.requests++;
    this.lastRoundTripGotBytes = false;
    (stream as Partial<net.Socket>).ref?.();
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending !== pending) return;
        this.pending = undefined;
        this.lastRoundTripGotBytes = pending.gotBytes;
        this.drop(); // a late answer would be taken for the next request's: start over
        reject(
          new KmipTransportError("timeout", `KMS ${this.options.endpoint} did not answer within ${timeoutMs} ms`, {
            endpoint: this.options.endpoint,
            phase: "response",
          }),
        );
      }, timeoutMs);
      const pending: Pending = {
        gotBytes: false,
        resolve: (msg) => {
          clearTimeout(timer);
          resolve(msg);
        },
        reject: (err) => {
          clearTimeout(timer);
          this.lastRoundTripGotBytes = pending.gotBytes;
          reject(err);
        },
      };
      this.pending = pending;
      stream.write(message);
    });
  }

  private armIdle(): void {
    const s = this.stream;
    if (!s) return;
    (s as Partial<net.Socket>).unref?.(); // an idle client never keeps the process alive
    if (this.options.idleTimeoutMs > 0) {
      this.idleTimer = setTimeout(() => {
        if (this.stream === s && !this.pending) this.drop();
      }, this.options.idleTimeoutMs);
      this.idleTimer.unref();
    }
  }
}
