// Malformed input: truncations, byte flips, lying lengths, huge lengths, wrong
// types, deep nesting, garbage. The codec must answer with a KmipCodecError or
// a value (which then re-encodes to the same bytes) — never another exception,
// never a hang, never an allocation sized by a length it was told.

import { describe, it, expect } from "vitest";
import { KmipCodecError } from "./errors";
import { TtlvFramer } from "./framer";
import { decodeResponse, parseRequest, parseResponse } from "./messages";
import { decodeTtlv, encodeTtlv, type TtlvItem } from "./ttlv";
import { itemOffsets, loadVectors, prng } from "./testing/vectors";

const vectors = loadVectors();

type Outcome = { ok: true; item: TtlvItem } | { ok: false; error: KmipCodecError };

/** Decode, and for anything accepted check that it re-encodes identically and that message parsing fails only with KmipCodecError. */
function attempt(bytes: Buffer, opts?: { maxDepth?: number; maxMessageSize?: number }): Outcome {
  let item: TtlvItem;
  try {
    item = decodeTtlv(bytes, opts);
  } catch (e) {
    if (!(e instanceof KmipCodecError)) throw new Error(`non-codec error ${String(e)} on ${bytes.toString("hex")}`);
    return { ok: false, error: e };
  }
  expect(encodeTtlv(item).equals(bytes)).toBe(true);
  for (const parse of [parseResponse, parseRequest]) {
    try {
      parse(item);
    } catch (e) {
      if (!(e instanceof KmipCodecError)) throw new Error(`non-codec error from ${parse.name}: ${String(e)}`);
    }
  }
  return { ok: true, item };
}

function mustFail(bytes: Buffer, code?: string, opts?: { maxDepth?: number; maxMessageSize?: number }): KmipCodecError {
  const r = attempt(bytes, opts);
  expect(r.ok, `expected a codec error for ${bytes.toString("hex").slice(0, 80)}`).toBe(false);
  const err = (r as { error: KmipCodecError }).error;
  if (code) expect(err.code).toBe(code);
  return err;
}

