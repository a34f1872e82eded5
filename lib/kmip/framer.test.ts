import { describe, it, expect } from "vitest";
import { KmipCodecError } from "./errors";
import { TtlvFramer } from "./framer";
import { loadVectors, prng } from "./testing/vectors";

const vectors = loadVectors();

function codecError(fn: () => unknown): KmipCodecError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KmipCodecError);
    return e as KmipCodecError;
  }
  throw new Error("expected a KmipCodecError");
}

describe("TtlvFramer", () => {
  for (const v of vectors) {
    it(`${v.name}: yields the message whole when split at every byte boundary`, () => {
      for (let cut = 0; cut <= v.bytes.length; cut++) {
        const f = new TtlvFramer();
        const first = f.push(v.bytes.subarray(0, cut));
        const second = f.push(v.bytes.subarray(cut));
        const all = [...first, ...second];
        expect(all).toHaveLength(1);
        expect(all[0].equals(v.bytes)).toBe(true);
        expect(f.bufferedBytes).toBe(0);
        f.end();
      }
    });
  }

  it("yields each message when fed one byte at a time", () => {
    for (const v of vectors) {
      const f = new TtlvFramer();
      const out: Buffer[] = [];
      for (let i = 0; i < v.bytes.length; i++) {
        const got = f.push(v.bytes.subarray(i, i + 1));
        if (i < v.bytes.length - 1) expect(got).toHaveLength(0);
        out.push(...got);
      }
      expect(out).toHaveLength(1);
      expect(out[0].equals(v.bytes)).toBe(true);
    }
  });

  it("splits a stream of all 32 messages fed in random chunks, in order", () => {
    const stream = Buffer.concat(vectors.map((v) => v.bytes));
    const rnd = prng(42);
    for (let round = 0; round < 50; round++) {
      const f = new TtlvFramer();
      const out: Buffer[] = [];
      let off = 0;
      while (off < stream.length) {
        const n = 1 + Math.floor(rnd() * 600);
        out.push(...f.push(stream.subarray(off, off + n)));
        off += n;
      }
      f.end();
      expect(out.map((b) => b.toString("hex"))).toEqual(vectors.map((v) => v.bytes.toString("hex")));
    }
  });

  it("returns copies, not views of the caller's chunks", () => {
    const v = Buffer.from(vectors[0].bytes);
    const f = new TtlvFramer();
    const [msg] = f.push(v);
    v.fill(0);
    expect(msg.equals(vectors[0].bytes)).toBe(true);
  });

  it("refuses a huge length from the 8 header bytes alone, without buffering", () => {
    const f = new TtlvFramer({ maxMessageSize: 1024 * 1024 });
    const header = Buffer.from("42007b01fffffff8", "hex");
    const e = codecError(() => f.push(header));
    expect(e.code).toBe("too-large");
    expect(f.bufferedBytes).toBe(0);
    // stays failed
    expect(codecError(() => f.push(Buffer.alloc(8))).code).toBe("too-large");
    expect(codecError(() => f.end()).code).toBe("too-large");
    f.reset();
    expect(f.push(vectors[0].bytes)).toHaveLength(1);
  });

  it("accepts a message exactly at the limit and refuses one 8 bytes over", () => {
    const msg = vectors.find((v) => v.name === "kmip12-create.request")!.bytes;
    expect(new TtlvFramer({ maxMessageSize: msg.length }).push(msg)).toHaveLength(1);
    expect(codecError(() => new TtlvFramer({ maxMessageSize: msg.length - 8 }).push(msg)).code).toBe("too-large");
  });

  it("refuses a top-level item that is not a Structure", () => {
    const bad = Buffer.from(vectors[0].bytes);
    bad[3] = 0x02;
    expect(codecError(() => new TtlvFramer().push(bad)).code).toBe("bad-type");
  });

  it("refuses a message length that is not a multiple of 8", () => {
    const bad = Buffer.from(vectors[0].bytes);
    bad.writeUInt32BE(bad.readUInt32BE(4) - 3, 4);
    expect(codecError(() => new TtlvFramer().push(bad)).code).toBe("bad-length");
  });

  it("reports a stream that ends mid-message as truncated", () => {
    const f = new TtlvFramer();
    f.push(vectors[0].bytes.subarray(0, 5));
    expect(codecError(() => f.end()).code).toBe("truncated");
    const g = new TtlvFramer();
    g.push(vectors[0].bytes.subarray(0, 20));
    const e = codecError(() => g.end());
    expect(e.code).toBe("truncated");
    expect(e.message).toMatch(/20 bytes into a \d+-byte message/);
  });
});
