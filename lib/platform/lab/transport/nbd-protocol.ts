// A pure codec for the NBD protocol, fixed newstyle negotiation with simple replies: encoders for
// every message the lab's server and client send, and incremental decoders for what each side
// receives. No sockets here: the server and client feed bytes in, in whatever chunks TCP or TLS
// delivers, and pull whole messages out.
//
// What a message means depends on the phase of the session, and only the session knows when the
// phase changes (an NBD_OPT_GO may succeed or fail), so decoders hand out one message at a time and
// the caller sets `phase` between calls. Malformed input raises NbdProtocolError, never anything
// else, and no length read from the wire is trusted with an allocation before it is checked.

import { ByteQueue } from "./byte-queue";
import * as C from "./nbd-constants";

export type NbdProtocolErrorCode =
  | "bad-magic" // a magic number that is not the one this phase expects
  | "oversized" // a length above the configured cap (option data, option reply, write payload)
  | "malformed" // a well-framed message whose contents are invalid (e.g. a GO with a lying name length)
  | "unexpected"; // a valid message that this phase does not allow (e.g. a reply to no request)

export class NbdProtocolError extends Error {
  override readonly name = "NbdProtocolError";
  constructor(
    readonly code: NbdProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ---- encoders -------------------------------------------------------------------------------

export function encodeGreeting(handshakeFlags: number): Buffer {
  const b = Buffer.alloc(18);
  b.writeBigUInt64BE(C.NBDMAGIC, 0);
  b.writeBigUInt64BE(C.IHAVEOPT, 8);
  b.writeUInt16BE(handshakeFlags, 16);
  return b;
}

export function encodeClientFlags(flags: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(flags >>> 0, 0);
  return b;
}

export function encodeOption(option: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(16 + data.length);
  b.writeBigUInt64BE(C.IHAVEOPT, 0);
  b.writeUInt32BE(option >>> 0, 8);
  b.writeUInt32BE(data.length, 12);
  data.copy(b, 16);
  return b;
}

export function encodeOptionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(20 + data.length);
  b.writeBigUInt64BE(C.OPTION_REPLY_MAGIC, 0);
  b.writeUInt32BE(option >>> 0, 8);
  b.writeUInt32BE(type >>> 0, 12);
  b.writeUInt32BE(data.length, 16);
  data.copy(b, 20);
  return b;
}

/** The server's answer to NBD_OPT_EXPORT_NAME (the only option without an option reply). */
export function encodeExportNameReply(size: bigint, transmissionFlags: number, noZeroes: boolean): Buffer {
  const b = Buffer.alloc(10 + (noZeroes ? 0 : C.EXPORT_NAME_ZEROES));
  b.writeBigUInt64BE(size, 0);
  b.writeUInt16BE(transmissionFlags, 8);
  return b;
}

export interface NbdRequest {
  flags: number;
  type: number;
  cookie: bigint;
  offset: bigint;
  length: number;
}

/** A request header; an NBD_CMD_WRITE's payload follows it on the wire (the caller sends it). */
export function encodeRequest(r: NbdRequest): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(C.REQUEST_MAGIC, 0);
  b.writeUInt16BE(r.flags, 4);
  b.writeUInt16BE(r.type, 6);
  b.writeBigUInt64BE(r.cookie, 8);
  b.writeBigUInt64BE(r.offset, 16);
  b.writeUInt32BE(r.length, 24);
  return b;
}

/** A simple reply header; a successful NBD_CMD_READ's data follows it on the wire. */
export function encodeSimpleReplyHeader(error: number, cookie: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(C.SIMPLE_REPLY_MAGIC, 0);
  b.writeUInt32BE(error >>> 0, 4);
  b.writeBigUInt64BE(cookie, 8);
  return b;
}

// ---- option payloads (NBD_OPT_INFO / NBD_OPT_GO and NBD_REP_INFO) ---------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Export names and error messages: valid UTF-8, no NUL, at most 4096 bytes (the spec's string). */
export function decodeNbdString(bytes: Buffer, what: string): string {
  if (bytes.length > C.NBD_MAX_STRING_LENGTH) throw new NbdProtocolError("oversized", `${what} is ${bytes.length} bytes (max ${C.NBD_MAX_STRING_LENGTH})`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new NbdProtocolError("malformed", `${what} is not valid UTF-8`);
  }
  if (text.includes("\0")) throw new NbdProtocolError("malformed", `${what} contains NUL`);
  return text;
}

