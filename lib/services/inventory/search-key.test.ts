import { describe, expect, it } from "vitest";
import { searchKey } from "./search-key";

describe("searchKey", () => {
  it("lower-cases", () => {
    expect(searchKey("ACME-Web-01")).toBe("acme-web-01");
  });

  it("leaves no LIKE special character, and keeps different names different", () => {
    for (const s of ["100%", "web_01", "a\\b", "%_\\"]) expect(searchKey(s)).not.toMatch(/[%_\\]/);
    const keys = ["web_01", "web-01", "web%01", "web\\01", "webx01"].map(searchKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keeps substrings substrings", () => {
    expect(searchKey("Prod_DB%2\\x").includes(searchKey("DB%2\\"))).toBe(true);
    expect(searchKey("prod-db").includes(searchKey("_db"))).toBe(false);
  });
});
