// TTLV codec (KMIP 1.4 §9.1): pure functions over bytes, no I/O.
//
// Every item is  tag (3 bytes) | type (1 byte) | length (4 bytes, big-endian) | value,
// the value padded with zero bytes to a multiple of 8. A Structure's value is
// its children, back to back.
//
// The decoder is strict so that whatever it accepts re-encodes to the very same
// bytes: fixed lengths per type, zero padding, minimal Big Integers, Booleans
// 0/1, well-formed UTF-8. On bad input it throws KmipCodecError and nothing
// else; it never allocates more than the input it was given, and refuses
// messages over `maxMessageSize` and nesting over `maxDepth` up front.

import { KmipCodecError } from "./errors";

export type TtlvType =
  | "Structure" | "Integer" | "LongInteger" | "BigInteger" | "Enumeration"
  | "Boolean" | "TextString" | "ByteString" | "DateTime" | "Interval";

export type TtlvItem =
  | { tag: number; type: "Structure"; value: TtlvItem[] }
  | { tag: number; type: "Integer"; value: number } // signed 32-bit
  | { tag: number; type: "LongInteger"; value: bigint } // signed 64-bit
  | { tag: number; type: "BigInteger"; value: bigint } // any size, two's complement on the wire
  | { tag: number; type: "Enumeration"; value: number } // unsigned 32-bit
  | { tag: number; type: "Boolean"; value: boolean }
  | { tag: number; type: "TextString"; value: string }
  | { tag: number; type: "ByteString"; value: Uint8Array }
  | { tag: number; type: "DateTime"; value: bigint } // seconds since the Unix epoch, signed 64-bit
  | { tag: number; type: "Interval"; value: number }; // seconds, unsigned 32-bit

export const TYPE_CODE: Readonly<Record<TtlvType, number>> = {
  Structure: 0x01, Integer: 0x02, LongInteger: 0x03, BigInteger: 0x04, Enumeration: 0x05,
  Boolean: 0x06, TextString: 0x07, ByteString: 0x08, DateTime: 0x09, Interval: 0x0a,
};
const TYPE_BY_CODE: ReadonlyArray<TtlvType | undefined> = [
  undefined, "Structure", "Integer", "LongInteger", "BigInteger", "Enumeration",
  "Boolean", "TextString", "ByteString", "DateTime", "Interval",
];
/** Value length each fixed-size type must declare. */
const FIXED_LENGTH: Partial<Record<TtlvType, number>> = {
  Integer: 4, Enumeration: 4, Interval: 4, LongInteger: 8, DateTime: 8, Boolean: 8,
};

export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024; // 1 MiB
export const DEFAULT_MAX_DEPTH = 32; // real KMIP 1.x messages nest < 12 deep
const HARD_MAX_DEPTH = 256; // keep recursion far from the JS stack limit whatever the caller asks

export interface DecodeOptions {
  /** Largest whole message (8-byte header included) accepted. Default 1 MiB. */
  maxMessageSize?: number;
  /** Deepest nesting accepted; the outermost item is depth 1. Default 32, at most 256. */
  maxDepth?: number;
}

