// Malformed input for the NBD decoders: random bytes, byte flips, truncations and lying lengths.
// The decoders must answer with messages or an NbdProtocolError — never another exception, never
// a hang — and whatever they accept must re-encode to exactly the bytes they consumed.

import { describe, expect, it } from "vitest";
import { mulberry32 } from "../random";
import * as C from "./nbd-constants";
import {
  NbdClientDecoder, NbdProtocolError, NbdServerDecoder, decodeGoData, decodeInfo, encodeClientFlags, encodeGoData, encodeInfoBlockSize,
  encodeInfoExport, encodeOption, encodeOptionReply, encodeRequest, encodeSimpleReplyHeader, type ClientMessage, type ServerMessage,
} from "./nbd-protocol";

const rnd = mulberry32(0x5eed);
const int = (n: number) => Math.floor(rnd() * n);
const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

/** Bytes a message stands for; a write whose payload was dropped stands for its header plus that many bytes. */
type Reencoded = Buffer | { header: Buffer; skipped: number };

let discardedWrites = 0;

function reencodeClient(m: ClientMessage): Reencoded {
  if (m.kind === "client-flags") return encodeClientFlags(m.flags);
  if (m.kind === "option") return encodeOption(m.option, m.data);
  if (m.discarded !== undefined) {
    discardedWrites++;
    expect(m.payload).toBeUndefined();
    expect(m.discarded).toBe(m.length);
    return { header: encodeRequest(m), skipped: m.discarded };
  }
  return Buffer.concat([encodeRequest(m), m.payload ?? Buffer.alloc(0)]);
}

function reencodeServer(m: ServerMessage): Buffer {
  if (m.kind === "option-reply") return encodeOptionReply(m.option, m.type, m.data);
  if (m.kind === "reply") return Buffer.concat([encodeSimpleReplyHeader(m.error, m.cookie), m.data ?? Buffer.alloc(0)]);
  throw new Error(`not re-encodable here: ${m.kind}`);
}

/** Runs a decoder over `bytes` in random chunks; checks the only failure is NbdProtocolError. */
function drive<M>(d: { push(b: Buffer): void; next(): M | undefined }, bytes: Buffer, reencode: (m: M) => Reencoded): "ok" | string {
  const accepted: Reencoded[] = [];
  try {
    for (let pos = 0; pos < bytes.length; ) {
      const n = 1 + int(64);
      d.push(bytes.subarray(pos, pos + n));
      pos += n;
      // A decoder may only return each message once; a loop bounded by the input proves no hang.
      for (let guard = 0; guard <= bytes.length; guard++) {
        const m = d.next();
        if (!m) break;
        accepted.push(reencode(m));
      }
    }
  } catch (err) {
    if (!(err instanceof NbdProtocolError)) throw new Error(`non-protocol error ${String(err)} on ${bytes.toString("hex").slice(0, 120)}`);
    return err.code;
  }
  let at = 0;
  for (const a of accepted) {
    const header = Buffer.isBuffer(a) ? a : a.header;
    expect(header.equals(bytes.subarray(at, at + header.length))).toBe(true);
    at += header.length + (Buffer.isBuffer(a) ? 0 : a.skipped);
  }
  expect(at).toBeLessThanOrEqual(bytes.length);
  return "ok";
}

function validClientStream(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 6; i++) {
    parts.push(int(2) ? encodeOption(int(12), encodeGoData(`disk-${i}`, [int(4)])) : encodeOption(C.NBD_OPT_STARTTLS));
  }
  return Buffer.concat(parts);
}

function validRequests(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 6; i++) {
    const write = int(3) === 0;
    const length = write ? int(300) : int(1 << 20);
    parts.push(encodeRequest({ flags: int(4), type: write ? C.NBD_CMD_WRITE : int(8) === 1 ? C.NBD_CMD_READ : int(8), cookie: BigInt(i), offset: BigInt(int(1e9)), length }));
    if (write) parts.push(randomBytes(length));
  }
  return Buffer.concat(parts);
}

