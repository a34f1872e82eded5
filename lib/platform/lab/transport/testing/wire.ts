// Socket-level helpers for the transport tests: a raw NBD conversation driven by hand (to send
// what a well-behaved client never would), a scripted fake NBD server (to misbehave as a host),
// and a TCP relay that records every byte it forwards (to see what actually crossed the wire).

import net from "node:net";
import * as C from "../nbd-constants";
import {
  NbdClientDecoder, NbdServerDecoder, encodeClientFlags, encodeGoData, encodeGreeting, encodeInfoExport, encodeOption, encodeOptionReply,
  type ClientMessage, type ServerMessage,
} from "../nbd-protocol";

/** A hand-driven client connection: write raw bytes, read decoded server messages. */
export class RawNbdConnection {
  readonly decoder = new NbdClientDecoder();
  readonly closed: Promise<void>;
  private waiter: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => {
      this.decoder.push(chunk);
      this.waiter?.();
    });
    socket.on("close", () => this.waiter?.());
    socket.on("error", () => undefined);
  }

  static connect(port: number): Promise<RawNbdConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => resolve(new RawNbdConnection(s)));
      s.once("error", reject);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /**
   * Connects, negotiates NBD_OPT_GO for `exportName` (NO_ZEROES) and returns the connection in
   * transmission, with the export's transmission flags. Successful replies carry no data unless
   * `decoder.readTarget` says otherwise (the default here: write, flush and zero replies).
   */
  static async transmitting(port: number, exportName = "disk"): Promise<{ c: RawNbdConnection; transmissionFlags: number }> {
    const c = await RawNbdConnection.connect(port);
    await c.next("greeting");
    c.send(encodeClientFlags(C.NBD_FLAG_C_FIXED_NEWSTYLE | C.NBD_FLAG_C_NO_ZEROES));
    c.send(encodeOption(C.NBD_OPT_GO, encodeGoData(exportName)));
    let transmissionFlags = -1;
    for (;;) {
      const m = await c.next("options");
      if (m.kind !== "option-reply") throw new Error(m.kind);
      if (m.type === C.NBD_REP_INFO && m.data.readUInt16BE(0) === C.NBD_INFO_EXPORT) transmissionFlags = m.data.readUInt16BE(10);
      else if (m.type === C.NBD_REP_ACK) break;
      else if (C.isErrorReply(m.type)) throw new Error(`GO refused: ${C.replyTypeName(m.type)}`);
    }
    c.decoder.readTarget = () => Buffer.alloc(0);
    c.decoder.phase = "transmission";
    return { c, transmissionFlags };
  }

  /** The next reply in transmission. */
  async reply(ms?: number): Promise<Extract<ServerMessage, { kind: "reply" }>> {
    const m = await this.next("transmission", ms);
    if (m.kind !== "reply") throw new Error(m.kind);
    return m;
  }

  /** The next message in `phase`; rejects if the connection closes first or after `ms`. */
  async next(phase: NbdClientDecoder["phase"], ms = 2000): Promise<ServerMessage> {
    this.decoder.phase = phase;
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.decoder.next();
      if (m) return m;
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error("connection closed");
      if (Date.now() > deadline) throw new Error("no message in time");
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
  }
}

export interface ScriptedServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A fake NBD server: greets, accepts the client flags, and hands every option to `onOption` (which
 * writes whatever it likes); transmission requests go to `onRequest` (default: ignored forever).
 */
export async function scriptedNbdServer(script: {
  onOption(socket: net.Socket, option: number, data: Buffer, enterTransmission: () => void): void;
  onRequest?(socket: net.Socket, request: Extract<ClientMessage, { kind: "request" }>): void;
}): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    const decoder = new NbdServerDecoder();
    socket.write(encodeGreeting(C.NBD_FLAG_FIXED_NEWSTYLE | C.NBD_FLAG_NO_ZEROES));
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (let m = decoder.next(); m; m = decoder.next()) {
        if (m.kind === "client-flags") decoder.phase = "options";
        else if (m.kind === "option") script.onOption(socket, m.option, m.data, () => (decoder.phase = "transmission"));
        else script.onRequest?.(socket, m);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Answers NBD_OPT_GO with an export of `size` bytes (read-only unless told) and enters transmission. */
export function acceptGo(size: number, transmissionFlags = C.NBD_FLAG_HAS_FLAGS | C.NBD_FLAG_READ_ONLY) {
  return (socket: net.Socket, option: number, _data: Buffer, enterTransmission: () => void) => {
    if (option !== C.NBD_OPT_GO) return socket.write(encodeOptionReply(option, C.NBD_REP_ERR_UNSUP));
    socket.write(encodeOptionReply(option, C.NBD_REP_INFO, encodeInfoExport(BigInt(size), transmissionFlags)));
    socket.write(encodeOptionReply(option, C.NBD_REP_ACK));
    enterTransmission();
  };
}

/** A TCP relay to `targetPort` that records the bytes flowing from the server to the client. */
export async function recordingRelay(targetPort: number): Promise<{ port: number; fromServer: () => Buffer; close(): Promise<void> }> {
  const recorded: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on("data", (chunk: Buffer) => recorded.push(Buffer.from(chunk)));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    fromServer: () => Buffer.concat(recorded),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
