// A repository whose disk is full (ENOSPC): the error says so, with how much the write needed and
// how much was free (RepositoryFullError carries the numbers), and earlier points stay intact
// (BKP-6). Needs a small filesystem of its own: a 2 MiB tmpfs, mounted when run as root
// (skipped elsewhere, where mount is refused).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RepositoryFullError } from "../errors";
import { KeyRing } from "../keys/key-ring";
import { BLOCK, noise, testRepository, weakPasswordKey } from "../testing/engine-fixtures";
import { FilesystemStore } from "./filesystem-store";

const dir = mkdtempSync(path.join(os.tmpdir(), "strongroom-full-"));
let mounted = false;
try {
  if (process.getuid?.() === 0) {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], { stdio: "ignore" });
    mounted = true;
  }
} catch {
  mounted = false;
}

describe.skipIf(!mounted)("a repository on a full disk", () => {
  afterAll(() => {
    execFileSync("umount", [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a put that does not fit fails with RepositoryFullError: needed and free bytes, in words", async () => {
    const store = new FilesystemStore(dir);
    const err = await store.put("packs/ab/ab00", Buffer.alloc(3 * 1024 * 1024, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepositoryFullError);
    const full = err as RepositoryFullError;
    expect(full).toMatchObject({ code: "STORE_IO", errno: "ENOSPC", neededBytes: 3 * 1024 * 1024 });
    expect(full.availableBytes).toBeLessThan(full.neededBytes);
    expect(full.message).toMatch(/the repository's disk is full: writing packs\/ab\/ab00 needs 3\.0 MiB and .* are free\. Free space/);
    expect(await store.listTemporary()).toEqual([]);
  });

  it("a backup session that fills the disk fails with it, and the earlier point still opens", async () => {
    const { repo } = await testRepository({ store: new FilesystemStore(path.join(dir, "repo")), packTargetSize: 64 * BLOCK });
    const password = await weakPasswordKey();
    const ring = new KeyRing().addPasswordKey(password);
    const first = await repo.beginPoint({ protection: { password } });
    await first.writeDisk("d", { capacity: 4 * BLOCK, blocks: [{ index: 0, data: noise("first", BLOCK) }] });
    const { pointId } = await first.commit();
    const s = await repo.beginPoint({ protection: { password } });
    const blocks = Array.from({ length: 1024 }, (_, i) => ({ index: i, data: noise(`fill-${i}`, BLOCK) })); // 4 MiB, incompressible
    const err = await s.writeDisk("d", { capacity: 1024 * BLOCK, blocks }).then(() => s.commit()).catch((e: unknown) => e);
    await s.abort();
    expect(err).toBeInstanceOf(RepositoryFullError);
    expect((err as RepositoryFullError).neededBytes).toBeGreaterThan(0);
    const point = await repo.readPoint(pointId, ring);
    expect((await point.readBlock("d", 0)).equals(noise("first", BLOCK))).toBe(true);
    point.close();
  });
});
