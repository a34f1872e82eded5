import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { env } from "@/lib/config/env";
import { db, type DbTx } from "@/lib/db/client";

// The audit chain's key (SEC-4): HMAC-SHA256 under a key kept outside the database, generated once
// into the data folder (`audit-key`, mode 0600) like the other generated secrets. Someone who can
// write the database but not the data folder cannot recompute the chain after an edit.
//
// Rows written before the key existed keep verifying by their old scheme (plain SHA-256): the key
// file records the newest seq at the moment it was made (`legacyThroughSeq`), and only rows up to
// it may use the old scheme; every later row must carry an HMAC. They are not migrated, because
// re-chaining them would launder any edit made before the upgrade. They prove only what the old
// chain proved (an edit that was not recomputed).

export interface AuditKey {
  key: Buffer;
  /** Rows with seq ≤ this were written before the key: plain SHA-256. */
  legacyThroughSeq: number;
}

let cached: AuditKey | undefined;

const file = () => path.join(env.dataDir, "audit-key");

/** Loads the key, creating it (and fixing the legacy boundary) on first use. */
export async function ensureAuditKey(client: DbTx | typeof db = db): Promise<AuditKey> {
  if (cached) return cached;
  const existing = readKeyFile();
  if (existing) return (cached = existing);
  const newest = await client.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } });
  fs.mkdirSync(env.dataDir, { recursive: true });
  const content = JSON.stringify({ v: 1, key: crypto.randomBytes(32).toString("base64"), legacyThroughSeq: newest?.seq ?? 0 });
  try {
    fs.writeFileSync(file(), content, { mode: 0o600, flag: "wx" });
  } catch {
    // another process created it first
  }
  const made = readKeyFile();
  if (!made) throw new Error(`The audit key file ${file()} could not be created.`);
  return (cached = made);
}

/** The loaded key; ensureAuditKey() must have run in this process (every audit service does). */
export function auditKey(): AuditKey {
  if (!cached) throw new Error("The audit key is not loaded yet.");
  return cached;
}

function readKeyFile(): AuditKey | null {
  let raw: string;
  try {
    raw = fs.readFileSync(file(), "utf8");
  } catch {
    return null;
  }
  const parsed = JSON.parse(raw) as { v: number; key: string; legacyThroughSeq: number };
  const key = Buffer.from(parsed.key, "base64");
  if (parsed.v !== 1 || key.length !== 32 || !Number.isInteger(parsed.legacyThroughSeq)) {
    throw new Error(`The audit key in ${file()} is damaged.`);
  }
  return { key, legacyThroughSeq: parsed.legacyThroughSeq };
}
