import { describe, it, expect } from "vitest";
import { KmipCodecError } from "./errors";
import { bigInt, bool, bytes, dateTime, enm, int, interval, long, struct, text, formatTtlv } from "./items";
import { Tag, tagName } from "./tags";
import { decodeTtlv, encodeTtlv, type TtlvItem } from "./ttlv";
import { loadVectors } from "./testing/vectors";

const vectors = loadVectors();
const hex = (s: string) => Buffer.from(s.replace(/[\s|]/g, ""), "hex");

describe("TTLV codec on the captured PyKMIP vectors", () => {
  it("has all 32 vectors", () => {
    expect(vectors).toHaveLength(32);
  });

  for (const v of vectors) {
    it(`${v.name}: decodes and re-encodes to identical bytes`, () => {
      const item = decodeTtlv(v.bytes);
      expect(item.type).toBe("Structure");
      expect(encodeTtlv(item).equals(v.bytes)).toBe(true);
    });

    it(`${v.name}: matches the capture tool's tree (tags, types, lengths, values)`, () => {
      const lines = v.txt.trimEnd().split("\n");
      const flat: { depth: number; item: TtlvItem }[] = [];
      const walk = (it: TtlvItem, depth: number) => {
        flat.push({ depth, item: it });
        if (it.type === "Structure") for (const c of it.value) walk(c, depth + 1);
      };
      walk(decodeTtlv(v.bytes), 0);
      expect(flat).toHaveLength(lines.length);
      lines.forEach((line, i) => {
        const m = /^( *)(\S+) (0x[0-9A-F]{6}) (\w+) len=(\d+)(?: = (.*))?$/.exec(line);
        expect(m, line).not.toBeNull();
        const [, indent, , tagHex, type, len, value] = m!;
        const { depth, item } = flat[i];
        expect(indent.length / 2).toBe(depth);
        expect(item.tag).toBe(parseInt(tagHex, 16));
        expect(item.type).toBe(type);
        expect(encodeTtlv(item).readUInt32BE(4)).toBe(Number(len));
        switch (item.type) {
          case "Integer":
          case "DateTime":
            expect(String(item.value)).toBe(value);
            break;
          case "Enumeration":
            expect(value.startsWith(`0x${item.value.toString(16).toUpperCase().padStart(8, "0")}`)).toBe(true);
            break;
          case "TextString":
            expect(`'${item.value}'`).toBe(value);
            break;
          case "ByteString":
            expect(Buffer.from(item.value).toString("hex")).toBe(value);
            break;
          case "Structure":
            expect(value).toBeUndefined();
            break;
          default:
            throw new Error(`vector has an unexpected ${item.type}`);
        }
      });
    });
  }

  it("names every tag the vectors use", () => {
    const unknown = new Set<string>();
    const walk = (it: TtlvItem) => {
      if (tagName(it.tag).startsWith("0x")) unknown.add(tagName(it.tag));
      if (it.type === "Structure") it.value.forEach(walk);
    };
    vectors.forEach((v) => walk(decodeTtlv(v.bytes)));
    expect([...unknown]).toEqual([]);
  });
});

describe("TTLV encoding examples of the KMIP specification (§9.1.2)", () => {
  const cases: [string, TtlvItem, string][] = [
    ["Integer 8", int(0x420020, 8), "420020|02|00000004|00000008 00000000"],
    ["Long Integer", long(0x420020, 123456789000000000n), "420020|03|00000008|01B69B4BA5749200"],
    ["Big Integer", bigInt(0x420020, 1234567890000000000000000000n), "420020|04|00000010|0000000003FD35EB 6BC2DF4618080000"],
    ["Enumeration 255", enm(0x420020, 255), "420020|05|00000004|000000FF 00000000"],
    ["Boolean true", bool(0x420020, true), "420020|06|00000008|0000000000000001"],
    ["Text String", text(0x420020, "Hello World"), "420020|07|0000000B|48656C6C6F20576F 726C640000000000"],
    ["Byte String", bytes(0x420020, Buffer.from([1, 2, 3])), "420020|08|00000003|0102030000000000"],
    ["Date-Time", dateTime(0x420020, new Date(Date.UTC(2008, 2, 14, 11, 56, 40))), "420020|09|00000008|0000000047DA67F8"],
    ["Interval 10 days", interval(0x420020, 864000), "420020|0A|00000004|000D2F00 00000000"],
    [
      "Structure",
      struct(0x420020, [enm(0x420004, 254), int(0x420005, 255)]),
      "420020|01|00000020|420004|05|00000004|000000FE00000000|420005|02|00000004|000000FF00000000",
    ],
  ];
  for (const [name, item, bytesHex] of cases) {
    it(name, () => {
      expect(encodeTtlv(item).toString("hex")).toBe(hex(bytesHex).toString("hex"));
      expect(decodeTtlv(hex(bytesHex))).toEqual(item.type === "ByteString" ? { ...item, value: Buffer.from(item.value) } : item);
    });
  }
});

