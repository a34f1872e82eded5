// KMIP 1.x attributes: Attribute { Attribute Name (TextString), [Attribute Index],
// Attribute Value (any type, tag 0x42000B) }, grouped in a Template-Attribute
// for Create / Register / CreateKeyPair, and listed bare in Locate and in a
// Get Attributes response. (KMIP 2.0 replaced this form; this client speaks 1.x.)

import { CryptographicAlgorithm, ENUM_FOR_ATTRIBUTE, ENUM_FOR_TAG, NameType, ObjectType, State, enumName } from "./enums";
import { children, enm, find, int, needText, optInt, struct, text, toDate } from "./items";
import { Tag, tagName } from "./tags";
import type { TtlvItem } from "./ttlv";
import { KmipCodecError } from "./errors";

type ValueItem = TtlvItem; // an item whose tag is Attribute Value

export function attribute(name: string, value: ValueItem, index?: number): TtlvItem {
  return struct(Tag.Attribute, [
    text(Tag.AttributeName, name),
    index !== undefined && int(Tag.AttributeIndex, index),
    { ...value, tag: Tag.AttributeValue } as TtlvItem,
  ]);
}

/** The KMIP 1.x attribute constructors this client uses. */
export const Attr = {
  cryptographicAlgorithm: (alg: number) => attribute("Cryptographic Algorithm", enm(Tag.AttributeValue, alg)),
  cryptographicLength: (bits: number) => attribute("Cryptographic Length", int(Tag.AttributeValue, bits)),
  cryptographicUsageMask: (mask: number) => attribute("Cryptographic Usage Mask", int(Tag.AttributeValue, mask)),
  name: (value: string, type: number = NameType.UninterpretedTextString) =>
    attribute("Name", struct(Tag.AttributeValue, [text(Tag.NameValue, value), enm(Tag.NameType, type)])),
  objectType: (type: number) => attribute("Object Type", enm(Tag.AttributeValue, type)),
  operationPolicyName: (policy: string) => attribute("Operation Policy Name", text(Tag.AttributeValue, policy)),
};

/** Template-Attribute (or Common / Private Key / Public Key Template-Attribute with `tag`). */
export function templateAttribute(attrs: TtlvItem[], tag: number = Tag.TemplateAttribute): TtlvItem {
  return struct(tag, attrs);
}

/** A JavaScript view of an attribute value. */
export type PlainValue =
  | string
  | number
  | bigint
  | boolean
  | Buffer
  | Date
  | { [field: string]: PlainValue | PlainValue[] };

export interface KmipAttribute {
  name: string;
  index?: number;
  /**
   * Enumerations of known attributes as names ("AES", "Active"), Name as
   * { value, type }, DateTime as Date, other Structures as objects keyed by tag name.
   */
  value: PlainValue;
}

/** Convert any item to a plain JS value (Structures → objects keyed by tag name; repeated tags → arrays). */
export function toPlain(item: TtlvItem): PlainValue {
  switch (item.type) {
    case "Structure": {
      const out: { [k: string]: PlainValue | PlainValue[] } = {};
      for (const c of item.value) {
        const k = tagName(c.tag);
        const v = toPlain(c);
        const prev = out[k];
        if (prev === undefined) out[k] = v;
        else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      return out;
    }
    case "Enumeration": {
      const table = ENUM_FOR_TAG.get(item.tag);
      return table ? enumName(table, item.value) : item.value;
    }
    case "DateTime":
      return toDate(item.value) ?? item.value;
    case "ByteString":
      return Buffer.from(item.value);
    default:
      return item.value;
  }
}

export function parseAttribute(item: TtlvItem): KmipAttribute {
  const name = needText(item, Tag.AttributeName);
  const index = optInt(item, Tag.AttributeIndex);
  const v = find(item, Tag.AttributeValue);
  if (v === undefined) throw new KmipCodecError("bad-message", `attribute "${name}" has no Attribute Value`);
  let value: PlainValue;
  const table = ENUM_FOR_ATTRIBUTE.get(name);
  if (table && v.type === "Enumeration") value = enumName(table, v.value);
  else if (name === "Name" && v.type === "Structure") {
    const nameType = find(v, Tag.NameType, "Enumeration")?.value;
    value = { value: needText(v, Tag.NameValue), type: nameType === undefined ? "UninterpretedTextString" : enumName(NameType, nameType) };
  } else value = toPlain(v);
  return index === undefined ? { name, value } : { name, index, value };
}

/** The attributes of one object, with the common ones lifted into typed fields. */
export interface AttributeSet {
  uniqueIdentifier: string;
  attributes: KmipAttribute[];
  names: string[];
  objectType?: keyof typeof ObjectType | `0x${string}`;
  cryptographicAlgorithm?: keyof typeof CryptographicAlgorithm | `0x${string}`;
  cryptographicLength?: number;
  cryptographicUsageMask?: number;
  state?: keyof typeof State | `0x${string}`;
  initialDate?: Date;
  activationDate?: Date;
  lastChangeDate?: Date;
}

export function attributeSet(uniqueIdentifier: string, items: TtlvItem[]): AttributeSet {
  const attributes = items.map(parseAttribute);
  const first = (n: string) => attributes.find((a) => a.name === n)?.value;
  const asStr = <T extends string>(v: PlainValue | undefined) => (typeof v === "string" ? (v as T) : undefined);
  const asNum = (v: PlainValue | undefined) => (typeof v === "number" ? v : undefined);
  const asDate = (v: PlainValue | undefined) => (v instanceof Date ? v : undefined);
  return {
    uniqueIdentifier,
    attributes,
    names: attributes
      .filter((a) => a.name === "Name")
      .map((a) => (a.value as { value: string }).value),
    objectType: asStr(first("Object Type")),
    cryptographicAlgorithm: asStr(first("Cryptographic Algorithm")),
    cryptographicLength: asNum(first("Cryptographic Length")),
    cryptographicUsageMask: asNum(first("Cryptographic Usage Mask")),
    state: asStr(first("State")),
    initialDate: asDate(first("Initial Date")),
    activationDate: asDate(first("Activation Date")),
    lastChangeDate: asDate(first("Last Change Date")),
  };
}

/** All Attribute children of a structure (Template-Attribute, Locate or Get Attributes payload). */
export function attributesOf(parent: TtlvItem): TtlvItem[] {
  return children(parent).filter((c) => c.tag === Tag.Attribute);
}
