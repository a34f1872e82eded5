// The registry's own rules: magic numbers distinct, ids distinct within each table, retired ids
// never reassigned. A failing test here means someone reused a number that is already on disk.
import { describe, expect, it } from "vitest";
import * as registry from "./format-registry";

const tables: Record<string, Record<string, number>> = {
  CompressionId: registry.CompressionId,
  CipherId: registry.CipherId,
  HashId: registry.HashId,
  KdfId: registry.KdfId,
  WrapId: registry.WrapId,
  KeyHeaderKind: registry.KeyHeaderKind,
  BlockKind: registry.BlockKind,
  LockKind: registry.LockKind,
};

describe("format registry", () => {
  it("has distinct four-byte ASCII magic numbers", () => {
    const magics = Object.values(registry.MAGIC);
    expect(new Set(magics).size).toBe(magics.length);
    for (const m of magics) expect(m).toMatch(/^[A-Z]{4}$/);
  });

  it.each(Object.entries(tables))("%s has distinct ids that fit in a byte", (_, table) => {
    const ids = Object.values(table);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(256);
    }
  });

  it("never reassigns a retired id", () => {
    for (const r of registry.RETIRED_IDS) expect(Object.values(tables[r.table] ?? {})).not.toContain(r.id);
  });

  it("pins the ids written by format version 1 (changing one breaks every repository)", () => {
    expect(tables).toMatchInlineSnapshot(`
      {
        "BlockKind": {
          "data": 1,
          "zero": 0,
        },
        "CipherId": {
          "aes256gcm": 1,
        },
        "CompressionId": {
          "none": 0,
          "zstd": 1,
        },
        "HashId": {
          "blake3_256": 1,
        },
        "KdfId": {
          "argon2id": 1,
        },
        "KeyHeaderKind": {
          "kms": 2,
          "password": 1,
          "recoveryKeyset": 3,
        },
        "LockKind": {
          "exclusive": 2,
          "shared": 1,
        },
        "WrapId": {
          "aes256GcmCommitted": 2,
          "aesKw": 1,
          "kmsEncrypt": 4,
          "kmsRsaOaepSha256": 5,
          "rsaOaepSha256": 3,
        },
      }
    `);
    expect(registry.MAGIC).toMatchInlineSnapshot(`
      {
        "blockAad": "SRBK",
        "chain": "SRCH",
        "config": "SRCF",
        "index": "SRIX",
        "keyHeader": "SRKH",
        "lock": "SRLK",
        "pack": "SRPK",
        "packEnd": "SRPE",
        "point": "SRPT",
        "wrapAad": "SRWR",
      }
    `);
  });
});
