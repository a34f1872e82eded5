import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { env } from "@/lib/config/env";

// Seals configuration secrets (KMS client keys and certificates) at rest with AES-256-GCM under
// the console's configuration key. The associated data names the record and field, so a sealed
// value copied into another row or column does not open. Format: "v1:" base64(nonce(12) || ct || tag(16)).

let cachedKey: Buffer | undefined;

function configKey(): Buffer {
  if (cachedKey) return cachedKey;
  if (env.STRONGROOM_CONFIG_KEY) return (cachedKey = Buffer.from(env.STRONGROOM_CONFIG_KEY, "base64"));
  const file = path.join(env.dataDir, "config-key");
  try {
    cachedKey = Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64");
  } catch {
    fs.mkdirSync(env.dataDir, { recursive: true });
    try {
      fs.writeFileSync(file, crypto.randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
    } catch {
      // another process created it first
    }
    cachedKey = Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64");
  }
  if (cachedKey.length !== 32) throw new Error(`The configuration key in ${file} is damaged (not 32 bytes).`);
  return cachedKey;
}

export function sealSecret(plaintext: string, context: string): string {
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", configKey(), nonce);
  cipher.setAAD(Buffer.from(context));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return "v1:" + Buffer.concat([nonce, ct, cipher.getAuthTag()]).toString("base64");
}

export function openSecret(sealed: string, context: string): string {
  if (!sealed.startsWith("v1:")) throw new Error("Unknown sealed-secret format.");
  const raw = Buffer.from(sealed.slice(3), "base64");
  if (raw.length < 28) throw new Error("Sealed secret is truncated.");
  const decipher = crypto.createDecipheriv("aes-256-gcm", configKey(), raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  try {
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString("utf8");
  } catch {
    throw new Error("A stored KMS credential cannot be opened: the configuration key changed or the record was altered. Register the KMS cluster again.");
  }
}
