import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { env } from "@/lib/config/env";
import { db } from "@/lib/db/client";
import { createRepository, FilesystemStore, openRepository } from "@/lib/engine";

/**
 * First start: a repository in the data folder, so a new console can back up at once. An
 * administrator adds their own (a mounted backup volume) under Repositories.
 */
export async function ensureDefaultRepository(): Promise<{ created: boolean; path: string }> {
  const folder = path.join(env.dataDir, "repositories", "default");
  if ((await db.backupRepository.count()) > 0) return { created: false, path: folder };
  await fs.mkdir(folder, { recursive: true });
  const store = new FilesystemStore(folder);
  const repo = (await fs.readdir(folder)).length ? await openRepository(store) : await createRepository(store);
  await db.backupRepository.create({
    data: { name: "Default repository", path: folder, description: "Created at first start in the Strongroom data folder.", engineId: repo.id, blockSize: repo.config.blockSize },
  });
  return { created: true, path: folder };
}
