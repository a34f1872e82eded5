import "server-only";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { EngineError, exportKeyset, importKeyset, InvalidArgumentError, WrongKeyError, type RecoveryKeyset } from "@/lib/engine";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { exportKeysetSchema, importKeysetSchema, keysetIdSchema, keysetPolicySchema, type KeysetPolicy } from "@/lib/schemas/recovery";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { KEYSET_POLICY_KEY, keysetFromRow, keysetRowData, newKeyset, readKeysetPolicy } from "./keyset-store";

// Recovery keysets (KEY-6) as the Security Officer manages them. Every non-retired keyset wraps
// every new restore point's keys besides the job's password or KMS key, so a point whose password
// is lost can still be opened by whoever holds a keyset's private key. Generating a keyset retires
// none (the policy retires old ones); a retired keyset keeps protecting the points made before.
// Passphrases are never stored, logged, audited or returned; private keys leave the console only
// inside an export, encrypted under the Security Officer's passphrase (SEC-6).

const DAY_MS = 86_400_000;

/** Generates an RSA-4096 keyset now; the console keeps its private key sealed. */
export async function generateRecoveryKeysetNow(actor: Actor): Promise<{ id: string }> {
  authorize(actor, "keyset:manage");
  const keyset = await newKeyset();
  const data = keysetRowData(keyset, "generated");
  await serializableTransaction(async (tx) => {
    await tx.recoveryKeyset.create({ data });
    await recordAuditEvent({ actor, action: "keyset.generate", objectType: "recovery-keyset", objectId: keyset.id, outcome: "success", details: { modulusBits: data.modulusBits, scheduled: false } }, tx);
  });
  return { id: keyset.id };
}

/**
 * Adds a keyset from an exported file. With its private key (opened with the passphrase) the
 * console seals and holds it; a public-only file is accepted too: new points are wrapped for it,
 * but only whoever holds its private key can answer recovery with it.
 */
export async function importRecoveryKeyset(actor: Actor, raw: z.input<typeof importKeysetSchema>): Promise<{ id: string; privateKeyHeld: boolean; olderThanRetention: boolean }> {
  authorize(actor, "keyset:manage");
  const input = parseInput(importKeysetSchema, raw);
  const keyset = readKeysetFile(input.json, input.passphrase);
  const now = Date.now();
  // The file's creation time, unless missing or in the future (then: now).
  const createdAt = new Date(keyset.createdAt > 0 && keyset.createdAt <= now ? keyset.createdAt : now);
  const data = keysetRowData(keyset, "imported", createdAt);
  const policy = await serializableTransaction(async (tx) => {
    const existing = await tx.recoveryKeyset.findUnique({ where: { id: keyset.id }, select: { id: true, retiredAt: true } });
    if (existing) {
      throw new AppError("CONFLICT", `Keyset ${keyset.id} is already in the console${existing.retiredAt ? " (retired)" : ""}; nothing was imported.`, {
        json: ["This keyset is already listed"],
      });
    }
    await tx.recoveryKeyset.create({ data });
    await recordAuditEvent(
      { actor, action: "keyset.import", objectType: "recovery-keyset", objectId: keyset.id, outcome: "success", details: { modulusBits: data.modulusBits, heldByConsole: keyset.hasPrivateKey, createdAt: createdAt.toISOString() } },
      tx,
    );
    return readKeysetPolicy(tx);
  });
  return { id: keyset.id, privateKeyHeld: keyset.hasPrivateKey, olderThanRetention: policy.enabled && now - createdAt.getTime() >= policy.retentionDays * DAY_MS };
}

