import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { db, type DbTx } from "@/lib/db/client";
import { chainHash, GENESIS_HASH, redactDetails } from "./audit-chain";
import { ensureAuditKey } from "./audit-key";

export interface AuditEventInput {
  actor: Pick<Actor, "id" | "email" | "sourceIp"> | null;
  /** For events without a signed-in actor (failed sign-in): who it claimed to be. */
  claimedEmail?: string;
  sourceIp?: string | null;
  action: string; // "auth.sign-in", "user.create", "inventory.sync", …
  objectType?: string;
  objectId?: string;
  outcome: "success" | "failure" | "denied";
  details?: Record<string, unknown>;
}

const MAX_ATTEMPTS = 5;

/**
 * Appends one event to the chain. Pass `tx` to record it in the same transaction as the change
 * it describes. Two writers racing for the same tail collide on the unique prevHash; the loser
 * retries on the new tail here, or, inside a caller's transaction, the caller's whole transaction
 * runs again (lib/db/transaction.ts).
 */
export async function recordAuditEvent(input: AuditEventInput, tx?: DbTx): Promise<void> {
  const client = tx ?? db;
  await ensureAuditKey(client);
  for (let attempt = 1; ; attempt++) {
    try {
      const last = await client.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { hash: true } });
      const prevHash = last?.hash ?? GENESIS_HASH;
      const row = {
        at: new Date(),
        actorId: input.actor?.id ?? null,
        // Lower-case, so the user filter matches the same way on SQLite and PostgreSQL.
        actorEmail: (input.actor?.email ?? input.claimedEmail)?.toLowerCase() ?? null,
        action: input.action,
        objectType: input.objectType ?? null,
        objectId: input.objectId ?? null,
        outcome: input.outcome,
        sourceIp: input.actor?.sourceIp ?? input.sourceIp ?? null,
        details: redactDetails(input.details ?? {}),
      };
      await client.auditEvent.create({ data: { ...row, prevHash, hash: chainHash(prevHash, row) } });
      return;
    } catch (e) {
      if (tx || attempt >= MAX_ATTEMPTS || !isUniqueViolation(e)) throw e;
    }
  }
}

function isUniqueViolation(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: string }).code === "P2002";
}
