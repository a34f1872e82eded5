import "server-only";
import { createPasswordKey, decodeKeyHeader, encodeKeyHeader, SecretKey, type PasswordKey, type ProtectionPlan } from "@/lib/engine";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { KmipKmsWrapper } from "@/lib/kmip/kmip-kms-wrapper";
import { openCredentials } from "@/lib/services/kms/kms-credentials";
import { openSecret, sealSecret } from "@/lib/services/kms/config-secrets";

// A job's encryption keys (KEY-4, KEY-5) as the console keeps them.
//
// Password: the password is turned into the user key (Argon2id, 64 MiB) once, when it is set; the
// console keeps the key header (public) and the user key sealed under the configuration key, so
// scheduled runs can wrap new storage keys without anyone typing the password and without the
// password ever being stored (KEY-4, SEC-6). Encryption "off" is the same with a random secret
// nobody knows: points are still sealed, but only this console (its database and configuration
// key) opens them, which is why TRN-7 warns about it.
// KMS: the key provider's registered KMS cluster holds a key named after the job; each run asks
// for its newest version (KEY-5) and Strongroom never rotates or destroys it (KEY-8).

export interface StoredUserKey {
  passwordKeyHeader: string;
  passwordKeySealed: string;
}

const userKeyContext = (jobId: string) => `backup-job:${jobId}:user-key`;

export async function deriveUserKey(jobId: string, password: string, hint: string | undefined): Promise<StoredUserKey & { keyId: string }> {
  const key = await createPasswordKey(password, { hint: hint ?? "" });
  try {
    return {
      keyId: key.key.idHex,
      passwordKeyHeader: encodeKeyHeader(key.header).toString("base64"),
      passwordKeySealed: sealSecret(Buffer.from(key.key.expose()).toString("base64"), userKeyContext(jobId)),
    };
  } finally {
    key.key.destroy();
  }
}

/** A random secret as the "password" of a job whose backup encryption is off. */
export async function deriveConsoleKey(jobId: string): Promise<StoredUserKey & { keyId: string }> {
  const { randomBytes } = await import("node:crypto");
  return deriveUserKey(jobId, randomBytes(32).toString("base64"), "console key (backup encryption off)");
}

export function openUserKey(jobId: string, stored: { passwordKeyHeader: string | null; passwordKeySealed: string | null }): PasswordKey {
  if (!stored.passwordKeyHeader || !stored.passwordKeySealed) throw new AppError("CONFLICT", "This job has no encryption key yet: edit the job and set its password.");
  const header = decodeKeyHeader(Buffer.from(stored.passwordKeyHeader, "base64"), "job key header");
  if (header.kind !== "password") throw new AppError("CONFLICT", "The job's stored key is not a password key.");
  let raw: Buffer;
  try {
    raw = Buffer.from(openSecret(stored.passwordKeySealed, userKeyContext(jobId)), "base64");
  } catch {
    throw new AppError("CONFLICT", "The job's encryption key cannot be opened: the configuration key changed or the record was altered. Set the job's password again.");
  }
  try {
    return { header, key: new SecretKey("user", header.keyId, raw) };
  } finally {
    raw.fill(0);
  }
}

export function kmsKeyNameFor(jobId: string): string {
  return `strongroom/backup-job/${jobId}`;
}

/** A KMS wrapper for a key provider's registered KMS cluster; close() it after use. */
export async function kmsWrapperFor(keyProviderId: string): Promise<KmipKmsWrapper> {
  const provider = await db.keyProvider.findUnique({ where: { id: keyProviderId }, include: { kmsCluster: true } });
  if (!provider) throw new AppError("NOT_FOUND", "The job's key provider no longer exists.");
  if (!provider.kmsCluster) {
    throw new AppError("CONFLICT", `No KMS cluster is registered for ${provider.name}: register it under Key providers, then run the job again.`);
  }
  const creds = openCredentials(provider.kmsCluster);
  const server = creds.servers[0];
  return new KmipKmsWrapper(provider.externalId, {
    host: server.host,
    port: server.port,
    ca: creds.ca,
    cert: creds.cert,
    key: creds.key,
    connectTimeoutMs: 5_000,
    requestTimeoutMs: 10_000,
  });
}

export interface JobKeyFields {
  id: string;
  encryptionMode: string;
  passwordKeyHeader: string | null;
  passwordKeySealed: string | null;
  kmsKeyProviderId: string | null;
  kmsKeyName: string | null;
}

/** The protection plan of one run, and what to close afterwards. */
export async function protectionPlanFor(job: JobKeyFields): Promise<{ plan: ProtectionPlan; close: () => Promise<void> }> {
  if (job.encryptionMode === "kms") {
    if (!job.kmsKeyProviderId || !job.kmsKeyName) throw new AppError("CONFLICT", "The job uses a KMS key but names none: edit the job's encryption.");
    const wrapper = await kmsWrapperFor(job.kmsKeyProviderId);
    return { plan: { kms: { wrapper, kmsKeyId: job.kmsKeyName } }, close: () => wrapper.close() };
  }
  const password = openUserKey(job.id, job);
  return { plan: { password }, close: async () => password.key.destroy() };
}
