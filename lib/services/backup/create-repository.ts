import "server-only";
import fs from "node:fs/promises";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { createRepository as createEngineRepository, FilesystemStore, openRepository, type Repository } from "@/lib/engine";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { createRepositorySchema } from "@/lib/schemas/backup";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { canonicalRepositoryFolder } from "./repository-folder";
import { reconcileCatalogue } from "./reconcile-catalogue";
import { repositoryKeyRing } from "./repository-key-ring";

const DAY_MS = 86_400_000;

/**
 * Adds a folder as a backup repository: an empty (or new) folder gets a new repository; a folder
 * that already holds one is adopted as it is (KEY-9: a new console pointed at old backups), with
 * its own immutability period.
 */
export async function createBackupRepository(actor: Actor, raw: z.input<typeof createRepositorySchema>): Promise<{ id: string; adopted: boolean }> {
  authorize(actor, "job:manage");
  const parsed = parseInput(createRepositorySchema, raw);
  const input = { ...parsed, path: await canonicalRepositoryFolder(parsed.path) };
  const clash = await db.backupRepository.findFirst({ where: { OR: [{ name: input.name }, { path: input.path }] }, select: { name: true, path: true } });
  if (clash) {
    const field = clash.name === input.name ? "name" : "path";
    throw new AppError("CONFLICT", field === "name" ? `A repository named ${input.name} exists.` : `${input.path} is already the repository ${clash.name}.`, {
      [field]: [field === "name" ? "This name is in use" : `This folder is already a repository: ${clash.name}`],
    });
  }
  const repo = await openOrCreate(input.path, input.immutabilityDays);
  // The same repository reached by another path (an older row stored before paths were canonical,
  // a bind mount, a copy of the folder): its id, from the folder's config, is already registered.
  const same = await db.backupRepository.findFirst({ where: { engineId: repo.repository.id }, select: { name: true, path: true } });
  if (same) {
    throw new AppError("CONFLICT", `This folder holds the repository already registered as ${same.name} (${same.path}). Use that repository instead of registering it again.`, {
      path: [`This folder is already a repository: ${same.name}`],
    });
  }
  const adopted = repo.adopted;
  const row = await db.backupRepository.create({
    data: {
      name: input.name,
      path: input.path,
      description: input.description,
      engineId: repo.repository.id,
      blockSize: repo.repository.config.blockSize,
      immutabilityDays: Math.round(repo.repository.config.immutabilityMs / DAY_MS),
    },
  });
  // KEY-9: an adopted repository lists its backups at once, each with the keys it needs; the keys
  // this console holds (a registered KMS, an entered password) open and name them.
  let catalogued = 0;
  if (adopted) {
    const keys = await repositoryKeyRing(row.id, []);
    try {
      catalogued = (await reconcileCatalogue(row, repo.repository, { keyRing: keys.ring, adopt: true })).adopted.length;
    } finally {
      await keys.close();
    }
  }
  await recordAuditEvent({
    actor,
    action: "repository.create",
    objectType: "repository",
    objectId: row.id,
    outcome: "success",
    details: { name: row.name, path: row.path, adopted, immutabilityDays: row.immutabilityDays, ...(adopted ? { pointsFound: catalogued } : {}) },
  });
  return { id: row.id, adopted };
}

async function openOrCreate(folder: string, immutabilityDays: number): Promise<{ repository: Repository; adopted: boolean }> {
  const store = new FilesystemStore(folder);
  try {
    await fs.mkdir(folder, { recursive: true });
    const entries = await fs.readdir(folder);
    if (entries.length > 0) {
      try {
        return { repository: await openRepository(store), adopted: true };
      } catch {
        throw new AppError("CONFLICT", `${folder} is not empty and holds no Strongroom repository. Choose an empty folder.`, { path: ["Choose an empty folder or an existing repository"] });
      }
    }
    return { repository: await createEngineRepository(store, { immutabilityMs: immutabilityDays * DAY_MS }), adopted: false };
  } catch (e) {
    if (e instanceof AppError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "EACCES" || code === "EPERM" ? "permission denied" : code === "ENOSPC" ? "the disk is full" : code === "ENOTDIR" ? "a part of the path is a file" : "it cannot be written";
    throw new AppError("CONFLICT", `The folder ${folder} cannot be used: ${why}. Choose a folder the Strongroom server can write.`, { path: [`Cannot use this folder: ${why}`] });
  }
}
