// The NBD codec, message by message: each stream is decoded whole, split at every byte boundary,
// byte by byte and in random chunks, and must give the same messages every time.

import { describe, expect, it } from "vitest";
import { mulberry32 } from "../random";
import { ByteQueue } from "./byte-queue";
import * as C from "./nbd-constants";
import {
  NbdClientDecoder, NbdProtocolError, NbdServerDecoder, decodeGoData, decodeInfo, encodeClientFlags, encodeExportNameReply,
  encodeGoData, encodeGreeting, encodeInfoBlockSize, encodeInfoExport, encodeOption, encodeOptionReply, encodeRequest,
  encodeSimpleReplyHeader, type ClientMessage, type ServerMessage,
} from "./nbd-protocol";

type Step<P, M> = { phase: P; bytes: Buffer; expected: M };
type ServerPhase = NbdServerDecoder["phase"];
type ClientPhase = NbdClientDecoder["phase"];

const payload = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

const clientStream: Step<ServerPhase, ClientMessage>[] = [
  { phase: "client-flags", bytes: encodeClientFlags(3), expected: { kind: "client-flags", flags: 3 } },
  { phase: "options", bytes: encodeOption(C.NBD_OPT_STARTTLS), expected: { kind: "option", option: C.NBD_OPT_STARTTLS, data: Buffer.alloc(0) } },
  {
    phase: "options",
    bytes: encodeOption(C.NBD_OPT_GO, encodeGoData("vm-1042:2000@ticket", [C.NBD_INFO_BLOCK_SIZE])),
    expected: { kind: "option", option: C.NBD_OPT_GO, data: encodeGoData("vm-1042:2000@ticket", [C.NBD_INFO_BLOCK_SIZE]) },
  },
  { phase: "options", bytes: encodeOption(C.NBD_OPT_EXPORT_NAME, Buffer.from("dïsk-ü")), expected: { kind: "option", option: 1, data: Buffer.from("dïsk-ü") } },
  {
    phase: "transmission",
    bytes: encodeRequest({ flags: 0, type: C.NBD_CMD_READ, cookie: 0xffffffffffffffffn, offset: 1n << 40n, length: 1 << 20 }),
    expected: { kind: "request", flags: 0, type: C.NBD_CMD_READ, cookie: 0xffffffffffffffffn, offset: 1n << 40n, length: 1 << 20 },
  },
  {
    phase: "transmission",
    bytes: Buffer.concat([encodeRequest({ flags: 1, type: C.NBD_CMD_WRITE, cookie: 5n, offset: 512n, length: 1000 }), payload(1000, 7)]),
    expected: { kind: "request", flags: 1, type: C.NBD_CMD_WRITE, cookie: 5n, offset: 512n, length: 1000, payload: payload(1000, 7) },
  },
  { phase: "transmission", bytes: encodeRequest({ flags: 0, type: C.NBD_CMD_DISC, cookie: 6n, offset: 0n, length: 0 }), expected: { kind: "request", flags: 0, type: C.NBD_CMD_DISC, cookie: 6n, offset: 0n, length: 0 } },
];

const readLengths = new Map<bigint, number>([[7n, 1536], [9n, 3]]);
const serverStream = (noZeroes: boolean): Step<ClientPhase, ServerMessage>[] => [
  { phase: "greeting", bytes: encodeGreeting(3), expected: { kind: "greeting", handshakeFlags: 3 } },
  { phase: "options", bytes: encodeOptionReply(C.NBD_OPT_STARTTLS, C.NBD_REP_ACK), expected: { kind: "option-reply", option: 5, type: C.NBD_REP_ACK, data: Buffer.alloc(0) } },
  { phase: "options", bytes: encodeOptionReply(7, C.NBD_REP_INFO, encodeInfoExport(10n ** 12n, 3)), expected: { kind: "option-reply", option: 7, type: C.NBD_REP_INFO, data: encodeInfoExport(10n ** 12n, 3) } },
  { phase: "options", bytes: encodeOptionReply(7, C.NBD_REP_ERR_POLICY, Buffer.from("NoPermission: no")), expected: { kind: "option-reply", option: 7, type: C.NBD_REP_ERR_POLICY, data: Buffer.from("NoPermission: no") } },
  { phase: "export-name", bytes: encodeExportNameReply(1n << 33n, 0x103, noZeroes), expected: { kind: "export-name-reply", size: 1n << 33n, transmissionFlags: 0x103 } },
  { phase: "transmission", bytes: Buffer.concat([encodeSimpleReplyHeader(0, 7n), payload(1536, 1)]), expected: { kind: "reply", error: 0, cookie: 7n, data: payload(1536, 1) } },
  { phase: "transmission", bytes: encodeSimpleReplyHeader(C.NBD_EINVAL, 8n), expected: { kind: "reply", error: C.NBD_EINVAL, cookie: 8n } },
  { phase: "transmission", bytes: Buffer.concat([encodeSimpleReplyHeader(0, 9n), payload(3, 2)]), expected: { kind: "reply", error: 0, cookie: 9n, data: payload(3, 2) } },
];

