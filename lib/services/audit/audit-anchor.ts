import "server-only";
import { createHmac, timingSafeEqual } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { env } from "@/lib/config/env";
import { auditKey } from "./audit-key";

// The audit chain's head written outside the database (SEC-4): a small file signed with the audit
// key, `audit-checkpoint.json` in the data folder and `audit-anchor.json` in every repository
// folder. The database can then not lose its newest rows (or be put back to an older copy)
// without verification noticing: an anchor names a row the chain must still hold, unchanged.
//   { "v": 1, "seq": 812, "hash": "<hex>", "at": "<ISO time written>", "mac": HMAC(key, "strongroom-audit-anchor-v1\n" seq "\n" hash "\n" at) }

export interface AuditAnchor {
  seq: number;
  hash: string;
  at: string;
}
export const CHECKPOINT_FILE = "audit-checkpoint.json";
export const REPOSITORY_ANCHOR_FILE = "audit-anchor.json";
export const checkpointPath = () => path.join(env.dataDir, CHECKPOINT_FILE);

function mac(a: AuditAnchor): string {
  return createHmac("sha256", auditKey().key).update(`strongroom-audit-anchor-v1\n${a.seq}\n${a.hash}\n${a.at}`).digest("hex");
}

/** Reads an anchor file: null when absent, "forged" when it does not carry a valid signature. */
export async function readAnchor(file: string): Promise<AuditAnchor | "forged" | null> {
  let raw: string;
  try {
    raw = await fs.readFile(file, "utf8");
  } catch {
    return null;
  }
  try {
    const p = JSON.parse(raw) as AuditAnchor & { v: number; mac: string };
    const a = { seq: p.seq, hash: p.hash, at: p.at };
    if (p.v !== 1 || !Number.isInteger(a.seq) || typeof a.hash !== "string" || typeof a.at !== "string" || typeof p.mac !== "string") return "forged";
    const expected = Buffer.from(mac(a), "hex");
    const got = Buffer.from(p.mac, "hex");
    return got.length === expected.length && timingSafeEqual(got, expected) ? a : "forged";
  } catch {
    return "forged";
  }
}

/**
 * Writes the head into `file` (temp file, then rename), unless the file already names a newer
 * head (or this one already): an anchor only moves forward, so a database put back to an older state cannot erase the
 * evidence by the next checkpoint. Returns whether it wrote.
 */
export async function writeAnchor(file: string, head: AuditAnchor): Promise<boolean> {
  const current = await readAnchor(file);
  if (current && current !== "forged" && (current.seq > head.seq || (current.seq === head.seq && current.hash === head.hash))) return false;
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify({ v: 1, ...head, mac: mac(head) }) + "\n", { mode: 0o600 });
  await fs.rename(tmp, file);
  return true;
}