const HEADER = 8;
function padded(n: number): number {
  const r = n % 8;
  return r === 0 ? n : n + 8 - r;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Read the 8-byte header of the item at `offset` (no checks beyond availability). */
export function readHeader(bytes: Uint8Array, offset = 0): { tag: number; typeCode: number; length: number } {
  const b = asBuffer(bytes);
  if (b.length - offset < HEADER) throw new KmipCodecError("truncated", "fewer than 8 bytes for a TTLV header", offset);
  return { tag: (b[offset] << 16) | (b[offset + 1] << 8) | b[offset + 2], typeCode: b[offset + 3], length: b.readUInt32BE(offset + 4) };
}

/** Decode exactly one TTLV item (usually a whole KMIP message) from `bytes`. */
export function decodeTtlv(bytes: Uint8Array, options: DecodeOptions = {}): TtlvItem {
  const buf = asBuffer(bytes);
  const maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const maxDepth = Math.min(options.maxDepth ?? DEFAULT_MAX_DEPTH, HARD_MAX_DEPTH);
  const { length } = readHeader(buf, 0);
  const total = HEADER + padded(length);
  if (HEADER + length > maxSize) {
    throw new KmipCodecError("too-large", `message of ${HEADER + length} bytes exceeds the ${maxSize}-byte limit`, 0);
  }
  if (total > buf.length) {
    throw new KmipCodecError("truncated", `message declares ${total} bytes but only ${buf.length} are present`, buf.length);
  }
  const [item, end] = readItem(buf, 0, total, 1, maxDepth);
  if (end !== buf.length) {
    throw new KmipCodecError("trailing-bytes", `${buf.length - end} bytes follow the message`, end);
  }
  return item;
}

function readItem(buf: Buffer, off: number, limit: number, depth: number, maxDepth: number): [TtlvItem, number] {
  if (limit - off < HEADER) throw new KmipCodecError("bad-length", "item header overruns its enclosing structure", off);
  const tag = (buf[off] << 16) | (buf[off + 1] << 8) | buf[off + 2];
  const typeCode = buf[off + 3];
  const len = buf.readUInt32BE(off + 4);
  const type = TYPE_BY_CODE[typeCode];
  if (type === undefined) throw new KmipCodecError("bad-type", `unknown item type 0x${typeCode.toString(16).padStart(2, "0")}`, off + 3);
  const fixed = FIXED_LENGTH[type];
  if (fixed !== undefined && len !== fixed) {
    throw new KmipCodecError("bad-length", `${type} must have length ${fixed}, not ${len}`, off + 4);
  }
  if (type === "BigInteger" && (len === 0 || len % 8 !== 0)) {
    throw new KmipCodecError("bad-length", `BigInteger length ${len} is not a positive multiple of 8`, off + 4);
  }
  if (type === "Structure" && len % 8 !== 0) {
    throw new KmipCodecError("bad-length", `Structure length ${len} is not a multiple of 8`, off + 4);
  }
  const v = off + HEADER; // value start
  const end = v + padded(len);
  if (end > limit) {
    throw new KmipCodecError("bad-length", `${type} of length ${len} overruns its enclosing structure`, off + 4);
  }
  const checkPadding = () => {
    for (let i = v + len; i < end; i++) {
      if (buf[i] !== 0) throw new KmipCodecError("bad-padding", `non-zero padding after ${type}`, i);
    }
  };
  switch (type) {
    case "Structure": {
      if (depth >= maxDepth && len > 0) {
        throw new KmipCodecError("nesting-too-deep", `structures nested deeper than ${maxDepth}`, off);
      }
      const children: TtlvItem[] = [];
      let p = v;
      while (p < end) {
        const [child, next] = readItem(buf, p, end, depth + 1, maxDepth);
        children.push(child);
        p = next;
      }
      return [{ tag, type, value: children }, end];
    }
    case "Integer":
      checkPadding();
      return [{ tag, type, value: buf.readInt32BE(v) }, end];
    case "Enumeration":
    case "Interval":
      checkPadding();
      return [{ tag, type, value: buf.readUInt32BE(v) }, end];
    case "LongInteger":
    case "DateTime":
      return [{ tag, type, value: buf.readBigInt64BE(v) }, end];
    case "Boolean": {
      const b = buf.readBigUInt64BE(v);
      if (b > 1n) throw new KmipCodecError("bad-value", "Boolean value is neither 0 nor 1", v);
      return [{ tag, type, value: b === 1n }, end];
    }
    case "BigInteger": {
      if (len > 8) {
        // Minimal sign extension (KMIP §9.1.1.4): the first 8 bytes may not be pure sign padding.
        const lead = buf[v];
        if ((lead === 0x00 || lead === 0xff) && buf.subarray(v, v + 8).every((x) => x === lead) && (buf[v + 8] & 0x80) === (lead & 0x80)) {
          throw new KmipCodecError("bad-padding", "BigInteger carries more than the minimal sign extension", v);
        }
      }
      return [{ tag, type, value: bigIntFromTwosComplement(buf.subarray(v, v + len)) }, end];
    }
    case "TextString": {
      checkPadding();
      let s: string;
      try {
        s = utf8.decode(buf.subarray(v, v + len));
      } catch {
        throw new KmipCodecError("bad-value", "TextString is not valid UTF-8", v);
      }
      return [{ tag, type, value: s }, end];
    }
    case "ByteString":
      checkPadding();
      return [{ tag, type, value: Buffer.from(buf.subarray(v, v + len)) }, end];
  }
}

function bigIntFromTwosComplement(bytes: Buffer): bigint {
  const unsigned = BigInt(`0x${bytes.toString("hex")}`);
  return bytes[0] & 0x80 ? unsigned - (1n << BigInt(bytes.length * 8)) : unsigned;
}

/** Minimal two's-complement big-endian bytes of `v`, sign-extended to a multiple of 8. */
function bigIntToTwosComplement(v: bigint): Buffer {
  let len = 8;
  // smallest multiple of 8 bytes whose signed range holds v
  while (v >= 1n << BigInt(len * 8 - 1) || v < -(1n << BigInt(len * 8 - 1))) len += 8;
  const unsigned = v < 0n ? (1n << BigInt(len * 8)) + v : v;
  return Buffer.from(unsigned.toString(16).padStart(len * 2, "0"), "hex");
}

// ---------------------------------------------------------------- encoding

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function bad(item: { tag: number }, why: string): KmipCodecError {
  return new KmipCodecError("bad-value", `cannot encode tag 0x${(item.tag >>> 0).toString(16)}: ${why}`);
}

/** Byte length of the value (before padding); validates the item. */
function valueLength(item: TtlvItem, depth: number): number {
  if (!Number.isInteger(item.tag) || item.tag < 0 || item.tag > 0xffffff) throw bad(item, "tag is not a 3-byte number");
  if (depth > HARD_MAX_DEPTH) throw bad(item, "structure nested too deep (cycle?)");
  switch (item.type) {
    case "Structure": {
      if (!Array.isArray(item.value)) throw bad(item, "Structure value is not an array");
      let n = 0;
      for (const c of item.value) n += HEADER + padded(valueLength(c, depth + 1));
      return n;
    }
    case "Integer":
      if (!Number.isInteger(item.value) || item.value < INT32_MIN || item.value > INT32_MAX) throw bad(item, "Integer outside signed 32-bit range");
      return 4;
    case "Enumeration":
    case "Interval":
      if (!Number.isInteger(item.value) || item.value < 0 || item.value > 0xffffffff) throw bad(item, `${item.type} outside unsigned 32-bit range`);
      return 4;
    case "LongInteger":
    case "DateTime":
      if (typeof item.value !== "bigint" || item.value < INT64_MIN || item.value > INT64_MAX) throw bad(item, `${item.type} is not a signed 64-bit bigint`);
      return 8;
    case "Boolean":
      if (typeof item.value !== "boolean") throw bad(item, "Boolean value is not a boolean");
      return 8;
    case "BigInteger":
      if (typeof item.value !== "bigint") throw bad(item, "BigInteger value is not a bigint");
      return bigIntToTwosComplement(item.value).length;
    case "TextString":
      if (typeof item.value !== "string" || !item.value.isWellFormed()) throw bad(item, "TextString is not a well-formed string");
      return Buffer.byteLength(item.value, "utf8");
    case "ByteString":
      if (!(item.value instanceof Uint8Array)) throw bad(item, "ByteString value is not bytes");
      return item.value.length;
    default:
      throw bad(item, `unknown type ${String((item as { type: unknown }).type)}`);
  }
}

/** Encode one item (usually a whole request message). */
export function encodeTtlv(item: TtlvItem): Buffer {
  const total = HEADER + padded(valueLength(item, 1));
  if (total > 0xffffffff) throw bad(item, "message too large for TTLV");
  const out = Buffer.alloc(total); // zero-filled: padding is already zero
  writeItem(item, out, 0);
  return out;
}

function writeItem(item: TtlvItem, out: Buffer, off: number): number {
  out[off] = (item.tag >> 16) & 0xff;
  out[off + 1] = (item.tag >> 8) & 0xff;
  out[off + 2] = item.tag & 0xff;
  out[off + 3] = TYPE_CODE[item.type];
  const v = off + HEADER;
  let len: number;
  switch (item.type) {
    case "Structure": {
      let p = v;
      for (const c of item.value) p = writeItem(c, out, p);
      len = p - v;
      break;
    }
    case "Integer":
      out.writeInt32BE(item.value, v);
      len = 4;
      break;
    case "Enumeration":
    case "Interval":
      out.writeUInt32BE(item.value, v);
      len = 4;
      break;
    case "LongInteger":
    case "DateTime":
      out.writeBigInt64BE(item.value, v);
      len = 8;
      break;
    case "Boolean":
      out.writeBigUInt64BE(item.value ? 1n : 0n, v);
      len = 8;
      break;
    case "BigInteger": {
      const b = bigIntToTwosComplement(item.value);
      b.copy(out, v);
      len = b.length;
      break;
    }
    case "TextString":
      len = out.write(item.value, v, "utf8");
      break;
    case "ByteString":
      out.set(item.value, v);
      len = item.value.length;
      break;
  }
  out.writeUInt32BE(len, off + 4);
  return v + padded(len);
}
