import "server-only";
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { nextRunAfter } from "@/lib/backup/schedule";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { createKmsBackupKey } from "@/lib/kmip/kmip-kms-wrapper";
import { backupJobSchema, updateBackupJobSchema } from "@/lib/schemas/backup";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { deriveConsoleKey, deriveUserKey, kmsKeyNameFor, kmsWrapperFor } from "./job-keys";
import { resolveSelection } from "./job-context";

type JobInput = z.infer<typeof backupJobSchema>;

export interface SaveJobResult {
  id: string;
  /** TRN-7 and other things the administrator should know; the job is saved. */
  warnings: string[];
}

/** Creates a backup job (BKP-1). The password becomes a user key here and is never stored (KEY-4). */
export async function createBackupJob(actor: Actor, raw: z.input<typeof backupJobSchema>): Promise<SaveJobResult> {
  authorize(actor, "job:manage");
  const input = parseInput(backupJobSchema, raw);
  const id = randomUUID();
  await checkReferences(input);
  if (await db.backupJob.findUnique({ where: { name: input.name }, select: { id: true } })) {
    throw new AppError("CONFLICT", `A job named ${input.name} exists.`, { name: ["This name is in use"] });
  }
  const keys = await keyFieldsFor(id, input, null);
  const job = await serializableTransaction(async (tx) => {
    const created = await tx.backupJob.create({ data: { id, ...commonFields(input), ...keys.fields, createdById: actor.id } });
    await recordAuditEvent(
      { actor, action: "job.create", objectType: "backup-job", objectId: id, outcome: "success", details: { name: input.name, encryption: input.encryptionMode, ...keys.audit } },
      tx,
    );
    return created;
  });
  return { id: job.id, warnings: await warningsFor(input) };
}

/**
 * Edits a job. Leaving the password empty keeps the current key; a new password, another KMS
 * provider or another encryption mode starts new chains, so the next run is a full backup whose
 * points open with the new key alone (older points keep opening with the old one).
 */
export async function updateBackupJob(actor: Actor, raw: z.input<typeof updateBackupJobSchema>): Promise<SaveJobResult> {
  authorize(actor, "job:manage");
  const input = parseInput(updateBackupJobSchema, raw);
  const current = await db.backupJob.findUnique({ where: { id: input.jobId } });
  if (!current) throw new AppError("NOT_FOUND", "This job does not exist (it may have been removed).");
  await checkReferences(input);
  const other = await db.backupJob.findUnique({ where: { name: input.name }, select: { id: true } });
  if (other && other.id !== current.id) throw new AppError("CONFLICT", `A job named ${input.name} exists.`, { name: ["This name is in use"] });
  const keys = await keyFieldsFor(current.id, input, current);
  await serializableTransaction(async (tx) => {
    await tx.backupJob.update({ where: { id: current.id }, data: { ...commonFields(input), ...keys.fields } });
    if (keys.changed) await tx.jobVmState.deleteMany({ where: { jobId: current.id } });
    await recordAuditEvent(
      {
        actor,
        action: keys.changed ? "job.encryption-change" : "job.update",
        objectType: "backup-job",
        objectId: current.id,
        outcome: "success",
        details: { name: input.name, encryption: input.encryptionMode, previousEncryption: current.encryptionMode, ...keys.audit },
      },
      tx,
    );
  });
  const warnings = await warningsFor(input);
  if (keys.changed) warnings.push("The encryption key changed: the next run of each VM is a full backup; older restore points still open with the previous key.");
  return { id: current.id, warnings };
}

function commonFields(input: JobInput) {
  return {
    name: input.name,
    description: input.description,
    selection: JSON.stringify(input.selection),
    repositoryId: input.repositoryId,
    retentionPoints: input.retentionPoints,
    proxyMode: input.proxyMode,
    proxyIds: JSON.stringify(input.proxyMode === "manual" ? input.proxyIds : []),
    failoverToNetwork: input.failoverToNetwork,
    schedule: JSON.stringify(input.schedule),
    nextRunAt: nextRunAfter(input.schedule, new Date()),
  };
}