function readKeysetFile(json: string, passphrase: string | undefined): RecoveryKeyset {
  try {
    return importKeyset(json, passphrase);
  } catch (e) {
    if (e instanceof WrongKeyError) {
      const message = passphrase ? "Wrong passphrase for this keyset file (or its private key is damaged)" : "This file's private key is encrypted: enter the passphrase it was exported with";
      throw new AppError("INVALID_INPUT", `${message}. Nothing was imported.`, { passphrase: [message] });
    }
    // The engine's own words say what is wrong (not a keyset file, a newer version, a key too small, an id that does not match);
    // anything else (a PEM that is not a key, JSON of the wrong shape) is simply not a keyset file. Neither echoes the input.
    const why = e instanceof InvalidArgumentError ? e.message : e instanceof EngineError ? "it cannot be read" : "its keys cannot be read";
    const message = `Not a usable recovery keyset file: ${why}`;
    throw new AppError("INVALID_INPUT", `${message}. Nothing was imported.`, { json: [message] });
  }
}

/**
 * The keyset as a file for the Security Officer: the engine's export JSON with the private key
 * encrypted under the passphrase (PKCS#8, PBES2). The export is recorded on the keyset and audited.
 */
export async function exportRecoveryKeyset(actor: Actor, raw: z.input<typeof exportKeysetSchema>): Promise<{ fileName: string; json: string }> {
  authorize(actor, "keyset:manage");
  const { keysetId, passphrase } = parseInput(exportKeysetSchema, raw);
  const row = await db.recoveryKeyset.findUnique({ where: { id: keysetId } });
  if (!row) throw new AppError("NOT_FOUND", "This recovery keyset does not exist.");
  const keyset = keysetFromRow(row, { withPrivateKey: true });
  const json = exportKeyset(keyset, { includePrivateKey: true, passphrase });
  await serializableTransaction(async (tx) => {
    await tx.recoveryKeyset.update({ where: { id: keysetId }, data: { lastExportedAt: new Date(), lastExportedById: actor.id } });
    await recordAuditEvent({ actor, action: "keyset.export", objectType: "recovery-keyset", objectId: keysetId, outcome: "success", details: { retired: row.retiredAt !== null } }, tx);
  });
  return { fileName: `strongroom-recovery-keyset-${keysetId}.json`, json };
}

/** A retired keyset wraps no new point; the points made before keep their wrap, and the console keeps its private key. */
export async function retireRecoveryKeyset(actor: Actor, raw: z.input<typeof keysetIdSchema>): Promise<{ activeLeft: number }> {
  authorize(actor, "keyset:manage");
  const { keysetId } = parseInput(keysetIdSchema, raw);
  return serializableTransaction(async (tx) => {
    const row = await tx.recoveryKeyset.findUnique({ where: { id: keysetId }, select: { id: true, retiredAt: true } });
    if (!row) throw new AppError("NOT_FOUND", "This recovery keyset does not exist.");
    if (row.retiredAt) throw new AppError("CONFLICT", `Keyset ${keysetId} is already retired.`);
    await tx.recoveryKeyset.update({ where: { id: keysetId }, data: { retiredAt: new Date() } });
    const activeLeft = await tx.recoveryKeyset.count({ where: { retiredAt: null } });
    await recordAuditEvent({ actor, action: "keyset.retire", objectType: "recovery-keyset", objectId: keysetId, outcome: "success", details: { scheduled: false, activeLeft } }, tx);
    return { activeLeft };
  });
}

/** Rotation and retention of generated keysets, applied by the runner (at most hourly). */
export async function setRecoveryKeysetPolicy(actor: Actor, raw: z.input<typeof keysetPolicySchema>): Promise<KeysetPolicy> {
  authorize(actor, "keyset:manage");
  const policy = parseInput(keysetPolicySchema, raw);
  await serializableTransaction(async (tx) => {
    const before = await readKeysetPolicy(tx);
    const value = JSON.stringify(policy);
    await tx.consoleSetting.upsert({ where: { key: KEYSET_POLICY_KEY }, create: { key: KEYSET_POLICY_KEY, value }, update: { value } });
    await recordAuditEvent({ actor, action: "keyset.policy", objectType: "console-setting", objectId: KEYSET_POLICY_KEY, outcome: "success", details: { before, after: policy } }, tx);
  });
  return policy;
}
