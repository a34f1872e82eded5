// The client side of NBD negotiation, as a backup proxy does it: TCP connect, fixed newstyle
// greeting, optionally NBD_OPT_STARTTLS and a TLS handshake that verifies the host's certificate,
// then NBD_OPT_GO for the export (falling back to NBD_OPT_EXPORT_NAME for a server that does not
// know GO). Every refusal becomes a typed error: HostError for what the host decided (unknown
// export, policy denial), TransportError for everything else.

import net from "node:net";
import tls from "node:tls";
import { HostError } from "../data-plane/types";
import { TransportError, hostErrorFromPolicyMessage, toTransportError } from "./errors";
import * as C from "./nbd-constants";
import {
  NbdClientDecoder, decodeInfo, encodeClientFlags, encodeGoData, encodeOption, type ServerMessage,
} from "./nbd-protocol";

export interface NbdClientTlsOptions {
  /** PEM CA certificate(s) the host's certificate must chain to (replaces the system roots). */
  ca: string | Buffer | (string | Buffer)[];
  /** Name to check the certificate against; default the host (an IP is checked against IP SANs). */
  servername?: string;
  /** Optional client certificate, for hosts that ask for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface NegotiationOptions {
  host: string;
  port: number;
  exportName: string;
  /** Set for NBDSSL: STARTTLS first, and give up rather than continue in clear. */
  tls?: NbdClientTlsOptions;
  /** TCP connect + TLS handshake + option haggling, all together (default 10 s). */
  connectTimeoutMs?: number;
}

export interface Negotiated {
  stream: net.Socket | tls.TLSSocket;
  decoder: NbdClientDecoder;
  size: bigint;
  transmissionFlags: number;
  blockSize: { minimum: number; preferred: number; maximum: number } | undefined;
  tls: boolean;
}

/** Hands out decoded messages one at a time; the caller changes the decoder's phase in between. */
class Inbox {
  private waiter: { resolve: (m: ServerMessage) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(
    readonly decoder: NbdClientDecoder,
    private readonly endpoint: string,
  ) {}

  /** Feeds the inbox from `stream`; returns a function that removes exactly these listeners. */
  listen(stream: net.Socket | tls.TLSSocket, phase: "connect" | "tls" | "negotiation"): () => void {
    const onData = (chunk: Buffer) => {
      this.decoder.push(chunk);
      this.deliver();
    };
    const onError = (err: Error) => this.fail(toTransportError(err, this.endpoint, phase));
    const onClose = () => this.fail(new TransportError("connection-reset", `${this.endpoint} closed the connection during NBD negotiation`, { endpoint: this.endpoint }));
    stream.on("data", onData);
    stream.on("error", onError);
    stream.on("close", onClose);
    return () => {
      stream.removeListener("data", onData);
      stream.removeListener("error", onError);
      stream.removeListener("close", onClose);
    };
  }

  next(): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.deliver();
    });
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.deliver();
  }

  private deliver(): void {
    const w = this.waiter;
    if (!w) return;
    try {
      const msg = this.decoder.next();
      if (msg) {
        this.waiter = undefined;
        return w.resolve(msg);
      }
    } catch (err) {
      this.failure ??= toTransportError(err, this.endpoint, "negotiation");
    }
    if (this.failure) {
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }
}

