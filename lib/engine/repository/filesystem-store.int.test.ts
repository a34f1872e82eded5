// The store contract on a real folder (integration run: it touches the filesystem).
//   npx vitest run --project integration lib/engine
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FilesystemStore } from "./filesystem-store";
import { describeStoreContract } from "../testing/store-contract";
import { FaultyStore } from "./faulty-store";
import { describe, expect, it } from "vitest";
import { KeyRing } from "../keys/key-ring";
import { backupSample, readImage, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import { openRepository } from "./repository";

async function tempStore() {
  const root = await mkdtemp(path.join(os.tmpdir(), "strongroom-store-"));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

describeStoreContract("FilesystemStore", async () => {
  const { root, cleanup } = await tempStore();
  return { store: new FilesystemStore(root), cleanup };
});

describeStoreContract("FaultyStore(FilesystemStore) without faults", async () => {
  const { root, cleanup } = await tempStore();
  return { store: new FaultyStore(new FilesystemStore(root)), cleanup };
});

describe("a repository on a real folder", () => {
  it("backs up, reopens, reads, verifies and applies retention", async () => {
    const { root, cleanup } = await tempStore();
    try {
      const { repo } = await testRepository({ store: new FilesystemStore(root) });
      const password = await weakPasswordKey();
      const first = await backupSample(repo, { password });
      const second = await backupSample(repo, { password }, { chainId: first.chainId, seed: "other" });
      const reopened = await openRepository(new FilesystemStore(root));
      const ring = new KeyRing().addPasswordKey(password);
      expect((await readImage(reopened, second.pointId, ring)).equals(second.disk.image)).toBe(true);
      expect((await reopened.verify({ keyRing: ring })).ok).toBe(true);
      const report = await reopened.applyRetention({ keep: 1 });
      expect(report.deletedPoints).toEqual([first.pointId]);
      expect((await reopened.verify({ keyRing: ring })).ok).toBe(true);
      expect(await reopened.store.listTemporary()).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});
