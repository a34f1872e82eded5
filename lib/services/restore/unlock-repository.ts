import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { decodeKeyHeader, derivePasswordKey, encodeKeyHeader, EngineError, KeyRing, type PasswordKey } from "@/lib/engine";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { sealSecret } from "@/lib/services/kms/config-secrets";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { repositoryKeySealContext } from "@/lib/services/backup/repository-key-ring";
import { openCataloguedRepository } from "@/lib/services/backup/repository-store";
import { z } from "zod";

// Disaster recovery without the configuration database (KEY-9): a repository adopted on a new
// console lists its restore points with the key ids they need; an operator enters the backup
// password, and the points it opens become restorable. The password is tried against the password
// key headers the repository holds (Argon2id, as when it was set); a key that opens a point is
// sealed under the configuration key (RepositoryKey) — the password is never stored — and the
// points it opens get their VM's name from their sealed description.

const input = z.object({ repositoryId: z.string().trim().min(1).max(64), password: z.string().min(1, "Enter the backup password").max(1024) });
/** Headers tried per request: each costs one Argon2id derivation (64 MiB). */
const MAX_HEADERS = 16;

export interface UnlockResult {
  /** Restore points that open now and did not before. */
  opened: number;
  keyIds: string[];
}

export async function unlockRepository(actor: Actor, raw: { repositoryId: string; password: string }): Promise<UnlockResult> {
  authorize(actor, "restore:run");
  const { repositoryId, password } = parseInput(input, raw);
  const row = await db.backupRepository.findUnique({ where: { id: repositoryId } });
  if (!row) throw new AppError("NOT_FOUND", "This repository does not exist.");
  const repo = await openCataloguedRepository(row, `strongroom/${process.pid}/unlock`);
  const known = new Set((await db.repositoryKey.findMany({ where: { repositoryId }, select: { keyId: true } })).map((k) => k.keyId));
  const points = await db.restorePoint.findMany({ where: { repositoryId, status: { not: "removed" } }, select: { id: true, keyIds: true, vmExternalId: true } });
  const headers = [];
  for (const file of await repo.store.list("keys/")) {
    const h = decodeKeyHeader(await repo.store.get(file), file);
    if (h.kind === "password" && !known.has(Buffer.from(h.keyId).toString("hex"))) headers.push(h);
  }
  const found: Array<{ key: PasswordKey; points: string[] }> = [];
  for (const header of headers.slice(0, MAX_HEADERS)) {
    // A wrong password fails the header's key check (WrongKeyError): that header is not this password's.
    const key = await derivePasswordKey(password, header).catch((e: unknown) => {
      if (e instanceof EngineError) return null;
      throw e;
    });
    if (!key) continue;
    const ring = new KeyRing().addPasswordKey(key);
    const id = key.key.idHex;
    const mine = points.filter((p) => p.keyIds.includes(`password:${id}`));
    const opens = [];
    for (const p of mine) {
      try {
        const opened = await repo.readPoint(p.id, ring);
        const attrs = opened.attributes as { vm?: { externalId?: unknown; name?: unknown }; encrypted?: unknown };
        if (typeof attrs.vm?.externalId === "string") {
          await db.restorePoint.update({ where: { id: p.id }, data: { vmExternalId: attrs.vm.externalId, vmName: String(attrs.vm.name ?? attrs.vm.externalId), vmEncrypted: attrs.encrypted === true, diskCount: opened.disks.length } });
        }
        opened.close();
        opens.push(p.id);
      } catch {
        // another password, or a damaged point: it stays as it was
      }
    }
    if (opens.length) found.push({ key, points: opens });
    else key.key.destroy();
  }
  if (found.length === 0) {
    await recordAuditEvent({ actor, action: "repository.unlock", objectType: "repository", objectId: repositoryId, outcome: "failure", details: { name: row.name, tried: Math.min(headers.length, MAX_HEADERS) } });
    throw new AppError("INVALID_INPUT", headers.length ? "This password opens none of the repository's restore points. Check it (and the password hint shown with the points), or try another." : "The repository holds no password keys this console does not have already.", { password: ["Wrong password for these restore points"] });
  }
  for (const { key } of found) {
    const keyId = key.key.idHex;
    await db.repositoryKey.create({ data: { repositoryId, keyId, header: encodeKeyHeader(key.header).toString("base64"), sealed: sealSecret(Buffer.from(key.key.expose()).toString("base64"), repositoryKeySealContext(repositoryId, keyId)), createdById: actor.id } });
    key.key.destroy();
  }
  const keyIds = found.map((f) => `password:${f.key.key.idHex}`);
  const opened = found.reduce((n, f) => n + f.points.length, 0);
  await recordAuditEvent({ actor, action: "repository.unlock", objectType: "repository", objectId: repositoryId, outcome: "success", details: { name: row.name, keyIds: keyIds.join(", "), points: opened } });
  return { opened, keyIds };
}