export async function negotiate(o: NegotiationOptions): Promise<Negotiated> {
  const endpoint = `${o.host}:${o.port}`;
  const timeoutMs = o.connectTimeoutMs ?? 10_000;
  const raw = net.connect({ host: o.host, port: o.port });
  let current: net.Socket | tls.TLSSocket = raw;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportError("timeout", `No NBD negotiation with ${endpoint} within ${timeoutMs} ms`, { endpoint })), timeoutMs);
  });
  const running = run();
  running.catch(() => undefined); // when the timeout wins, run() still settles later
  try {
    return await Promise.race([running, timeout]);
  } catch (err) {
    current.destroy();
    raw.destroy();
    throw toTransportError(err, endpoint, "negotiation");
  } finally {
    clearTimeout(timer);
  }

  async function run(): Promise<Negotiated> {
    const decoder = new NbdClientDecoder();
    const inbox = new Inbox(decoder, endpoint);
    let unlisten = inbox.listen(raw, "connect");
    raw.setNoDelay(true);

    const greeting = await inbox.next();
    if (greeting.kind !== "greeting" || (greeting.handshakeFlags & C.NBD_FLAG_FIXED_NEWSTYLE) === 0) {
      throw new TransportError("protocol", `${endpoint} does not speak fixed newstyle NBD`, { endpoint });
    }
    const noZeroes = (greeting.handshakeFlags & C.NBD_FLAG_NO_ZEROES) !== 0;
    raw.write(encodeClientFlags(C.NBD_FLAG_C_FIXED_NEWSTYLE | (noZeroes ? C.NBD_FLAG_C_NO_ZEROES : 0)));
    decoder.phase = "options";
    decoder.noZeroes = noZeroes;

    // Ask one option, read its replies until a final one (ACK or error).
    const ask = async (option: number, data?: Buffer, onInfo?: (m: Buffer) => void): Promise<{ type: number; text: string }> => {
      current.write(encodeOption(option, data));
      for (;;) {
        const m = await inbox.next();
        if (m.kind !== "option-reply" || m.option !== option) {
          throw new TransportError("protocol", `${endpoint} answered option ${option} with a reply to ${m.kind === "option-reply" ? m.option : m.kind}`, { endpoint });
        }
        if (m.type === C.NBD_REP_INFO && onInfo) onInfo(m.data);
        else if (m.type === C.NBD_REP_ACK || C.isErrorReply(m.type)) return { type: m.type, text: m.data.toString("utf8").slice(0, 1000) };
        // Other informational replies (NBD_REP_SERVER ...) are not for GO; skip them.
      }
    };
    // A soft disconnect before giving up, as the protocol asks of a client.
    const abandon = (err: Error): never => {
      current.write(encodeOption(C.NBD_OPT_ABORT));
      current.end();
      throw err;
    };

    let secured = false;
    if (o.tls) {
      const answer = await ask(C.NBD_OPT_STARTTLS);
      if (answer.type !== C.NBD_REP_ACK) {
        abandon(new TransportError("tls", `${endpoint} will not start TLS (${C.replyTypeName(answer.type)}${answer.text ? `: ${answer.text}` : ""}); NBDSSL refuses to continue in clear`, { endpoint }));
      }
      if (decoder.buffered > 0) throw new TransportError("protocol", `${endpoint} sent cleartext after accepting STARTTLS`, { endpoint });
      unlisten();
      raw.on("error", () => undefined); // errors now surface on the TLS socket
      current = tls.connect({
        socket: raw,
        host: o.host,
        servername: o.tls.servername ?? (net.isIP(o.host) ? undefined : o.host),
        ca: o.tls.ca,
        cert: o.tls.cert,
        key: o.tls.key,
        minVersion: "TLSv1.2",
        rejectUnauthorized: true,
      });
      unlisten = inbox.listen(current, "tls");
      const secure = current;
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => done(toTransportError(err, endpoint, "tls"));
        const onClose = () => done(new TransportError("tls", `${endpoint} closed the connection during the TLS handshake`, { endpoint }));
        const done = (err?: Error) => {
          secure.removeListener("secureConnect", onSecure).removeListener("error", onError).removeListener("close", onClose);
          if (err) reject(err);
          else resolve();
        };
        const onSecure = () => done();
        secure.once("secureConnect", onSecure).once("error", onError).once("close", onClose);
      });
      secured = true;
    }

    let size: bigint | undefined;
    let transmissionFlags = 0;
    let blockSize: Negotiated["blockSize"];
    const go = await ask(C.NBD_OPT_GO, encodeGoData(o.exportName, [C.NBD_INFO_BLOCK_SIZE]), (data) => {
      const info = decodeInfo(data);
      if (info.type === "export") {
        size = info.size;
        transmissionFlags = info.transmissionFlags;
      } else if (info.type === "block-size") blockSize = info;
    });
    if (go.type === C.NBD_REP_ERR_UNSUP) {
      // A server without GO: the old way, which cannot report errors (the server just hangs up).
      current.write(encodeOption(C.NBD_OPT_EXPORT_NAME, Buffer.from(o.exportName, "utf8")));
      decoder.phase = "export-name";
      const reply = await inbox.next();
      if (reply.kind !== "export-name-reply") throw new TransportError("protocol", `${endpoint} sent ${reply.kind} after NBD_OPT_EXPORT_NAME`, { endpoint });
      size = reply.size;
      transmissionFlags = reply.transmissionFlags;
    } else if (go.type !== C.NBD_REP_ACK) {
      abandon(refusal(go.type, go.text, o.exportName, endpoint));
    }
    if (size === undefined) throw new TransportError("protocol", `${endpoint} accepted NBD_OPT_GO without NBD_INFO_EXPORT`, { endpoint });
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new TransportError("protocol", `${endpoint} reports an export of ${size} bytes`, { endpoint });
    decoder.phase = "transmission";
    // Paused until the client's own listeners are attached, so no byte is emitted to nobody.
    current.pause();
    unlisten();
    return { stream: current, decoder, size, transmissionFlags, blockSize, tls: secured };
  }
}

function refusal(type: number, text: string, exportName: string, endpoint: string): Error {
  switch (type) {
    case C.NBD_REP_ERR_UNKNOWN:
      return new HostError("NotFound", `The host has no export "${exportName}"${text ? `: ${text}` : ""}`);
    case C.NBD_REP_ERR_POLICY:
      return hostErrorFromPolicyMessage(text, exportName);
    case C.NBD_REP_ERR_TLS_REQD:
      return new TransportError("tls-required", `${endpoint} requires TLS for export "${exportName}" (NBD_REP_ERR_TLS_REQD): use NBDSSL${text ? ` — ${text}` : ""}`, { endpoint });
    case C.NBD_REP_ERR_SHUTDOWN:
      return new TransportError("closed", `${endpoint} is shutting down`, { endpoint });
    default:
      return new TransportError("protocol", `${endpoint} refused NBD_OPT_GO: ${C.replyTypeName(type)}${text ? `: ${text}` : ""}`, { endpoint });
  }
}
