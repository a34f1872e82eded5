import "server-only";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import type { RecoveryKeyset } from "@/lib/engine";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { keysetFromRow, keysetRowData, newKeyset, readKeysetPolicy } from "./keyset-store";

// The runner's side of recovery keysets (KEY-6): which public keys wrap a session's new points,
// and the policy's rotation and retention. No actor: these are the system's own acts, audited
// with actor null.

const DAY_MS = 86_400_000;

/** The public halves of every non-retired keyset, newest first: each wraps every new point's keys. */
export async function activeRecoveryKeysets(): Promise<RecoveryKeyset[]> {
  const rows = await db.recoveryKeyset.findMany({ where: { retiredAt: null }, orderBy: { createdAt: "desc" }, select: { id: true, createdAt: true, publicKey: true } });
  const out: RecoveryKeyset[] = [];
  for (const row of rows) {
    try {
      out.push(keysetFromRow({ ...row, privateKeySealed: null }));
    } catch (e) {
      // One damaged row must not stop every backup; the session log names the keysets it used.
      console.error(`[keysets] keyset ${row.id} cannot be read and protects no new point:`, e instanceof Error ? e.message : e);
    }
  }
  return out;
}

export interface KeysetMaintenance {
  generated: string | null;
  retired: string[];
}

let inFlight: Promise<KeysetMaintenance> | null = null;

/**
 * Applies the policy at `now`: no active keyset, or the newest older than rotateDays → generate
 * one; active keysets older than retentionDays are retired, never the newest. Idempotent; when
 * there is nothing to do it costs two small reads. Concurrent calls share one run.
 */
export async function maintainRecoveryKeysets(now: Date = new Date()): Promise<KeysetMaintenance> {
  inFlight ??= maintain(now).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

async function maintain(now: Date): Promise<KeysetMaintenance> {
  const [policy, active] = await Promise.all([
    readKeysetPolicy(db),
    db.recoveryKeyset.findMany({ where: { retiredAt: null }, orderBy: { createdAt: "desc" }, select: { id: true, createdAt: true } }),
  ]);
  const done: KeysetMaintenance = { generated: null, retired: [] };
  if (!policy.enabled) return done;
  const age = (k: { createdAt: Date }) => now.getTime() - k.createdAt.getTime();

  const newest = active[0];
  if (!newest || age(newest) >= policy.rotateDays * DAY_MS) {
    const keyset = await newKeyset(now); // seconds of RSA work, outside the transaction
    const data = keysetRowData(keyset, "generated");
    done.generated = await serializableTransaction(async (tx) => {
      // Another writer (Generate now) may have made one meanwhile.
      const current = await tx.recoveryKeyset.findFirst({ where: { retiredAt: null }, orderBy: { createdAt: "desc" }, select: { createdAt: true } });
      if (current && age(current) < policy.rotateDays * DAY_MS) return null;
      await tx.recoveryKeyset.create({ data });
      await recordAuditEvent(
        { actor: null, action: "keyset.generate", objectType: "recovery-keyset", objectId: keyset.id, outcome: "success", details: { scheduled: true, modulusBits: data.modulusBits, rotateDays: policy.rotateDays } },
        tx,
      );
      return keyset.id;
    });
  }

  // With a new keyset, every older one may go; without, the newest stays whatever its age.
  const candidates = (done.generated ? active : active.slice(1)).filter((k) => age(k) >= policy.retentionDays * DAY_MS);
  if (candidates.length > 0) {
    done.retired = await serializableTransaction(async (tx) => {
      const retired: string[] = [];
      for (const k of candidates) {
        const changed = await tx.recoveryKeyset.updateMany({ where: { id: k.id, retiredAt: null }, data: { retiredAt: now } });
        if (changed.count !== 1) continue;
        retired.push(k.id);
        await recordAuditEvent(
          { actor: null, action: "keyset.retire", objectType: "recovery-keyset", objectId: k.id, outcome: "success", details: { scheduled: true, retentionDays: policy.retentionDays } },
          tx,
        );
      }
      return retired;
    });
  }
  return done;
}