interface Decoder<P, M> {
  phase: P;
  push(b: Buffer): void;
  next(): M | undefined;
  readonly buffered: number;
}

/** Feeds `chunks`, setting each step's phase before asking for its message, as a session does. */
function decodeInChunks<P, M>(d: Decoder<P, M>, steps: Step<P, M>[], chunks: Buffer[]): M[] {
  const out: M[] = [];
  for (const chunk of chunks) {
    d.push(chunk);
    while (out.length < steps.length) {
      d.phase = steps[out.length].phase;
      const m = d.next();
      if (!m) break;
      out.push(m);
    }
  }
  expect(d.buffered).toBe(0);
  return out;
}

/** Buffers as hex: deep equality on Buffers is element by element and far too slow for thousands of runs. */
function norm(messages: unknown[]): string {
  return JSON.stringify(messages, (_k, v) => (typeof v === "bigint" ? `${v}n` : v && v.type === "Buffer" && Array.isArray(v.data) ? Buffer.from(v.data).toString("hex") : v));
}

function splits(whole: Buffer, seed: number): Buffer[][] {
  const ways: Buffer[][] = [[whole]];
  for (let i = 1; i < whole.length; i++) ways.push([whole.subarray(0, i), whole.subarray(i)]);
  ways.push([...whole].map((b) => Buffer.from([b])));
  const rnd = mulberry32(seed);
  for (let r = 0; r < 50; r++) {
    const chunks: Buffer[] = [];
    for (let pos = 0; pos < whole.length; ) {
      const n = 1 + Math.floor(rnd() * 40);
      chunks.push(whole.subarray(pos, pos + n));
      pos += n;
    }
    ways.push(chunks);
  }
  return ways;
}

const newClientDecoder = (noZeroes: boolean) => {
  const d = new NbdClientDecoder({ readTarget: (cookie) => (readLengths.has(cookie) ? Buffer.alloc(readLengths.get(cookie)!) : undefined) });
  d.noZeroes = noZeroes;
  return d;
};

describe("NBD codec: every message at every chunking", () => {
  it("decodes what a client sends (flags, options, read/write/disc requests) split anywhere", () => {
    const whole = Buffer.concat(clientStream.map((s) => s.bytes));
    const expected = norm(clientStream.map((s) => s.expected));
    const ways = splits(whole, 1);
    for (const chunks of ways) expect(norm(decodeInChunks(new NbdServerDecoder(), clientStream, chunks))).toBe(expected);
    expect(ways.length).toBe(whole.length + 51);
  });

  for (const noZeroes of [false, true]) {
    it(`decodes what a server sends (greeting, option replies, export-name reply${noZeroes ? " without zeroes" : " with 124 zeroes"}, simple replies) split anywhere`, () => {
      const steps = serverStream(noZeroes);
      const whole = Buffer.concat(steps.map((s) => s.bytes));
      const expected = norm(steps.map((s) => s.expected));
      for (const chunks of splits(whole, 2)) expect(norm(decodeInChunks(newClientDecoder(noZeroes), steps, chunks))).toBe(expected);
    });
  }

  it("encodes byte-exact wire formats", () => {
    expect(encodeGreeting(3).toString("hex")).toBe("4e42444d41474943" + "49484156454f5054" + "0003");
    expect(encodeOption(7, Buffer.from([1, 2])).toString("hex")).toBe("49484156454f5054" + "00000007" + "00000002" + "0102");
    expect(encodeOptionReply(5, C.NBD_REP_ACK).toString("hex")).toBe("0003e889045565a9" + "00000005" + "00000001" + "00000000");
    expect(encodeRequest({ flags: 0, type: 0, cookie: 0x0102030405060708n, offset: 4096n, length: 512 }).toString("hex")).toBe(
      "25609513" + "0000" + "0000" + "0102030405060708" + "0000000000001000" + "00000200",
    );
    expect(encodeSimpleReplyHeader(22, 9n).toString("hex")).toBe("67446698" + "00000016" + "0000000000000009");
    expect(encodeExportNameReply(1024n, 3, false)).toHaveLength(134);
    expect(encodeExportNameReply(1024n, 3, true)).toHaveLength(10);
    expect(encodeGoData("ab", [3]).toString("hex")).toBe("00000002" + "6162" + "0001" + "0003");
  });

  it("round-trips GO data and info replies", () => {
    expect(decodeGoData(encodeGoData("vm-1:2000", [0, 3]))).toEqual({ name: "vm-1:2000", infoRequests: [0, 3] });
    expect(decodeGoData(encodeGoData(""))).toEqual({ name: "", infoRequests: [] });
    expect(decodeInfo(encodeInfoExport(123n, 3))).toEqual({ type: "export", size: 123n, transmissionFlags: 3 });
    expect(decodeInfo(encodeInfoBlockSize(512, 1 << 20, 1 << 25))).toEqual({ type: "block-size", minimum: 512, preferred: 1 << 20, maximum: 1 << 25 });
    expect(decodeInfo(Buffer.from([0, 2, 0x41]))).toEqual({ type: "other", code: 2, data: Buffer.from("A") });
  });
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NbdProtocolError);
    return (err as NbdProtocolError).code;
  }
  return "no error";
}