function mutate(bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  switch (int(4)) {
    case 0: // flip bytes
      for (let i = 0; i < 1 + int(4); i++) b[int(b.length)] ^= 1 << int(8);
      return b;
    case 1: // truncate
      return b.subarray(0, int(b.length));
    case 2: // a lying 32-bit length somewhere
      b.writeUInt32BE([0xffffffff, 0x80000000, 0x01000000, int(1 << 16)][int(4)], int(Math.max(1, b.length - 4)));
      return b;
    default: // insert garbage
      return Buffer.concat([b.subarray(0, int(b.length)), randomBytes(1 + int(20)), b.subarray(int(b.length))]);
  }
}

describe("NBD decoders under malformed input", () => {
  it("server decoder, options phase: random and mutated streams give messages or NbdProtocolError", () => {
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const bytes = i % 3 === 0 ? randomBytes(int(200)) : mutate(validClientStream());
      const d = new NbdServerDecoder({ maxOptionLength: 4096 });
      d.phase = "options";
      const r = drive(d, bytes, reencodeClient);
      outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
    }
    expect(outcomes.get("bad-magic")).toBeGreaterThan(100);
    expect(outcomes.get("oversized")).toBeGreaterThan(10);
    expect(outcomes.get("ok")).toBeGreaterThan(10);
  });

  it("server decoder, transmission phase: requests, write payloads and lying lengths", () => {
    const outcomes = new Map<string, number>();
    discardedWrites = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = i % 3 === 0 ? randomBytes(int(200)) : mutate(validRequests());
      const d = new NbdServerDecoder({ maxWritePayload: 200 });
      d.phase = "transmission";
      const r = drive(d, bytes, reencodeClient);
      outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
    }
    expect(outcomes.get("bad-magic")).toBeGreaterThan(100);
    // Writes above the cap are not framing errors: their payloads are dropped and the stream goes on.
    expect(outcomes.get("oversized")).toBeUndefined();
    expect(discardedWrites).toBeGreaterThan(10);
    expect(outcomes.get("ok")).toBeGreaterThan(10);
  });

  it("client decoder, options and transmission phases", () => {
    for (let i = 0; i < 3000; i++) {
      const options = i % 2 === 0;
      const valid = options
        ? Buffer.concat([encodeOptionReply(7, C.NBD_REP_INFO, encodeInfoExport(BigInt(int(1e9)), 3)), encodeOptionReply(7, C.NBD_REP_ACK)])
        : Buffer.concat([encodeSimpleReplyHeader(0, 1n), randomBytes(100), encodeSimpleReplyHeader(22, 2n)]);
      const bytes = i % 5 === 0 ? randomBytes(int(200)) : mutate(valid);
      const d = new NbdClientDecoder({ maxOptionReplyLength: 1024, readTarget: (c) => (c < 4n ? Buffer.alloc(100) : undefined) });
      d.phase = options ? "options" : "transmission";
      drive(d, bytes, reencodeServer);
    }
  });

  it("GO data and info payloads: parsed values re-encode identically, everything else is a protocol error", () => {
    let parsed = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = i % 2 ? randomBytes(int(24)) : mutate(encodeGoData(`vm-${i}:2000`, [3, 0]));
      try {
        const go = decodeGoData(bytes);
        expect(encodeGoData(go.name, go.infoRequests).equals(bytes)).toBe(true);
        parsed++;
      } catch (err) {
        expect(err).toBeInstanceOf(NbdProtocolError);
      }
      const info = i % 2 ? randomBytes(int(20)) : mutate(i % 4 ? encodeInfoExport(5n, 1) : encodeInfoBlockSize(1, 2, 3));
      try {
        decodeInfo(info);
      } catch (err) {
        expect(err).toBeInstanceOf(NbdProtocolError);
      }
    }
    expect(parsed).toBeGreaterThan(100);
  });
});
