// One client connection to the lab host's NBD server: fixed newstyle negotiation, optional
// upgrade to TLS (NBD_OPT_STARTTLS), then requests served from the export's disk.
//
// A backup's export is read-only (a snapshot of a VM disk): NBD_CMD_READ and NBD_CMD_DISC, and
// writes refused with EPERM. A restore's export is writable (the export has a DiskSink): writes,
// NBD_CMD_WRITE_ZEROES and NBD_CMD_FLUSH as well, applied by export-writes.ts. Requests are served
// concurrently up to a bound and replies may leave out of order (NBD allows it; the client matches
// cookies). When the bound is reached, when the write payloads held reach their budget, or when
// the socket's send buffer is full, we stop reading from the socket: a client that floods requests
// and never reads replies, or streams writes faster than the disk takes them, costs a bounded
// amount of memory.

import type net from "node:net";
import tls from "node:tls";
import { SECTOR_SIZE, type DiskReader } from "../data-plane/types";
import { BufferPool } from "./buffer-pool";
import type { DiskSink } from "./disk-sink";
import { errnoForDiskFailure, policyDenialMessage } from "./errors";
import { ExportWrites } from "./export-writes";
import * as C from "./nbd-constants";
import {
  NbdServerDecoder, decodeGoData, decodeNbdString, encodeExportNameReply, encodeGreeting, encodeInfoBlockSize,
  encodeInfoExport, encodeOptionReply, encodeSimpleReplyHeader, type ClientMessage, type NbdRequest,
} from "./nbd-protocol";
import type { TransportDecision } from "../../transport-policy";
import type { WriteGate } from "./write-gate";

export interface NbdExportRegistration {
  /** The disk served; null when the policy denied the export (nothing is opened then). */
  reader: DiskReader | null;
  /**
   * Set for a writable export (a restore): where writes go. `reader` must show what it wrote (it
   * serves reads, and the read half of partial-sector writes). Absent: the export is read-only.
   */
  writer?: DiskSink | null;
  /** The transport policy's answer for this export; a denial answers NBD_REP_ERR_POLICY. */
  decision: TransportDecision;
  /** SELECTIVETLS: this export is only served after NBD_OPT_STARTTLS (NBDSSL). */
  tlsOnly?: boolean;
}

/** An export as the server keeps it: the registration and the gate its writers share. */
export interface RegisteredExport extends NbdExportRegistration {
  gate: WriteGate;
}

export interface SessionLoad {
  inFlight: number;
  writeBytesHeld: number;
  bufferedBytes: number;
}

/** What a session needs from its server. */
export interface SessionContext {
  tlsMode: "none" | "required" | "optional";
  secureContext: tls.SecureContext | undefined;
  lookup(name: string): RegisteredExport | undefined;
  maxRequestBytes: number;
  maxInFlight: number;
  /** Write payload bytes held at once (received, not yet on the disk) before reading stops. */
  maxWriteBytesInFlight: number;
  handshakeTimeoutMs: number;
  countRead(bytes: number): void;
  countWritten(bytes: number): void;
}

/** Handed out in NBD_INFO_BLOCK_SIZE: CBT's 1 MiB block is the efficient unit for a backup read. */
const PREFERRED_BLOCK = 1024 * 1024;
/** Read-only snapshot data: any number of connections see the same bytes. */
const READ_ONLY_FLAGS = C.NBD_FLAG_HAS_FLAGS | C.NBD_FLAG_READ_ONLY | C.NBD_FLAG_CAN_MULTI_CONN;
/**
 * A restore target. Multi-conn holds because every connection to an export shares its one sink
 * and gate: a flush on any connection flushes the writes of all of them.
 */
const WRITABLE_FLAGS = C.NBD_FLAG_HAS_FLAGS | C.NBD_FLAG_SEND_FLUSH | C.NBD_FLAG_SEND_FUA | C.NBD_FLAG_SEND_WRITE_ZEROES | C.NBD_FLAG_CAN_MULTI_CONN;

