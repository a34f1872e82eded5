import "server-only";
import { createHash } from "node:crypto";

// Hash chain of the audit log (SEC-4): each row's hash covers the previous row's hash and the
// row's own fields, so editing or deleting any row breaks every hash after it.
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

export function chainHash(prevHash: string, row: ChainedFields): string {
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
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}

const SECRET_KEY = /pass(word)?|secret|token|private|unwrapped|keymaterial/i;

/** Details are for people reading the log: drop anything whose name suggests a secret (SEC-6). */
export function redactDetails(details: Record<string, unknown>): string {
  return JSON.stringify(details, (key, value) => (key && SECRET_KEY.test(key) ? "[redacted]" : value));
}