export interface GoRequest {
  name: string;
  infoRequests: number[];
}

export function encodeGoData(name: string, infoRequests: number[] = []): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const b = Buffer.alloc(4 + nameBytes.length + 2 + 2 * infoRequests.length);
  b.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(b, 4);
  b.writeUInt16BE(infoRequests.length, 4 + nameBytes.length);
  infoRequests.forEach((t, i) => b.writeUInt16BE(t, 6 + nameBytes.length + 2 * i));
  return b;
}

export function decodeGoData(data: Buffer): GoRequest {
  if (data.length < 6) throw new NbdProtocolError("malformed", `NBD_OPT_GO data is ${data.length} bytes (min 6)`);
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 6) throw new NbdProtocolError("malformed", `NBD_OPT_GO name length ${nameLength} overruns the option`);
  const name = decodeNbdString(data.subarray(4, 4 + nameLength), "export name");
  const count = data.readUInt16BE(4 + nameLength);
  if (data.length !== 6 + nameLength + 2 * count) throw new NbdProtocolError("malformed", `NBD_OPT_GO lists ${count} info requests in ${data.length - 6 - nameLength} bytes`);
  const infoRequests: number[] = [];
  for (let i = 0; i < count; i++) infoRequests.push(data.readUInt16BE(6 + nameLength + 2 * i));
  return { name, infoRequests };
}

export type NbdInfo =
  | { type: "export"; size: bigint; transmissionFlags: number }
  | { type: "block-size"; minimum: number; preferred: number; maximum: number }
  | { type: "other"; code: number; data: Buffer };

export function encodeInfoExport(size: bigint, transmissionFlags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(C.NBD_INFO_EXPORT, 0);
  b.writeBigUInt64BE(size, 2);
  b.writeUInt16BE(transmissionFlags, 10);
  return b;
}

export function encodeInfoBlockSize(minimum: number, preferred: number, maximum: number): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(C.NBD_INFO_BLOCK_SIZE, 0);
  b.writeUInt32BE(minimum, 2);
  b.writeUInt32BE(preferred, 6);
  b.writeUInt32BE(maximum, 10);
  return b;
}

export function decodeInfo(data: Buffer): NbdInfo {
  if (data.length < 2) throw new NbdProtocolError("malformed", "NBD_REP_INFO without an info type");
  const code = data.readUInt16BE(0);
  if (code === C.NBD_INFO_EXPORT) {
    if (data.length !== 12) throw new NbdProtocolError("malformed", `NBD_INFO_EXPORT is ${data.length} bytes (want 12)`);
    return { type: "export", size: data.readBigUInt64BE(2), transmissionFlags: data.readUInt16BE(10) };
  }
  if (code === C.NBD_INFO_BLOCK_SIZE) {
    if (data.length !== 14) throw new NbdProtocolError("malformed", `NBD_INFO_BLOCK_SIZE is ${data.length} bytes (want 14)`);
    return { type: "block-size", minimum: data.readUInt32BE(2), preferred: data.readUInt32BE(6), maximum: data.readUInt32BE(10) };
  }
  // Names and descriptions are informational; a client that did not ask for them ignores them.
  return { type: "other", code, data: data.subarray(2) };
}

// ---- decoders -------------------------------------------------------------------------------

/** What a server receives. */
export type ClientMessage =
  | { kind: "client-flags"; flags: number }
  | { kind: "option"; option: number; data: Buffer }
  | ({
      kind: "request";
      /** An NBD_CMD_WRITE's data. */
      payload?: Buffer;
      /** Set instead of `payload` for a write above the cap: this many bytes were read and dropped. */
      discarded?: number;
    } & NbdRequest);

