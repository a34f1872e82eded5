// A temporary folder per test, removed afterwards (vitest hooks).

import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach } from "vitest";

/** Registers hooks; `folder()` is this test's fresh temporary folder. */
export function useTempFolder(prefix = "strongroom-dp-"): () => string {
  let current: string | undefined;
  beforeEach(async () => {
    current = await mkdtemp(path.join(os.tmpdir(), prefix));
  });
  afterEach(async () => {
    if (current) await rm(current, { recursive: true, force: true });
    current = undefined;
  });
  return () => {
    if (!current) throw new Error("no temporary folder outside a test");
    return current;
  };
}
