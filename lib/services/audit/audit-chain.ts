import "server-only";
import { createHash, createHmac } from "node:crypto";
import { auditKey } from "./audit-key";

// Hash chain of the audit log (SEC-4): each row's hash covers the previous row's hash and the
// row's own fields, so editing or deleting any row breaks every hash after it. The hash is an
// HMAC-SHA256 under the audit key (audit-key.ts, outside the database), so an editor who can
// write the database cannot recompute the chain; rows written before the key existed keep their
// plain SHA-256 (see audit-key.ts). The chain's head is anchored outside the database too
// (checkpoint-audit-chain.ts), so rows removed from the end are seen.
export const GENESIS_HASH = "0".repeat(64);

export interface ChainedFields {
  at: Date;
  actorId: string | null;
  actorEmail: string | null;
  action: string;
  objectType: string | null;
  objectId: string | null;
  outcome: string;
  sourceIp: string | null;
  details: string;
}

/** The row's hash. A stored row passes its seq (its scheme depends on it); a new row has none yet and is keyed. */
export function chainHash(prevHash: string, row: ChainedFields & { seq?: number }): string {
  const canonical = JSON.stringify([
    row.at.toISOString(),
    row.actorId,
    row.actorEmail,
    row.action,
    row.objectType,
    row.objectId,
    row.outcome,
    row.sourceIp,
    row.details,
  ]);
  const { key, legacyThroughSeq } = auditKey();
  const mac = row.seq !== undefined && row.seq <= legacyThroughSeq ? createHash("sha256") : createHmac("sha256", key);
  return mac.update(prevHash).update("\n").update(canonical).digest("hex");
}

const SECRET_KEY = /pass(word)?|secret|token|private|unwrapped|keymaterial|clientkey|apikey|cookie|authorization/i;
// A value that is a secret whatever its name: a PEM private key, or a bearer/basic credential.
const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----|\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/;

/**
 * Details are for people reading the log (and its CSV export): drop anything whose name suggests
 * a secret, and any string that carries a private key or a bearer credential, at any depth (SEC-6).
 */
export function redactDetails(details: Record<string, unknown>): string {
  return JSON.stringify(details, (key, value) =>
    (key && SECRET_KEY.test(key)) || (typeof value === "string" && SECRET_VALUE.test(value)) ? "[redacted]" : value,
  );
}