function serverDecoderAt(phase: ServerPhase, bytes: Buffer, limits?: ConstructorParameters<typeof NbdServerDecoder>[0]) {
  const d = new NbdServerDecoder(limits);
  d.phase = phase;
  d.push(bytes);
  return d;
}

describe("NBD codec: typed errors for malformed and oversized input", () => {
  it("rejects a bad option magic and a bad request magic", () => {
    const badOption = encodeOption(7);
    badOption[0] ^= 1;
    expect(codeOf(() => serverDecoderAt("options", badOption).next())).toBe("bad-magic");
    const badRequest = encodeRequest({ flags: 0, type: 0, cookie: 1n, offset: 0n, length: 512 });
    badRequest[3] ^= 0x80;
    expect(codeOf(() => serverDecoderAt("transmission", badRequest).next())).toBe("bad-magic");
  });

  it("refuses an oversized option from its header alone, before its data arrives", () => {
    const header = encodeOption(7).subarray(0, 16);
    header.writeUInt32BE(0xffffffff, 12);
    expect(codeOf(() => serverDecoderAt("options", header).next())).toBe("oversized");
    const small = encodeOption(7, Buffer.alloc(100));
    expect(codeOf(() => serverDecoderAt("options", small, { maxOptionLength: 99 }).next())).toBe("oversized");
  });

  it("drops a write payload above the cap as it arrives, holding none of it, then hands the request over", () => {
    const d = new NbdServerDecoder({ maxWritePayload: 1000 });
    d.phase = "transmission";
    const length = 5 * 64 * 1024 + 3;
    d.push(encodeRequest({ flags: 0, type: C.NBD_CMD_WRITE, cookie: 1n, offset: 0n, length }));
    for (let sent = 0; sent < length; sent += 64 * 1024) {
      expect(d.next()).toBeUndefined();
      d.push(Buffer.alloc(Math.min(64 * 1024, length - sent), 0xab));
      if (sent + 64 * 1024 < length) {
        expect(d.next()).toBeUndefined();
        expect(d.buffered).toBe(0); // skipped, not queued
      }
    }
    const next = encodeRequest({ flags: 0, type: C.NBD_CMD_READ, cookie: 2n, offset: 0n, length: 512 });
    d.push(next);
    expect(d.next()).toEqual({ kind: "request", flags: 0, type: C.NBD_CMD_WRITE, cookie: 1n, offset: 0n, length, discarded: length });
    expect(d.next()).toMatchObject({ type: C.NBD_CMD_READ, cookie: 2n });
    // A 4 GiB lie costs nothing either: the decoder waits, skipping.
    const lie = new NbdServerDecoder();
    lie.phase = "transmission";
    lie.push(encodeRequest({ flags: 0, type: C.NBD_CMD_WRITE, cookie: 3n, offset: 0n, length: 0xffffffff }));
    lie.push(Buffer.alloc(1 << 20));
    expect(lie.next()).toBeUndefined();
    expect(lie.buffered).toBe(0);
  });

  it("gathers a write payload into the buffer payloadTarget hands out", () => {
    const target = Buffer.alloc(1000);
    const d = new NbdServerDecoder({ payloadTarget: (n) => (expect(n).toBe(1000), target) });
    d.phase = "transmission";
    const data = payload(1000, 3);
    d.push(Buffer.concat([encodeRequest({ flags: 0, type: C.NBD_CMD_WRITE, cookie: 1n, offset: 0n, length: 1000 }), data.subarray(0, 10)]));
    expect(d.next()).toBeUndefined();
    d.push(data.subarray(10));
    const m = d.next() as Extract<ClientMessage, { kind: "request" }>;
    expect(m.payload).toBe(target);
    expect(target.equals(data)).toBe(true);
  });

  it("passes a huge read request through for the server to answer with an error reply (no payload follows a read)", () => {
    const d = serverDecoderAt("transmission", encodeRequest({ flags: 0, type: C.NBD_CMD_READ, cookie: 1n, offset: 0xffffffffffffffffn, length: 0xffffffff }));
    expect(d.next()).toMatchObject({ type: C.NBD_CMD_READ, length: 0xffffffff, offset: 0xffffffffffffffffn });
  });

  it("rejects what a client must not accept from a server", () => {
    const at = (phase: ClientPhase, bytes: Buffer, readTarget?: (c: bigint) => Buffer | undefined) => {
      const d = new NbdClientDecoder({ readTarget, maxOptionReplyLength: 1000 });
      d.phase = phase;
      d.push(bytes);
      return () => d.next();
    };
    const greeting = encodeGreeting(3);
    greeting[0] = 0;
    expect(codeOf(at("greeting", greeting))).toBe("bad-magic");
    const oldstyle = encodeGreeting(0);
    oldstyle.writeBigUInt64BE(0x00420281861253n, 8);
    expect(codeOf(at("greeting", oldstyle))).toBe("bad-magic");
    const reply = encodeOptionReply(7, 1);
    reply[7] ^= 1;
    expect(codeOf(at("options", reply))).toBe("bad-magic");
    expect(codeOf(at("options", encodeOptionReply(7, C.NBD_REP_ERR_POLICY, Buffer.alloc(1001)).subarray(0, 20)))).toBe("oversized");
    const structured = encodeSimpleReplyHeader(0, 1n);
    structured.writeUInt32BE(C.STRUCTURED_REPLY_MAGIC, 0);
    expect(codeOf(at("transmission", structured))).toBe("unexpected");
    expect(codeOf(at("transmission", encodeSimpleReplyHeader(0, 42n)))).toBe("unexpected");
    const bad = encodeSimpleReplyHeader(0, 1n);
    bad[1] = 0;
    expect(codeOf(at("transmission", bad))).toBe("bad-magic");
  });

  it("rejects malformed GO data and info replies", () => {
    const go = encodeGoData("disk", [3]);
    expect(codeOf(() => decodeGoData(go.subarray(0, 5)))).toBe("malformed");
    const lying = Buffer.from(go);
    lying.writeUInt32BE(1000, 0);
    expect(codeOf(() => decodeGoData(lying))).toBe("malformed");
    expect(codeOf(() => decodeGoData(Buffer.concat([go, Buffer.from([0])])))).toBe("malformed");
    expect(codeOf(() => decodeGoData(encodeGoData("a\0b")))).toBe("malformed");
    const invalidUtf8 = encodeGoData("xx");
    invalidUtf8[4] = 0xff;
    expect(codeOf(() => decodeGoData(invalidUtf8))).toBe("malformed");
    expect(codeOf(() => decodeGoData(encodeGoData("n".repeat(4097))))).toBe("oversized");
    expect(codeOf(() => decodeInfo(Buffer.from([0])))).toBe("malformed");
    expect(codeOf(() => decodeInfo(encodeInfoExport(1n, 1).subarray(0, 11)))).toBe("malformed");
    expect(codeOf(() => decodeInfo(encodeInfoBlockSize(1, 2, 3).subarray(0, 13)))).toBe("malformed");
  });
});

describe("ByteQueue", () => {
  it("peeks, takes and copies across chunk boundaries", () => {
    const q = new ByteQueue();
    q.push(Buffer.from([1, 2]));
    q.push(Buffer.alloc(0));
    q.push(Buffer.from([3, 4, 5]));
    q.push(Buffer.from([6]));
    expect([...q.peek(3)]).toEqual([1, 2, 3]);
    expect([...q.take(1)]).toEqual([1]);
    const target = Buffer.alloc(4);
    q.takeInto(target);
    expect([...target]).toEqual([2, 3, 4, 5]);
    expect(q.length).toBe(1);
    expect([...q.drain()]).toEqual([6]);
    expect(() => q.take(1)).toThrow(RangeError);
  });
});
