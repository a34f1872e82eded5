// Test helpers: the captured PyKMIP vectors in ../testdata (copied from
// ../shared/kmip-vectors), and a deterministic PRNG for fuzzing.

import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

export const TESTDATA = path.join(__dirname, "..", "testdata");

export interface Vector {
  /** e.g. "kmip12-create.request" */
  name: string;
  version: "1.2" | "1.4";
  operation: string;
  kind: "request" | "response";
  bytes: Buffer;
  /** The capture tool's decoded tree. */
  txt: string;
}

export function loadVectors(): Vector[] {
  return readdirSync(TESTDATA)
    .filter((f) => f.endsWith(".bin"))
    .sort()
    .map((f) => {
      const name = f.slice(0, -4);
      const m = /^kmip(12|14)-(\w+)\.(request|response)$/.exec(name);
      if (!m) throw new Error(`unexpected vector file name ${f}`);
      return {
        name,
        version: m[1] === "12" ? "1.2" : "1.4",
        operation: m[2],
        kind: m[3] as "request" | "response",
        bytes: readFileSync(path.join(TESTDATA, f)),
        txt: readFileSync(path.join(TESTDATA, `${name}.txt`), "utf8"),
      };
    });
}

export function vector(name: string): Buffer {
  return readFileSync(path.join(TESTDATA, `${name}.bin`));
}

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Offsets of every item header in a TTLV message (walking Structures). */
export function itemOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  const walk = (off: number, end: number) => {
    while (off < end) {
      out.push(off);
      const type = buf[off + 3];
      const len = buf.readUInt32BE(off + 4);
      const padded = Math.ceil(len / 8) * 8;
      if (type === 1) walk(off + 8, off + 8 + len);
      off += 8 + padded;
    }
  };
  walk(0, buf.length);
  return out;
}
