import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { decodeKeyHeader, describeKey, EngineError } from "@/lib/engine";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { repositoryKeyRing } from "@/lib/services/backup/repository-key-ring";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";

// KEY-9 on the repository page: the restore points of a repository that the keys this console
// holds (its jobs' keys, registered KMS clusters, passwords entered for the repository, recovered
// keys) do not open — typically a repository adopted on a new console — each with the key ids it
// needs, and the password hints the repository's key headers carry (public, readable without the
// password). Nothing is decrypted here: only each point's key protections are tried.

export const UNKNOWN_VM_PREFIX = "(unknown VM";

export interface PointKeyNeedDto {
  id: string;
  createdAt: string;
  /** null: the point's VM is unknown until its key is supplied (its name is sealed in the point). */
  vmName: string | null;
  incremental: boolean;
  /** What would open it: `password:<id>`, `kms:<kms>/<key>@<version>`, `keyset:<id>`. */
  keyIds: string[];
}

export interface NeededKeyDto {
  keyId: string;
  kind: "password" | "kms" | "keyset" | "other";
  /** The hint set with the password, when the repository's key header holds one. */
  hint: string | null;
  points: number;
}

export interface RepositoryKeyNeedsDto {
  points: PointKeyNeedDto[];
  keys: NeededKeyDto[];
  /** Points not checked (more than the page checks at once). */
  unchecked: number;
  /** Why some keys the console should hold are not at hand (a KMS that does not answer, …). */
  problems: string[];
  /** The repository folder could not be read: nothing was checked. */
  unreadable: string | null;
  /** Backup passwords entered on this console for the repository (their sealed keys, never the password). */
  entered: Array<{ keyId: string; at: string; by: string | null }>;
}

const MAX_CHECKED = 200;
const schema = z.object({ repositoryId: z.string().trim().min(1).max(64) });

export async function getRepositoryKeyNeeds(actor: Actor, raw: z.input<typeof schema>): Promise<RepositoryKeyNeedsDto> {
  authorize(actor, "job:read");
  const { repositoryId } = parseInput(schema, raw);
  const row = await db.backupRepository.findUnique({ where: { id: repositoryId }, include: { jobs: true } });
  if (!row) throw new AppError("NOT_FOUND", "This repository does not exist.");
  const enteredRows = await db.repositoryKey.findMany({ where: { repositoryId }, orderBy: { createdAt: "asc" }, select: { keyId: true, createdAt: true, createdById: true } });
  const people = new Map((await db.user.findMany({ where: { id: { in: enteredRows.flatMap((k) => (k.createdById ? [k.createdById] : [])) } }, select: { id: true, name: true, email: true } })).map((u) => [u.id, u.name || u.email]));
  const entered = enteredRows.map((k) => ({ keyId: `password:${k.keyId}`, at: k.createdAt.toISOString(), by: k.createdById ? (people.get(k.createdById) ?? null) : null }));
  const out: RepositoryKeyNeedsDto = { points: [], keys: [], unchecked: 0, problems: [], unreadable: null, entered };
  const rows = await db.restorePoint.findMany({ where: { repositoryId, status: "ok" }, orderBy: { createdAt: "desc" }, select: { id: true, createdAt: true, vmName: true, incremental: true } });
  if (rows.length === 0) return out;
  let repo;
  try {
    repo = await openCataloguedRepository(row, `strongroom/${process.pid}/key-needs`);
  } catch (e) {
    out.unreadable = e instanceof Error ? e.message : String(e);
    return out;
  }
  const keys = await repositoryKeyRing(repositoryId, row.jobs);
  out.problems = keys.problems;
  try {
    for (const p of rows.slice(0, MAX_CHECKED)) {
      let needed: string[];
      try {
        needed = await repo.keysNeeded(p.id, keys.ring);
      } catch (e) {
        if (!(e instanceof EngineError)) throw e;
        continue; // a point file that cannot be read: the health check reports it
      }
      if (needed.length === 0) continue;
      out.points.push({ id: p.id, createdAt: p.createdAt.toISOString(), vmName: p.vmName.startsWith(UNKNOWN_VM_PREFIX) ? null : p.vmName, incremental: p.incremental, keyIds: needed });
    }
  } finally {
    await keys.close();
  }
  out.unchecked = Math.max(0, rows.length - MAX_CHECKED);
  if (out.points.length === 0) return out;

  // The hints: the repository's key headers (keys/<id>) are public, a password's hint among them.
  const hints = new Map<string, string>();
  try {
    for (const file of await repo.store.list("keys/")) {
      try {
        const h = decodeKeyHeader(await repo.store.get(file), file);
        if (h.kind === "password" && h.hint) hints.set(describeKey(h), h.hint);
      } catch {
        // a damaged key header: the verify reports it
      }
    }
  } catch {
    // no keys folder: no hints
  }
  const counts = new Map<string, number>();
  for (const p of out.points) for (const k of p.keyIds) counts.set(k, (counts.get(k) ?? 0) + 1);
  out.keys = [...counts].map(([keyId, points]) => ({ keyId, kind: kindOf(keyId), hint: hints.get(keyId) ?? null, points }));
  return out;
}

function kindOf(keyId: string): NeededKeyDto["kind"] {
  if (keyId.startsWith("password:")) return "password";
  if (keyId.startsWith("kms:")) return "kms";
  if (keyId.startsWith("keyset:")) return "keyset";
  return "other";
}
