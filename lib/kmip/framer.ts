// Incremental TTLV message framer: bytes in, whole messages out.
//
// A KMIP message on the wire is one top-level Structure item: its total size is
// 8 + the length in its header (always a multiple of 8). The framer accepts
// chunks of any size (a byte at a time, or several messages at once) and
// returns each complete message's bytes. It checks only the header (type must
// be Structure, length a multiple of 8 and within `maxMessageSize`) and
// refuses a huge length as soon as the 8 header bytes are in, before buffering
// any of it. Decoding the message is decodeTtlv's job.
//
// After an error the framer stays failed (every later push rethrows): the byte
// stream has lost its framing and the connection must be dropped.

import { KmipCodecError } from "./errors";
import { DEFAULT_MAX_MESSAGE_SIZE, TYPE_CODE } from "./ttlv";

export interface FramerOptions {
  /** Largest whole message accepted, header included. Default 1 MiB. */
  maxMessageSize?: number;
}

export class TtlvFramer {
  private readonly maxMessageSize: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Total size of the message being assembled, once its header is in. */
  private expected: number | undefined;
  private failure: KmipCodecError | undefined;
  /** Bytes consumed by earlier messages (for error offsets). */
  private streamOffset = 0;

  constructor(options: FramerOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes held that are not yet a whole message. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Feed a chunk; returns the messages it completed (possibly none). */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return [];
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    try {
      for (;;) {
        if (this.expected === undefined) {
          if (this.buffered < 8) break;
          this.expected = this.parseHeader(this.peek(8));
        }
        if (this.buffered < this.expected) break;
        out.push(this.take(this.expected));
        this.streamOffset += this.expected;
        this.expected = undefined;
      }
    } catch (err) {
      this.failure = err as KmipCodecError;
      this.chunks = [];
      this.buffered = 0;
      throw err;
    }
    return out;
  }

  /** The stream ended: throws `truncated` if part of a message is still buffered. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.buffered > 0) {
      const what = this.expected === undefined ? "a message header" : `a ${this.expected}-byte message`;
      throw new KmipCodecError("truncated", `stream ended ${this.buffered} bytes into ${what}`, this.streamOffset + this.buffered);
    }
  }

  /** Forget everything, including a failure (use for a new connection). */
  reset(): void {
    this.chunks = [];
    this.buffered = 0;
    this.expected = undefined;
    this.failure = undefined;
    this.streamOffset = 0;
  }

  private parseHeader(h: Buffer): number {
    const at = this.streamOffset;
    if (h[3] !== TYPE_CODE.Structure) {
      throw new KmipCodecError("bad-type", `a KMIP message must be a Structure, got type 0x${h[3].toString(16).padStart(2, "0")}`, at + 3);
    }
    const len = h.readUInt32BE(4);
    if (8 + len > this.maxMessageSize) {
      throw new KmipCodecError("too-large", `message of ${8 + len} bytes exceeds the ${this.maxMessageSize}-byte limit`, at + 4);
    }
    if (len % 8 !== 0) throw new KmipCodecError("bad-length", `message length ${len} is not a multiple of 8`, at + 4);
    return 8 + len;
  }

  /** First n buffered bytes, without consuming them (n <= buffered). */
  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0].subarray(0, n);
  }

  /** Remove and return the first n buffered bytes as one (owned) Buffer (n <= buffered). */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const msg = Buffer.from(all.subarray(0, n)); // copy: never hand out a view of a caller's chunk
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    return msg;
  }
}
