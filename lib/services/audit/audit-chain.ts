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
