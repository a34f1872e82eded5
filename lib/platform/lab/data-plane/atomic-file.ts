// Whole-file replacement that a crash cannot tear: write a temporary file beside the target,
// fsync it, rename it over the target, then fsync the folder so the rename itself is durable.
// Used for small metadata (key stores, VM configurations, descriptors) that must never be read
// half-written — a torn key store would lose every key in it.

import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";

export async function writeFileAtomic(target: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  const file = await open(temp, "wx", mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(temp, { force: true });
    throw err;
  }
  await file.close();
  try {
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncFolder(path.dirname(target));
}

/** fsync a folder, so a new name or a rename in it survives a crash. */
export async function syncFolder(folder: string): Promise<void> {
  const dir = await open(folder, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
