// Small helpers over TtlvItem trees: constructors, typed accessors (throwing
// KmipCodecError "bad-message" when a KMIP message lacks a field or has the
// wrong type), and a debug printer that redacts secrets.

import { KmipCodecError } from "./errors";
import { ENUM_FOR_TAG, enumName } from "./enums";
import { Tag, tagName } from "./tags";
import type { TtlvItem, TtlvType } from "./ttlv";

export type ItemOf<T extends TtlvType> = Extract<TtlvItem, { type: T }>;

// ---------------------------------------------------------------- constructors

export const struct = (tag: number, value: readonly (TtlvItem | undefined | false | null)[]): ItemOf<"Structure"> => ({
  tag,
  type: "Structure",
  value: compact(value),
});
/** Drop the absent optional fields of a field list. */
export function compact(xs: readonly (TtlvItem | false | undefined | null)[]): TtlvItem[] {
  return xs.filter((x): x is TtlvItem => Boolean(x));
}
export const int = (tag: number, value: number): ItemOf<"Integer"> => ({ tag, type: "Integer", value });
export const long = (tag: number, value: bigint): ItemOf<"LongInteger"> => ({ tag, type: "LongInteger", value });
export const bigInt = (tag: number, value: bigint): ItemOf<"BigInteger"> => ({ tag, type: "BigInteger", value });
export const enm = (tag: number, value: number): ItemOf<"Enumeration"> => ({ tag, type: "Enumeration", value });
export const bool = (tag: number, value: boolean): ItemOf<"Boolean"> => ({ tag, type: "Boolean", value });
export const text = (tag: number, value: string): ItemOf<"TextString"> => ({ tag, type: "TextString", value });
export const bytes = (tag: number, value: Uint8Array): ItemOf<"ByteString"> => ({ tag, type: "ByteString", value });
export const dateTime = (tag: number, value: Date | bigint): ItemOf<"DateTime"> => ({
  tag,
  type: "DateTime",
  value: typeof value === "bigint" ? value : BigInt(Math.floor(value.getTime() / 1000)),
});
export const interval = (tag: number, value: number): ItemOf<"Interval"> => ({ tag, type: "Interval", value });

// ---------------------------------------------------------------- accessors

function describe(tag: number): string {
  return tagName(tag);
}

/** The children of a Structure (throws if `item` is not one). */
export function children(item: TtlvItem, context = describe(item.tag)): TtlvItem[] {
  if (item.type !== "Structure") throw new KmipCodecError("bad-message", `${context} should be a Structure, is a ${item.type}`);
  return item.value;
}

/** First child with `tag`, optionally of a given type (throws on a type mismatch). */
export function find<T extends TtlvType>(parent: TtlvItem, tag: number, type?: T): ItemOf<T> | undefined {
  const c = children(parent).find((x) => x.tag === tag);
  if (c === undefined) return undefined;
  if (type !== undefined && c.type !== type) {
    throw new KmipCodecError("bad-message", `${describe(tag)} in ${describe(parent.tag)} should be a ${type}, is a ${c.type}`);
  }
  return c as ItemOf<T>;
}

/** All children with `tag` (and, if given, each must be of `type`). */
export function findAll<T extends TtlvType>(parent: TtlvItem, tag: number, type?: T): ItemOf<T>[] {
  return children(parent)
    .filter((x) => x.tag === tag)
    .map((c) => {
      if (type !== undefined && c.type !== type) {
        throw new KmipCodecError("bad-message", `${describe(tag)} in ${describe(parent.tag)} should be a ${type}, is a ${c.type}`);
      }
      return c as ItemOf<T>;
    });
}

/** Like find, but the child must be present. */
export function need<T extends TtlvType>(parent: TtlvItem, tag: number, type: T): ItemOf<T> {
  const c = find(parent, tag, type);
  if (c === undefined) throw new KmipCodecError("bad-message", `${describe(parent.tag)} lacks ${describe(tag)}`);
  return c;
}

export const needText = (p: TtlvItem, tag: number): string => need(p, tag, "TextString").value;
export const needEnum = (p: TtlvItem, tag: number): number => need(p, tag, "Enumeration").value;
export const needInt = (p: TtlvItem, tag: number): number => need(p, tag, "Integer").value;
export const needBytes = (p: TtlvItem, tag: number): Buffer => Buffer.from(need(p, tag, "ByteString").value);
export const optText = (p: TtlvItem, tag: number): string | undefined => find(p, tag, "TextString")?.value;
export const optEnum = (p: TtlvItem, tag: number): number | undefined => find(p, tag, "Enumeration")?.value;
export const optInt = (p: TtlvItem, tag: number): number | undefined => find(p, tag, "Integer")?.value;
export const optBytes = (p: TtlvItem, tag: number): Buffer | undefined => {
  const b = find(p, tag, "ByteString");
  return b === undefined ? undefined : Buffer.from(b.value);
};

/** DateTime seconds → Date (undefined when outside the range a Date can hold). */
export function toDate(seconds: bigint): Date | undefined {
  const ms = Number(seconds) * 1000;
  return Math.abs(ms) <= 8.64e15 ? new Date(ms) : undefined;
}

// ---------------------------------------------------------------- debug printing

/** Tags whose ByteString values are secret: printed as "<n bytes redacted>". */
const SECRET_TAGS = new Set<number>([
  Tag.KeyMaterial, Tag.Data, Tag.IVCounterNonce, Tag.Password, Tag.CredentialValue, Tag.D, Tag.P, Tag.Q,
  Tag.PrivateExponent, Tag.PrimeExponentP, Tag.PrimeExponentQ, Tag.CRTCoefficient, Tag.X, Tag.Key,
  Tag.SecretData, Tag.AuthenticatedEncryptionTag, Tag.AuthenticatedEncryptionAdditionalData,
]);

/**
 * A text tree of `item`, one line per item, in the layout of the capture
 * tool's .txt files ("NAME 0x420094 TextString len=2 = '96'"). Secrets
 * (key material, data, private exponents, ...) are redacted unless
 * `redactSecrets` is false.
 */
export function formatTtlv(item: TtlvItem, options: { redactSecrets?: boolean } = {}): string {
  const redact = options.redactSecrets ?? true;
  const lines: string[] = [];
  const walk = (it: TtlvItem, indent: string, secret: boolean) => {
    const hex = `0x${it.tag.toString(16).toUpperCase().padStart(6, "0")}`;
    const head = `${indent}${tagName(it.tag)} ${hex} ${it.type}`;
    const hide = redact && (secret || SECRET_TAGS.has(it.tag));
    switch (it.type) {
      case "Structure":
        lines.push(`${head} items=${it.value.length}`);
        for (const c of it.value) walk(c, `${indent}  `, hide);
        return;
      case "Enumeration": {
        const table = ENUM_FOR_TAG.get(it.tag);
        const name = table ? ` (${enumName(table, it.value)})` : "";
        lines.push(`${head} = 0x${it.value.toString(16).toUpperCase().padStart(8, "0")}${name}`);
        return;
      }
      case "ByteString":
        lines.push(hide ? `${head} len=${it.value.length} = <redacted>` : `${head} len=${it.value.length} = ${Buffer.from(it.value).toString("hex")}`);
        return;
      case "BigInteger":
        lines.push(hide ? `${head} = <redacted>` : `${head} = ${it.value}`);
        return;
      case "TextString":
        lines.push(`${head} len=${Buffer.byteLength(it.value)} = ${JSON.stringify(it.value)}`);
        return;
      default:
        lines.push(`${head} = ${String(it.value)}`);
    }
  };
  walk(item, "", false);
  return lines.join("\n");
}
