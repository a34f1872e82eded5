import "server-only";
import { createHash } from "node:crypto";
import { z } from "zod";
import { createReplicationJobSchema } from "@/lib/schemas/replication";
import { startRestoreSchema } from "@/lib/schemas/restore";

// What an approval applies, by kind. Payloads never hold a secret (SEC-6): a new password arrives
// as its derived user key, sealed under the configuration key. The hash of the canonical payload
// is stored with the request; approval recomputes it and refuses on any difference.

export const payloadSchemas = {
  "job.password": z.object({
    jobId: z.string(),
    encryptionMode: z.literal("password"),
    passwordKeyHeader: z.string(),
    passwordKeySealed: z.string(),
    passwordHint: z.string().nullable(),
    userKeyId: z.string(),
  }),
  "job.encryption": z.object({
    jobId: z.string(),
    encryptionMode: z.enum(["off", "kms"]),
    passwordKeyHeader: z.string().nullable(),
    passwordKeySealed: z.string().nullable(),
    kmsKeyProviderId: z.string().nullable(),
    kmsKeyName: z.string().nullable(),
  }),
  "user.role": z.object({ userId: z.string(), role: z.enum(["BACKUP_ADMIN", "RESTORE_OPERATOR", "BACKUP_VIEWER", "SECURITY_OFFICER"]) }),
  "kms-cluster.remove": z.object({ clusterId: z.string() }),
  "four-eyes.off": z.object({ enabled: z.literal(false) }),
  "restore-point.delete": z.object({ pointId: z.string().regex(/^[0-9a-f]{32}$/) }),
  // Who the Security Officers are and how they authenticate (SEC-2): a new Security Officer, a
  // Security Officer's new sign-in password, a disabled Security Officer enabled again. The
  // password arrives as its Argon2id hash, never in clear.
  "user.create": z.object({ email: z.string(), name: z.string(), role: z.literal("SECURITY_OFFICER"), passwordHash: z.string().startsWith("$argon2") }),
  "user.password": z.object({ userId: z.string(), passwordHash: z.string().startsWith("$argon2") }),
  "user.enable": z.object({ userId: z.string(), disabled: z.literal(false) }),
  // A restore that writes an encrypted VM unencrypted (lib/services/restore/restore-approval.ts):
  // the wizard's validated input, which holds no secret.
  "restore.unencrypted": startRestoreSchema,
  // A replication job edit that weakens its replicas' keys (re-key → shared, unencrypted replicas
  // of encrypted VMs allowed; lib/services/replication/update-replication-job.ts): the validated
  // edit (no secret) and the job's updatedAt it was made against.
  "replication.weaken-keys": z.object({ jobId: z.string(), jobUpdatedAt: z.string(), input: createReplicationJobSchema }),
} as const;
export type ApprovalKind = keyof typeof payloadSchemas;
export type ApprovalPayload<K extends ApprovalKind> = z.infer<(typeof payloadSchemas)[K]>;

export const KIND_LABELS: Record<ApprovalKind, string> = {
  "job.password": "Set or change a backup encryption password",
  "job.encryption": "Change a job's backup encryption",
  "user.role": "Change a user's role",
  "kms-cluster.remove": "Remove a KMS cluster",
  "four-eyes.off": "Turn four-eyes approval off",
  "restore-point.delete": "Delete a restore point",
  "user.create": "Create a Security Officer",
  "user.password": "Reset a Security Officer's password",
  "user.enable": "Enable a Security Officer",
  "restore.unencrypted": "Restore an encrypted VM unencrypted",
  "replication.weaken-keys": "Weaken the keys of a replication job's replicas",
};

/** Canonical JSON: keys sorted at every level, so the same payload always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function payloadHash(kind: string, objectId: string, payload: unknown): string {
  return createHash("sha256").update(`${kind}\n${objectId}\n${canonicalJson(payload)}`).digest("hex");
}

export interface DiffLine {
  field: string;
  from: string;
  to: string;
}