export interface ServerDecoderLimits {
  /** Largest option data accepted (default 8 KiB: a 4 KiB name plus info requests fit). */
  maxOptionLength?: number;
  /**
   * Largest NBD_CMD_WRITE payload buffered (default 32 MiB). A larger write is not an error of
   * framing: its payload is skipped as it arrives, never held, and the request is handed over with
   * `discarded` so the server can refuse it (EOVERFLOW) and stay in step with the client.
   */
  maxWritePayload?: number;
  /**
   * Where a write payload of `length` bytes is gathered (a Buffer of exactly that length, e.g. from
   * a pool); default a fresh Buffer, or a view of the received chunk when the payload sits in one.
   */
  payloadTarget?: (length: number) => Buffer;
}

export class NbdServerDecoder {
  phase: "client-flags" | "options" | "transmission" = "client-flags";
  private readonly queue = new ByteQueue();
  private readonly maxOptionLength: number;
  private readonly maxWritePayload: number;
  private readonly payloadTarget: ((length: number) => Buffer) | undefined;
  /** An oversized write whose payload is being skipped: the request, and the bytes still to drop. */
  private skipping: { request: NbdRequest; left: number } | undefined;

  constructor(limits: ServerDecoderLimits = {}) {
    this.maxOptionLength = limits.maxOptionLength ?? 8192;
    this.maxWritePayload = limits.maxWritePayload ?? 32 * 1024 * 1024;
    this.payloadTarget = limits.payloadTarget;
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /** Bytes received but not yet decoded. */
  get buffered(): number {
    return this.queue.length;
  }

  /** The next whole message of the current phase, or undefined until more bytes arrive. */
  next(): ClientMessage | undefined {
    const q = this.queue;
    if (this.phase === "client-flags") {
      if (q.length < 4) return undefined;
      return { kind: "client-flags", flags: q.take(4).readUInt32BE(0) };
    }
    if (this.phase === "options") {
      if (q.length < 16) return undefined;
      const h = q.peek(16);
      if (h.readBigUInt64BE(0) !== C.IHAVEOPT) throw new NbdProtocolError("bad-magic", `option magic 0x${h.readBigUInt64BE(0).toString(16)} is not IHAVEOPT`);
      const option = h.readUInt32BE(8);
      const length = h.readUInt32BE(12);
      if (length > this.maxOptionLength) throw new NbdProtocolError("oversized", `option ${option} carries ${length} bytes (max ${this.maxOptionLength})`);
      if (q.length < 16 + length) return undefined;
      q.skip(16);
      return { kind: "option", option, data: q.take(length) };
    }
    if (this.skipping) return this.skipPayload(this.skipping);
    if (q.length < 28) return undefined;
    const h = q.peek(28);
    const magic = h.readUInt32BE(0);
    if (magic !== C.REQUEST_MAGIC) throw new NbdProtocolError("bad-magic", `request magic 0x${magic.toString(16)} is not 0x25609513`);
    const request: NbdRequest = {
      flags: h.readUInt16BE(4),
      type: h.readUInt16BE(6),
      cookie: h.readBigUInt64BE(8),
      offset: h.readBigUInt64BE(16),
      length: h.readUInt32BE(24),
    };
    if (request.type !== C.NBD_CMD_WRITE) {
      q.skip(28);
      return { kind: "request", ...request };
    }
    // A write's payload must be consumed to stay in step. Above the cap it is dropped as it comes
    // (memory stays bounded whatever the 32-bit length says); below it, gathered whole.
    if (request.length > this.maxWritePayload) {
      q.skip(28);
      this.skipping = { request, left: request.length };
      return this.skipPayload(this.skipping);
    }
    if (q.length < 28 + request.length) return undefined;
    q.skip(28);
    if (!this.payloadTarget) return { kind: "request", ...request, payload: q.take(request.length) };
    const payload = this.payloadTarget(request.length);
    q.takeInto(payload);
    return { kind: "request", ...request, payload };
  }

  private skipPayload(s: { request: NbdRequest; left: number }): ClientMessage | undefined {
    const n = Math.min(s.left, this.queue.length);
    this.queue.skip(n);
    s.left -= n;
    if (s.left > 0) return undefined;
    this.skipping = undefined;
    return { kind: "request", ...s.request, discarded: s.request.length };
  }
}

/** What a client receives. */
export type ServerMessage =
  | { kind: "greeting"; handshakeFlags: number }
  | { kind: "option-reply"; option: number; type: number; data: Buffer }
  | { kind: "export-name-reply"; size: bigint; transmissionFlags: number }
  | { kind: "reply"; error: number; cookie: bigint; data?: Buffer };

export interface ClientDecoderOptions {
  /** Largest option reply data accepted (default 64 KiB). */
  maxOptionReplyLength?: number;
  /** Initial value of NbdClientDecoder.readTarget. */
  readTarget?: (cookie: bigint) => Buffer | undefined;
}

export class NbdClientDecoder {
  phase: "greeting" | "options" | "export-name" | "transmission" = "greeting";
  /** Whether NO_ZEROES was agreed (the NBD_OPT_EXPORT_NAME reply is then 10 bytes, not 134). */
  noZeroes = false;
  /**
   * Where a successful read reply's data goes: a Buffer of exactly the requested length, or
   * undefined for a cookie with no read outstanding. Simple replies do not carry their length, so
   * only the client's own bookkeeping can say how many bytes follow a header.
   */
  readTarget: (cookie: bigint) => Buffer | undefined;
  private readonly queue = new ByteQueue();
  private readonly maxOptionReplyLength: number;