async function checkReferences(input: JobInput): Promise<void> {
  if (!(await db.backupRepository.findUnique({ where: { id: input.repositoryId }, select: { id: true } }))) {
    throw new AppError("INVALID_INPUT", "The chosen repository no longer exists. Choose another.", { repositoryId: ["Choose a repository"] });
  }
  if (input.proxyMode === "manual") {
    const found = await db.proxy.count({ where: { id: { in: input.proxyIds } } });
    if (found !== new Set(input.proxyIds).size) throw new AppError("INVALID_INPUT", "A chosen proxy no longer exists. Choose the proxies again.", { proxyIds: ["Choose the proxies again"] });
  }
  const { vms, missing } = await resolveSelection(input.selection);
  if (missing.length) throw new AppError("INVALID_INPUT", `${missing.length} selected VM(s) no longer exist in the inventory. Select the VMs again.`, { selection: ["Select the VMs again"] });
  if (vms.length === 0) throw new AppError("INVALID_INPUT", "The selection holds no VM today. Select at least one VM, folder, tenant or site with VMs.", { selection: ["The selection holds no VM"] });
}

interface CurrentKeys {
  encryptionMode: string;
  passwordKeyHeader: string | null;
  kmsKeyProviderId: string | null;
  kmsKeyName: string | null;
}

/** The key columns to write, and whether the job's key changed. Talks to the KMS before anything is saved. */
async function keyFieldsFor(jobId: string, input: JobInput, current: CurrentKeys | null) {
  const cleared = { passwordKeyHeader: null, passwordKeySealed: null, passwordHint: null, passwordSetAt: null, kmsKeyProviderId: null, kmsKeyName: null };
  if (input.encryptionMode === "password") {
    if (input.password === undefined || input.password === "") {
      if (current?.encryptionMode === "password" && current.passwordKeyHeader) {
        return { fields: { encryptionMode: "password", passwordHint: input.passwordHint || null }, changed: false, audit: { password: "kept" } };
      }
      throw new AppError("INVALID_INPUT", "Set the encryption password.", { password: ["Enter the encryption password"] });
    }
    const key = await deriveUserKey(jobId, input.password, input.passwordHint);
    return {
      fields: { ...cleared, encryptionMode: "password", passwordKeyHeader: key.passwordKeyHeader, passwordKeySealed: key.passwordKeySealed, passwordHint: input.passwordHint || null, passwordSetAt: new Date() },
      changed: current !== null,
      audit: { password: current?.encryptionMode === "password" ? "changed" : "set", userKeyId: key.keyId },
    };
  }
  if (input.encryptionMode === "kms") {
    const providerId = input.kmsKeyProviderId!;
    if (current?.encryptionMode === "kms" && current.kmsKeyProviderId === providerId && current.kmsKeyName) {
      return { fields: { encryptionMode: "kms" }, changed: false, audit: { kms: "kept" } };
    }
    const name = kmsKeyNameFor(jobId);
    const wrapper = await kmsWrapperFor(providerId);
    try {
      // Reuse the job's key when the KMS has one (the provider was chosen before), else create it.
      const existing = await wrapper.latestVersion(name).catch(() => null);
      if (!existing) await createKmsBackupKey(wrapper.client, name, { kmsId: wrapper.kmsId });
    } catch (e) {
      throw new AppError("UNAVAILABLE", `The KMS of this key provider did not create the job's key: ${e instanceof Error ? e.message : String(e)}. Check Key providers, then save again.`, {
        kmsKeyProviderId: ["The KMS did not answer"],
      });
    } finally {
      await wrapper.close().catch(() => undefined);
    }
    return { fields: { ...cleared, encryptionMode: "kms", kmsKeyProviderId: providerId, kmsKeyName: name }, changed: current !== null, audit: { kmsKeyProviderId: providerId, kmsKeyName: name } };
  }
  if (current?.encryptionMode === "off" && current.passwordKeyHeader) return { fields: { encryptionMode: "off" }, changed: false, audit: { encryption: "off" } };
  const key = await deriveConsoleKey(jobId);
  return {
    fields: { ...cleared, encryptionMode: "off", passwordKeyHeader: key.passwordKeyHeader, passwordKeySealed: key.passwordKeySealed },
    changed: current !== null,
    audit: { encryption: "off" },
  };
}

async function warningsFor(input: JobInput): Promise<string[]> {
  const { vms } = await resolveSelection(input.selection);
  const encrypted = vms.filter((v) => v.encrypted).length;
  return input.encryptionMode === "off" && encrypted
    ? [`${encrypted} selected VM(s) are encrypted, but backup encryption is off: their data leaves the host in clear and is kept under a console key only (TRN-7).`]
    : [];
}
