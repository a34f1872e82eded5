import { describe, it, expect } from "vitest";
import * as enums from "./enums";
import { Tag, isKnownTag, tagName } from "./tags";

describe("tag registry", () => {
  it("registers every number once, all in the KMIP 0x42xxxx range", () => {
    const numbers = Object.values(Tag);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of numbers) expect(n >>> 16).toBe(0x42);
    expect(numbers.length).toBeGreaterThan(280); // the whole KMIP 1.4 table
  });
  it("names tags both ways, and prints unknown tags as hex", () => {
    expect(Tag.UniqueIdentifier).toBe(0x420094);
    expect(Tag.AuthenticatedEncryptionTag).toBe(0x4200ff);
    expect(tagName(0x420094)).toBe("UniqueIdentifier");
    expect(tagName(0x540001)).toBe("0x540001");
    expect(isKnownTag(0x540001)).toBe(false);
  });
});

describe("enumerations", () => {
  it("have unique values within each table", () => {
    for (const [name, table] of Object.entries(enums)) {
      if (typeof table !== "object" || table instanceof Map) continue;
      const values = Object.values(table as Record<string, number>);
      expect(new Set(values).size, name).toBe(values.length);
    }
  });
  it("name values, and fall back to hex", () => {
    expect(enums.enumName(enums.ResultReason, 0x0c)).toBe("PermissionDenied");
    expect(enums.enumName(enums.ResultReason, 0x01)).toBe("ItemNotFound");
    expect(enums.enumName(enums.ResultReason, 0x07)).toBe("InvalidField");
    expect(enums.enumName(enums.Operation, 0x99)).toBe("0x00000099");
    expect(enums.usageMaskNames(12)).toEqual(["Encrypt", "Decrypt"]);
  });
});