const transmissionFlags = (entry: RegisteredExport) => (entry.writer ? WRITABLE_FLAGS : READ_ONLY_FLAGS);

type Request = Extract<ClientMessage, { kind: "request" }>;
type Resolved = { ok: true; entry: RegisteredExport; reader: DiskReader } | { ok: false; reply: number; text: string };

export class NbdSession {
  /** Resolves once the TCP connection is closed, for whatever reason. */
  readonly closed: Promise<void>;
  private stream: net.Socket | tls.TLSSocket;
  private readonly decoder: NbdServerDecoder;
  private tlsActive = false;
  private upgrading = false;
  private noZeroes = false;
  private reader: DiskReader | undefined;
  /** Null for a read-only export. */
  private writes: ExportWrites | null = null;
  private inFlight = 0;
  /** Payload bytes of writes received and not yet applied. */
  private writeBytesHeld = 0;
  private disconnecting = false;
  private gone = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly pool: BufferPool;

  constructor(
    private readonly raw: net.Socket,
    private readonly ctx: SessionContext,
  ) {
    this.stream = raw;
    // Enough idle buffers for a full window of preferred-size requests, never more than 64 MiB.
    this.pool = new BufferPool(Math.min(64 * 1024 * 1024, ctx.maxInFlight * 2 * PREFERRED_BLOCK));
    this.decoder = new NbdServerDecoder({ maxWritePayload: ctx.maxRequestBytes, payloadTarget: (length) => this.pool.lease(length) });
    this.closed = new Promise((resolve) => raw.once("close", () => resolve()));
    raw.once("close", () => {
      this.gone = true;
      clearTimeout(this.handshakeTimer);
      this.pool.clear();
    });
    // Socket errors only ever end the session; there is nobody to report them to but the client.
    raw.on("error", () => this.destroy());
    raw.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => this.destroy(), ctx.handshakeTimeoutMs);
    this.attach(raw);
    this.send(encodeGreeting(C.NBD_FLAG_FIXED_NEWSTYLE | C.NBD_FLAG_NO_ZEROES));
  }

  /** What this connection holds now: requests being served, write payloads, bytes received and not decoded. */
  get load(): SessionLoad {
    return { inFlight: this.inFlight, writeBytesHeld: this.writeBytesHeld, bufferedBytes: this.decoder.buffered };
  }

  /** Hard disconnect (protocol violation, server shutdown). */
  destroy(): void {
    this.gone = true;
    clearTimeout(this.handshakeTimer);
    this.stream.destroy();
    this.raw.destroy();
  }

  private readonly onData = (chunk: Buffer) => {
    this.decoder.push(chunk);
    this.pump();
  };
  private readonly onDrain = () => this.pump();

  private attach(stream: net.Socket | tls.TLSSocket): void {
    stream.on("data", this.onData);
    stream.on("drain", this.onDrain);
  }

  private pump(): void {
    try {
      while (!this.gone && !this.upgrading && !this.disconnecting && this.canTakeMore()) {
        const msg = this.decoder.next();
        if (!msg) break;
        this.handle(msg);
      }
    } catch {
      // NbdProtocolError: bad magic or an oversized length. The stream cannot be resynchronised.
      this.destroy();
      return;
    }
    if (this.gone || this.upgrading) return;
    if (this.canTakeMore()) this.stream.resume();
    else this.stream.pause();
  }

  private canTakeMore(): boolean {
    return this.inFlight < this.ctx.maxInFlight && this.writeBytesHeld < this.ctx.maxWriteBytesInFlight && !this.stream.writableNeedDrain;
  }

  private handle(msg: ClientMessage): void {
    if (msg.kind === "client-flags") {
      // Unknown client flags must end the session; we also insist on fixed newstyle, which every
      // client of the last decade speaks and without which STARTTLS is not allowed.
      if ((msg.flags & ~C.KNOWN_CLIENT_FLAGS) !== 0 || (msg.flags & C.NBD_FLAG_C_FIXED_NEWSTYLE) === 0) return this.destroy();
      this.noZeroes = (msg.flags & C.NBD_FLAG_C_NO_ZEROES) !== 0;
      this.decoder.phase = "options";
      return;
    }
    if (msg.kind === "option") return this.handleOption(msg.option, msg.data);
    return this.handleRequest(msg);
  }

  private handleOption(option: number, data: Buffer): void {
    const reply = (type: number, payload?: Buffer) => this.send(encodeOptionReply(option, type, payload));
    const refuse = (type: number, text: string) => reply(type, messageBytes(text));

    if (option === C.NBD_OPT_STARTTLS) {
      if (data.length !== 0) return refuse(C.NBD_REP_ERR_INVALID, "NBD_OPT_STARTTLS carries no data");
      if (this.tlsActive) return refuse(C.NBD_REP_ERR_INVALID, "TLS is already active on this connection");
      if (this.ctx.tlsMode === "none" || !this.ctx.secureContext) return refuse(C.NBD_REP_ERR_POLICY, "This host does not offer TLS for NBD");
      return this.startTls();
    }
    if (option === C.NBD_OPT_ABORT) {
      reply(C.NBD_REP_ACK);
      return this.end();
    }
    if (this.ctx.tlsMode === "required" && !this.tlsActive) {
      // FORCEDTLS. NBD_OPT_EXPORT_NAME has no way to carry an error, so the session just ends.
      if (option === C.NBD_OPT_EXPORT_NAME) return this.destroy();
      return refuse(C.NBD_REP_ERR_TLS_REQD, "This host requires TLS: send NBD_OPT_STARTTLS first");
    }
    if (option === C.NBD_OPT_EXPORT_NAME) {
      let resolved: Resolved;
      try {
        resolved = this.resolve(decodeNbdString(data, "export name"));
      } catch {
        return this.destroy();
      }
      if (!resolved.ok) return this.destroy();
      this.send(encodeExportNameReply(BigInt(resolved.reader.capacityBytes), transmissionFlags(resolved.entry), this.noZeroes));
      return this.enterTransmission(resolved);
    }
    if (option === C.NBD_OPT_GO || option === C.NBD_OPT_INFO) {
      let go: ReturnType<typeof decodeGoData>;
      try {
        go = decodeGoData(data);
      } catch (err) {
        return refuse(C.NBD_REP_ERR_INVALID, (err as Error).message);
      }
      const resolved = this.resolve(go.name);
      if (!resolved.ok) return refuse(resolved.reply, resolved.text);
      reply(C.NBD_REP_INFO, encodeInfoExport(BigInt(resolved.reader.capacityBytes), transmissionFlags(resolved.entry)));
      if (go.infoRequests.includes(C.NBD_INFO_BLOCK_SIZE)) {
        const max = this.ctx.maxRequestBytes;
        reply(C.NBD_REP_INFO, encodeInfoBlockSize(SECTOR_SIZE, Math.min(PREFERRED_BLOCK, max), max));
      }
      reply(C.NBD_REP_ACK);
      if (option === C.NBD_OPT_GO) this.enterTransmission(resolved);
      return;
    }
    if (option === C.NBD_OPT_LIST) return refuse(C.NBD_REP_ERR_POLICY, "Export listing is disabled: export names are per-session tickets");
    return refuse(C.NBD_REP_ERR_UNSUP, `Option ${option} is not supported by this host`);
  }

  private resolve(name: string): Resolved {
    const entry = this.ctx.lookup(name);
    if (!entry) return { ok: false, reply: C.NBD_REP_ERR_UNKNOWN, text: `No export named "${name}" on this host` };
    if (entry.tlsOnly && !this.tlsActive) return { ok: false, reply: C.NBD_REP_ERR_TLS_REQD, text: `Export "${name}" is served only over TLS (NBDSSL)` };
    if (!entry.decision.allowed) return { ok: false, reply: C.NBD_REP_ERR_POLICY, text: policyDenialMessage(entry.decision.error) };
    if (!entry.reader) return { ok: false, reply: C.NBD_REP_ERR_UNKNOWN, text: `Export "${name}" has no disk` };
    return { ok: true, entry, reader: entry.reader };
  }

  private enterTransmission(resolved: Extract<Resolved, { ok: true }>): void {
    clearTimeout(this.handshakeTimer);
    this.reader = resolved.reader;
    const { writer, gate } = resolved.entry;
    this.writes = writer ? new ExportWrites(resolved.reader, writer, gate, this.pool) : null;
    this.decoder.phase = "transmission";
  }

  private startTls(): void {
    // The client must wait for our ACK before starting the handshake; bytes already queued would
    // be cleartext smuggled in front of the TLS session.
    if (this.decoder.buffered > 0) return this.destroy();
    this.send(encodeOptionReply(C.NBD_OPT_STARTTLS, C.NBD_REP_ACK));
    this.upgrading = true;
    this.raw.removeListener("data", this.onData);
    this.raw.removeListener("drain", this.onDrain);
    const secure = new tls.TLSSocket(this.raw, { isServer: true, secureContext: this.ctx.secureContext });
    secure.on("error", () => this.destroy());
    secure.once("secure", () => {
      this.stream = secure;
      this.tlsActive = true;
      this.upgrading = false;
      this.attach(secure);
      this.pump();
    });
  }

  private handleRequest(req: Request): void {
    switch (req.type) {
      case C.NBD_CMD_READ:
        return this.serveRead(req);
      case C.NBD_CMD_DISC:
        this.disconnecting = true;
        return this.finishIfIdle();
      case C.NBD_CMD_WRITE:
        return this.serveWrite(req);
      case C.NBD_CMD_WRITE_ZEROES:
        return this.serveWriteZeroes(req);
      case C.NBD_CMD_FLUSH:
        // Not offered on a read-only export (no NBD_FLAG_SEND_FLUSH), so not a valid command there.
        if (!this.writes) return this.reply(req.cookie, C.NBD_EINVAL);
        if ((req.flags & ~C.NBD_CMD_FLAG_FUA) !== 0 || req.offset !== 0n || req.length !== 0) return this.reply(req.cookie, C.NBD_EINVAL);
        return this.track(req.cookie, 0, this.writes.flush());
      case C.NBD_CMD_TRIM:
        // The spec's answer to a trim of a read-only export; a writable one does not offer trim.
        return this.reply(req.cookie, this.writes ? C.NBD_EINVAL : C.NBD_EPERM);
      default:
        return this.reply(req.cookie, C.NBD_EINVAL);
    }
  }

  private serveWrite(req: Request): void {
    const payload = req.payload;
    // Above the largest request the host takes, the payload was dropped on arrival: EOVERFLOW (the
    // spec's answer to a request over the maximum block size), and the connection goes on.
    const errno = this.writes && req.discarded !== undefined ? C.NBD_EOVERFLOW : this.writeRefusal(req, C.NBD_CMD_FLAG_FUA);
    if (errno !== undefined || req.length === 0 || !payload) {
      if (payload) this.pool.giveBack(payload);
      return this.reply(req.cookie, errno ?? 0);
    }
    this.writeBytesHeld += payload.length;
    const applied = this.writes!.write(Number(req.offset), req.length, payload, (req.flags & C.NBD_CMD_FLAG_FUA) !== 0);
    this.track(req.cookie, req.length, applied, () => {
      this.writeBytesHeld -= payload.length;
      this.pool.giveBack(payload);
    });
  }

  private serveWriteZeroes(req: NbdRequest): void {
    const errno = this.writeRefusal(req, C.NBD_CMD_FLAG_FUA | C.NBD_CMD_FLAG_NO_HOLE);
    if (errno !== undefined || req.length === 0) return this.reply(req.cookie, errno ?? 0);
    // NO_HOLE or not, zeros are written: a DiskSink has no way to punch a hole.
    this.track(req.cookie, req.length, this.writes!.write(Number(req.offset), req.length, null, (req.flags & C.NBD_CMD_FLAG_FUA) !== 0));
  }

  /** The error a write-like request gets before it touches the disk, if any. */
  private writeRefusal(req: NbdRequest, allowedFlags: number): number | undefined {
    if (!this.writes) return C.NBD_EPERM; // read-only export (the spec's answer)
    if ((req.flags & ~allowedFlags) !== 0) return C.NBD_EINVAL;
    if (req.offset + BigInt(req.length) > BigInt(this.writes.capacityBytes)) return C.NBD_ENOSPC; // the spec's answer for a write beyond the end
    return undefined;
  }

  /** Replies to `cookie` once `work` settles; counts it in flight meanwhile. */
  private track(cookie: bigint, bytes: number, work: Promise<void>, settled?: () => void): void {
    this.inFlight++;
    work
      .then(
        () => {
          this.ctx.countWritten(bytes);
          this.reply(cookie, 0);
        },
        (err) => this.reply(cookie, errnoForDiskFailure(err)),
      )
      .finally(() => {
        settled?.();
        this.inFlight--;
        if (this.disconnecting) this.finishIfIdle();
        else this.pump();
      });
  }

  private serveRead(req: NbdRequest): void {
    const reader = this.reader!;
    if (req.length > this.ctx.maxRequestBytes) return this.reply(req.cookie, C.NBD_EOVERFLOW);
    if (req.offset + BigInt(req.length) > BigInt(reader.capacityBytes)) return this.reply(req.cookie, C.NBD_EINVAL);
    if (req.length === 0) return this.reply(req.cookie, 0, Buffer.alloc(0));
    // DiskReader works in whole sectors; NBD clients may ask for any byte range.
    const offset = Number(req.offset);
    const start = Math.floor(offset / SECTOR_SIZE) * SECTOR_SIZE;
    const end = Math.min(Math.ceil((offset + req.length) / SECTOR_SIZE) * SECTOR_SIZE, reader.capacityBytes);
    this.inFlight++;
    const buffer = this.pool.acquire(end - start);
    reader
      .readInto(start, buffer.subarray(0, end - start))
      .then(
        () => {
          this.ctx.countRead(req.length);
          // The buffer goes back to the pool once the socket has taken the bytes.
          this.reply(req.cookie, 0, buffer.subarray(offset - start, offset - start + req.length), () => this.pool.release(buffer));
        },
        (err) => {
          this.pool.release(buffer);
          this.reply(req.cookie, errnoForDiskFailure(err));
        },
      )
      .finally(() => {
        this.inFlight--;
        if (this.disconnecting) this.finishIfIdle();
        else this.pump();
      });
  }

  private reply(cookie: bigint, error: number, data?: Buffer, written?: () => void): void {
    if (this.gone) return;
    this.stream.cork();
    this.stream.write(encodeSimpleReplyHeader(error, cookie));
    if (error === 0 && data && data.length > 0) this.stream.write(data, written && (() => written()));
    this.stream.uncork();
  }

  private finishIfIdle(): void {
    if (this.inFlight === 0) this.end();
  }

  /** Soft close: flush what was written, close TLS cleanly, then TCP. */
  private end(): void {
    if (this.gone) return;
    this.gone = true;
    clearTimeout(this.handshakeTimer);
    this.stream.end();
    // A peer that never closes its side must not keep the socket forever.
    setTimeout(() => this.raw.destroy(), 2000).unref();
  }

  private send(bytes: Buffer): void {
    if (!this.gone) this.stream.write(bytes);
  }
}

/** An error message for an option reply. The spec caps strings at 4096 bytes; 1000 UTF-16 units stay below it. */
function messageBytes(text: string): Buffer {
  return Buffer.from(text.length > 1000 ? `${text.slice(0, 999)}…` : text, "utf8");
}