describe("TTLV value edges", () => {
  const roundTrip = (item: TtlvItem) => {
    const enc = encodeTtlv(item);
    expect(enc.length % 8).toBe(0);
    const dec = decodeTtlv(enc);
    expect(encodeTtlv(dec).equals(enc)).toBe(true);
    return dec;
  };

  it("Integer range, sign", () => {
    for (const n of [0, 1, -1, 2147483647, -2147483648]) expect(roundTrip(int(Tag.BatchCount, n)).value).toBe(n);
  });
  it("Enumeration and Interval are unsigned 32-bit", () => {
    expect(roundTrip(enm(Tag.Operation, 0xffffffff)).value).toBe(0xffffffff);
    expect(roundTrip(interval(Tag.LeaseTime, 0xffffffff)).value).toBe(0xffffffff);
  });
  it("LongInteger and DateTime are signed 64-bit", () => {
    for (const n of [0n, -1n, (1n << 63n) - 1n, -(1n << 63n)]) {
      expect(roundTrip(long(Tag.UsageLimitsTotal, n)).value).toBe(n);
      expect(roundTrip(dateTime(Tag.TimeStamp, n)).value).toBe(n);
    }
  });
  it("BigInteger uses minimal sign extension at every boundary", () => {
    const values = [0n, 1n, -1n, 127n, 128n, -128n, -129n, (1n << 63n) - 1n, 1n << 63n, -(1n << 63n), -(1n << 63n) - 1n, (1n << 2048n) + 12345n, -(1n << 2047n)];
    for (const n of values) {
      const dec = roundTrip(bigInt(Tag.Modulus, n));
      expect(dec.value).toBe(n);
    }
    expect(encodeTtlv(bigInt(Tag.Modulus, (1n << 63n) - 1n)).length).toBe(16);
    expect(encodeTtlv(bigInt(Tag.Modulus, 1n << 63n)).length).toBe(24);
  });
  it("Booleans, empty strings, empty structures, multi-byte UTF-8", () => {
    expect(roundTrip(bool(Tag.Fresh, false)).value).toBe(false);
    expect(roundTrip(text(Tag.NameValue, "")).value).toBe("");
    expect(roundTrip(bytes(Tag.KeyMaterial, Buffer.alloc(0))).value).toEqual(Buffer.alloc(0));
    expect(roundTrip(struct(Tag.RequestPayload, [])).value).toEqual([]);
    expect(roundTrip(text(Tag.NameValue, "clé-🔑-\uFEFFbom")).value).toBe("clé-🔑-\uFEFFbom");
    expect(roundTrip(text(Tag.NameValue, "\uFEFFleading bom")).value).toBe("\uFEFFleading bom");
  });
  it("ByteString lengths 0..17 pad correctly", () => {
    for (let n = 0; n <= 17; n++) {
      const enc = encodeTtlv(bytes(Tag.Data, Buffer.alloc(n, 0xab)));
      expect(enc.length).toBe(8 + Math.ceil(n / 8) * 8);
      expect(Buffer.from((decodeTtlv(enc) as { value: Uint8Array }).value)).toEqual(Buffer.alloc(n, 0xab));
    }
  });

  it("refuses to encode impossible values with KmipCodecError bad-value", () => {
    const bad: TtlvItem[] = [
      int(Tag.BatchCount, 2 ** 31),
      int(Tag.BatchCount, 1.5),
      enm(Tag.Operation, -1),
      long(Tag.UsageLimitsTotal, 1n << 63n),
      text(Tag.NameValue, "\uD800"),
      { tag: 0x1000000, type: "Integer", value: 1 },
      { tag: Tag.Data, type: "ByteString", value: "nope" as unknown as Uint8Array },
      { tag: Tag.Data, type: "Float" as "Integer", value: 1 },
    ];
    for (const item of bad) {
      let err: unknown;
      try {
        encodeTtlv(item);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KmipCodecError);
      expect((err as KmipCodecError).code).toBe("bad-value");
    }
  });
});

describe("formatTtlv", () => {
  it("prints the tree like the capture tool and redacts key material", () => {
    const get = vectors.find((v) => v.name === "kmip14-get.response")!;
    const out = formatTtlv(decodeTtlv(get.bytes));
    expect(out).toContain("UniqueIdentifier 0x420094 TextString len=2 = \"97\"");
    expect(out).toContain("Operation 0x42005C Enumeration = 0x0000000A (Get)");
    expect(out).toContain("KeyMaterial 0x420043 ByteString len=32 = <redacted>");
    expect(out).not.toContain("8e9b983981d5800e");
    expect(formatTtlv(decodeTtlv(get.bytes), { redactSecrets: false })).toContain("8e9b983981d5800e");
  });
});
