// The one test suite every RepositoryStore passes (restic's backend/test/suite.go): the memory
// twin and the fault twin in the unit run, the filesystem store in the integration run. A new
// store (S3, SMB…) is correct when it passes this too.

import { describe, expect, it } from "vitest";
import { NotFoundError, StoreIoError } from "../errors";
import { FaultyStore } from "../repository/faulty-store";
import type { RepositoryStore } from "../repository/store";

export interface StoreHarness {
  store: RepositoryStore;
  cleanup?: () => Promise<void>;
}

export function describeStoreContract(label: string, make: () => Promise<StoreHarness>): void {
  describe(`RepositoryStore contract: ${label}`, () => {
    const withStore = (fn: (store: RepositoryStore) => Promise<void>) => async () => {
      const h = await make();
      try {
        await fn(h.store);
      } finally {
        await h.cleanup?.();
      }
    };

    it(
      "puts and gets bytes, from one chunk or several",
      withStore(async (s) => {
        await s.put("config", Buffer.from("abc"));
        await s.put("packs/ab/ab01", [Buffer.from("he"), new Uint8Array([108, 108]), Buffer.from("o")]);
        expect((await s.get("config")).toString()).toBe("abc");
        expect((await s.get("packs/ab/ab01")).toString()).toBe("hello");
        expect(await s.size("packs/ab/ab01")).toBe(5);
        expect(await s.size("missing")).toBeUndefined();
      }),
    );

    it(
      "reads ranges, short at the end of the file",
      withStore(async (s) => {
        await s.put("index/x", Buffer.from("0123456789"));
        expect((await s.getRange("index/x", 2, 3)).toString()).toBe("234");
        expect((await s.getRange("index/x", 8, 10)).toString()).toBe("89");
        expect((await s.getRange("index/x", 20, 5)).length).toBe(0);
      }),
    );

    it(
      "replaces a file whole and keeps callers' buffers out of it",
      withStore(async (s) => {
        const buf = Buffer.from("first");
        await s.put("chains/c.vbm", buf);
        buf.write("XXXXX");
        expect((await s.get("chains/c.vbm")).toString()).toBe("first");
        await s.put("chains/c.vbm", Buffer.from("second, longer"));
        expect((await s.get("chains/c.vbm")).toString()).toBe("second, longer");
        const got = await s.get("chains/c.vbm");
        got.fill(0);
        expect((await s.get("chains/c.vbm")).toString()).toBe("second, longer");
      }),
    );

    it(
      "lists complete files by prefix, sorted, across folders",
      withStore(async (s) => {
        for (const n of ["points/b", "points/a", "packs/01/01aa", "packs/ff/ffbb", "config"]) await s.put(n, Buffer.from(n));
        expect(await s.list("points/")).toEqual(["points/a", "points/b"]);
        expect(await s.list("packs/")).toEqual(["packs/01/01aa", "packs/ff/ffbb"]);
        expect(await s.list("nothing/")).toEqual([]);
        expect(await s.listTemporary()).toEqual([]);
      }),
    );

    it(
      "deletes idempotently and reports missing files as NotFoundError",
      withStore(async (s) => {
        await s.put("locks/l1", Buffer.from("x"));
        await s.delete("locks/l1");
        await s.delete("locks/l1");
        await expect(s.get("locks/l1")).rejects.toBeInstanceOf(NotFoundError);
        await expect(s.getRange("locks/l1", 0, 1)).rejects.toBeInstanceOf(NotFoundError);
        expect(await s.list("locks/")).toEqual([]);
      }),
    );

    it(
      "refuses names that could escape the repository",
      withStore(async (s) => {
        for (const bad of ["../x", "/etc/passwd", "a/../../b", "", "Packs/x", "a//b", "points/x.tmp-0123456789abcdef"]) {
          await expect(s.put(bad, Buffer.from("x"))).rejects.toThrow(/invalid repository file name/);
        }
      }),
    );

    it(
      "keeps the old content when a put is interrupted, leaving only a temporary",
      withStore(async (s) => {
        await s.put("points/p", Buffer.from("old"));
        const faulty = new FaultyStore(s).addFault({ op: "put", fault: { kind: "io-error-after-bytes", bytes: 2 } });
        await expect(faulty.put("points/p", Buffer.from("new content"))).rejects.toBeInstanceOf(StoreIoError);
        faulty.addFault({ op: "put", fault: { kind: "crash-before-rename" } }); // counts from when it is armed
        await expect(faulty.put("points/p", Buffer.from("newer"))).rejects.toThrow(/simulated crash/);
        expect((await s.get("points/p")).toString()).toBe("old");
        expect(await s.list("points/")).toEqual(["points/p"]);
        const temps = await faulty.revive().listTemporary();
        expect(temps).toHaveLength(2);
        for (const t of temps) await faulty.delete(t);
        expect(await faulty.listTemporary()).toEqual([]);
      }),
    );

    it(
      "reports a full disk as ENOSPC and keeps earlier files",
      withStore(async (s) => {
        const faulty = new FaultyStore(s).diskFullAfter(10);
        await faulty.put("packs/00/0001", Buffer.alloc(8, 1));
        const err = await faulty.put("packs/00/0002", Buffer.alloc(8, 2)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreIoError);
        expect((err as StoreIoError).errno).toBe("ENOSPC");
        expect(await s.list("packs/")).toEqual(["packs/00/0001"]);
      }),
    );
  });
}