  constructor(options: ClientDecoderOptions = {}) {
    this.maxOptionReplyLength = options.maxOptionReplyLength ?? 64 * 1024;
    this.readTarget = options.readTarget ?? (() => undefined);
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  get buffered(): number {
    return this.queue.length;
  }

  next(): ServerMessage | undefined {
    const q = this.queue;
    switch (this.phase) {
      case "greeting": {
        if (q.length < 18) return undefined;
        const h = q.take(18);
        if (h.readBigUInt64BE(0) !== C.NBDMAGIC) throw new NbdProtocolError("bad-magic", "the server did not greet with NBDMAGIC");
        // An oldstyle server sends its cliserv magic here instead of IHAVEOPT.
        if (h.readBigUInt64BE(8) !== C.IHAVEOPT) throw new NbdProtocolError("bad-magic", "the server does not offer newstyle negotiation (no IHAVEOPT)");
        return { kind: "greeting", handshakeFlags: h.readUInt16BE(16) };
      }
      case "options": {
        if (q.length < 20) return undefined;
        const h = q.peek(20);
        if (h.readBigUInt64BE(0) !== C.OPTION_REPLY_MAGIC) throw new NbdProtocolError("bad-magic", "option reply without the option reply magic");
        const option = h.readUInt32BE(8);
        const type = h.readUInt32BE(12);
        const length = h.readUInt32BE(16);
        if (length > this.maxOptionReplyLength) throw new NbdProtocolError("oversized", `option reply of ${length} bytes (max ${this.maxOptionReplyLength})`);
        if (q.length < 20 + length) return undefined;
        q.skip(20);
        return { kind: "option-reply", option, type, data: q.take(length) };
      }
      case "export-name": {
        const size = this.noZeroes ? 10 : 10 + C.EXPORT_NAME_ZEROES;
        if (q.length < size) return undefined;
        const h = q.take(size);
        return { kind: "export-name-reply", size: h.readBigUInt64BE(0), transmissionFlags: h.readUInt16BE(8) };
      }
      case "transmission": {
        if (q.length < 16) return undefined;
        const h = q.peek(16);
        const magic = h.readUInt32BE(0);
        if (magic === C.STRUCTURED_REPLY_MAGIC) throw new NbdProtocolError("unexpected", "structured reply, but structured replies were not negotiated");
        if (magic !== C.SIMPLE_REPLY_MAGIC) throw new NbdProtocolError("bad-magic", `reply magic 0x${magic.toString(16)} is not 0x67446698`);
        const error = h.readUInt32BE(4);
        const cookie = h.readBigUInt64BE(8);
        if (error !== 0) {
          q.skip(16);
          return { kind: "reply", error, cookie };
        }
        const target = this.readTarget(cookie);
        if (!target) throw new NbdProtocolError("unexpected", `reply for cookie ${cookie}, which no request is waiting for`);
        if (q.length < 16 + target.length) return undefined;
        q.skip(16);
        q.takeInto(target);
        return { kind: "reply", error, cookie, data: target };
      }
    }
  }
}