describe("fuzzing the TTLV decoder and framer", () => {
  it("every truncation of every vector is 'truncated' (decoder) and held back by the framer", () => {
    let n = 0;
    for (const v of vectors) {
      for (let len = 0; len < v.bytes.length; len++) {
        const cut = v.bytes.subarray(0, len);
        mustFail(Buffer.from(cut), "truncated");
        const f = new TtlvFramer();
        expect(f.push(cut)).toHaveLength(0);
        if (len === 0) f.end(); // nothing buffered: a clean end
        else {
          let err: unknown;
          try {
            f.end();
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(KmipCodecError);
          expect((err as KmipCodecError).code).toBe("truncated");
        }
        n++;
      }
    }
    expect(n).toBeGreaterThan(5000);
  });

  it("random byte flips (deterministic, 16000 cases): a codec error or a faithful decode", () => {
    const rnd = prng(0xc0ffee);
    const codes = new Map<string, number>();
    let accepted = 0;
    for (let i = 0; i < 16000; i++) {
      const v = vectors[i % vectors.length];
      const b = Buffer.from(v.bytes);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(rnd() * b.length);
        b[at] = rnd() < 0.5 ? b[at] ^ (1 << Math.floor(rnd() * 8)) : Math.floor(rnd() * 256);
      }
      const r = attempt(b);
      if (r.ok) accepted++;
      else codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
      // the framer never throws anything else either
      try {
        new TtlvFramer().push(b);
      } catch (e) {
        expect(e).toBeInstanceOf(KmipCodecError);
      }
    }
    // flips inside values (names, key bytes) are legitimately accepted; header flips are caught
    expect(accepted).toBeGreaterThan(0);
    for (const code of ["bad-type", "bad-length", "bad-padding"]) expect(codes.get(code) ?? 0).toBeGreaterThan(0);
  });

  it("lying lengths on every item of every vector", () => {
    const lies = (len: number) => [0, 1, 3, 4, 7, 8, 9, len - 8, len - 1, len + 1, len + 8, len + 16, 0x7ffffff8, 0xfffffff8, 0xffffffff];
    let n = 0;
    for (const v of vectors) {
      for (const off of itemOffsets(v.bytes)) {
        const len = v.bytes.readUInt32BE(off + 4);
        for (const lie of lies(len)) {
          if (lie === len || lie < 0 || lie > 0xffffffff) continue;
          const b = Buffer.from(v.bytes);
          b.writeUInt32BE(lie, off + 4);
          attempt(b); // some lies are harmless (e.g. a TextString shortened into its own zero padding)
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(3000);
  });

  it("structure lengths that overrun their parent are 'bad-length', top-level overruns are 'truncated' or 'too-large'", () => {
    const create = vectors.find((v) => v.name === "kmip12-create.request")!.bytes;
    const b = Buffer.from(create);
    b.writeUInt32BE(b.readUInt32BE(8 + 4) + 8, 8 + 4); // Request Header claims 8 more bytes
    mustFail(b, "bad-length");
    const top = Buffer.from(create);
    top.writeUInt32BE(top.readUInt32BE(4) + 8, 4);
    mustFail(top, "truncated");
    top.writeUInt32BE(0xfffffff8, 4);
    mustFail(top, "too-large");
  });

  it("huge lengths are refused at once, without allocating", () => {
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    for (let i = 0; i < 10000; i++) {
      const h = Buffer.from("42007b01fffffff8", "hex");
      h.writeUInt32BE(0x100000 + i * 8, 4);
      mustFail(h, "too-large");
      try {
        new TtlvFramer().push(h);
      } catch (e) {
        expect((e as KmipCodecError).code).toBe("too-large");
      }
    }
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    // a nested 4 GiB ByteString inside a small message
    const nested = Buffer.from("42007b0100000010" + "4200c208fffffff0" + "0000000000000000", "hex");
    mustFail(nested, "bad-length");
  });

  it("every wrong type byte on every item: a codec error or a faithful decode", () => {
    let errors = 0;
    for (const v of vectors) {
      for (const off of itemOffsets(v.bytes)) {
        for (let t = 0; t < 256; t++) {
          if (t === v.bytes[off + 3]) continue;
          const b = Buffer.from(v.bytes);
          b[off + 3] = t;
          if (!attempt(b).ok) errors++;
        }
      }
    }
    expect(errors).toBeGreaterThan(10000);
    const unknown = Buffer.from(vectors[0].bytes);
    unknown[8 + 3] = 0x0b; // DateTimeExtended (KMIP 2.0) and beyond are unknown here
    expect(mustFail(unknown).code).toBe("bad-type");
  });

  it("fixed-size types with wrong lengths, non-zero padding, bad Booleans and bad UTF-8", () => {
    const cases: [string, string][] = [
      ["42000d02000000080000000100000000", "bad-length"], // Integer of length 8
      ["42000d0200000004000000010000ff00", "bad-padding"],
      ["42000d03000000040000000100000000", "bad-length"], // LongInteger of length 4
      ["4200a806000000080000000000000002", "bad-value"], // Boolean 2
      ["42005507000000020102000000000001", "bad-padding"],
      ["42005507000000029fff000000000000", "bad-value"], // invalid UTF-8
      ["42005507000000030000000000000000", "ok"],
      ["42005204000000000000000000000000", "bad-length"], // BigInteger of length 0
      ["42005204000000100000000000000000 0000000000000001".replace(/ /g, ""), "bad-padding"], // non-minimal BigInteger
      ["42007b01000000040000000000000000", "bad-length"], // Structure length not multiple of 8
    ];
    for (const [h, code] of cases) {
      const r = attempt(Buffer.from(h, "hex"));
      if (code === "ok") expect(r.ok).toBe(true);
      else expect(r.ok ? "ok" : r.error.code, h).toBe(code);
    }
  });

  it("deep nesting is 'nesting-too-deep', not a stack overflow", () => {
    const depth = 100000;
    const b = Buffer.alloc(depth * 8);
    for (let i = 0; i < depth; i++) {
      b.writeUIntBE(0x420079, i * 8, 3);
      b[i * 8 + 3] = 1;
      b.writeUInt32BE((depth - i - 1) * 8, i * 8 + 4);
    }
    mustFail(b, "nesting-too-deep", { maxMessageSize: 16 * 1024 * 1024 });
    // 32 levels are fine with the default limit, 33 are not
    const nest = (n: number): TtlvItem => (n === 1 ? { tag: 0x420079, type: "Structure", value: [] } : { tag: 0x420079, type: "Structure", value: [nest(n - 1)] });
    expect(attempt(encodeTtlv(nest(32))).ok).toBe(true);
    mustFail(encodeTtlv(nest(33)), "nesting-too-deep");
    mustFail(encodeTtlv(nest(5)), "nesting-too-deep", { maxDepth: 4 });
  });

  it("random garbage (deterministic, 20000 buffers) never escapes as another error", () => {
    const rnd = prng(7);
    for (let i = 0; i < 20000; i++) {
      const len = Math.floor(rnd() * 64);
      const b = Buffer.alloc(len);
      for (let k = 0; k < len; k++) b[k] = Math.floor(rnd() * 256);
      if (len >= 4 && rnd() < 0.5) b[3] = 1; // often a Structure, to get deeper
      if (len >= 8 && rnd() < 0.5) b.writeUInt32BE(Math.max(0, len - 8) & ~7, 4);
      attempt(b);
      try {
        const f = new TtlvFramer();
        for (const m of f.push(b)) attempt(m);
      } catch (e) {
        expect(e).toBeInstanceOf(KmipCodecError);
      }
    }
  });

  it("response parsing of every request vector (wrong message kind) is 'bad-message'", () => {
    for (const v of vectors.filter((x) => x.kind === "request")) {
      try {
        decodeResponse(v.bytes);
        throw new Error("accepted a request as a response");
      } catch (e) {
        expect((e as KmipCodecError).code).toBe("bad-message");
      }
    }
  });
});
