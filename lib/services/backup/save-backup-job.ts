import "server-only";
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { nextRunAfter } from "@/lib/backup/schedule";
import { scheduleTimeZone } from "@/lib/services/backup/schedule-time-zone";
import { db } from "@/lib/db/client";
import { serializableTransaction } from "@/lib/db/transaction";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { createKmsBackupKey } from "@/lib/kmip/kmip-kms-wrapper";
import type { DbTx } from "@/lib/db/client";
import { createApprovalRequest } from "@/lib/services/approvals/create-approval-request";
import { readFourEyes } from "@/lib/services/approvals/four-eyes-state";
import { backupJobSchema, updateBackupJobSchema } from "@/lib/schemas/backup";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { deriveConsoleKey, deriveUserKey, kmsKeyNameFor, kmsWrapperFor } from "./job-keys";
import { resolveSelection } from "./job-context";

type JobInput = z.infer<typeof backupJobSchema>;

export interface SaveJobResult {
  id: string;
  /** Set when four-eyes turned the encryption change into a request (SEC-2). */
  approvalRequestId?: string;
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
  const guarded = keys.guard && (await readFourEyes()).enabled;
  const request = await serializableTransaction(async (tx) => {
    const keyFields = guarded ? { encryptionMode: input.encryptionMode } : keys.fields;
    await tx.backupJob.create({ data: { id, ...commonFields(input), ...keyFields, createdById: actor.id } });
    await recordAuditEvent(
      { actor, action: "job.create", objectType: "backup-job", objectId: id, outcome: "success", details: { name: input.name, encryption: input.encryptionMode, ...keys.audit, fourEyes: guarded } },
      tx,
    );
    return guarded ? requestKeyChange(tx, actor, id, keys, null) : null;
  });
  const warnings = await warningsFor(input);
  if (request) warnings.push(`Four-eyes approval is on: the job's encryption waits for a Security Officer (request ${request.id}); it cannot run until then.`);
  return { id, warnings, approvalRequestId: request?.id };
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
  const guarded = keys.guard && (await readFourEyes()).enabled;
  const request = await serializableTransaction(async (tx) => {
    if (guarded) {
      await tx.backupJob.update({ where: { id: current.id }, data: commonFields(input) });
      return requestKeyChange(tx, actor, current.id, keys, current);
    }
    await tx.backupJob.update({ where: { id: current.id }, data: { ...commonFields(input), ...keys.fields, ...(keys.changed ? { passwordApprovedById: null, passwordApprovedAt: null } : {}) } });
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
    return null;
  });
  const warnings = await warningsFor(input);
  if (request) {
    warnings.push(`Four-eyes approval is on: the encryption change waits for a Security Officer (request ${request.id}); the job keeps its current key until then.`);
    return { id: current.id, warnings, approvalRequestId: request.id };
  }
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
    nextRunAt: nextRunAfter(input.schedule, new Date(), scheduleTimeZone()),
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
        return { fields: { encryptionMode: "password", passwordHint: input.passwordHint || null }, changed: false, guard: null, audit: { encryptionKeyChange: "kept" } };
      }
      throw new AppError("INVALID_INPUT", "Set the encryption password.", { password: ["Enter the encryption password"] });
    }
    const key = await deriveUserKey(jobId, input.password, input.passwordHint);
    return {
      fields: { ...cleared, encryptionMode: "password", passwordKeyHeader: key.passwordKeyHeader, passwordKeySealed: key.passwordKeySealed, passwordHint: input.passwordHint || null, passwordSetAt: new Date() },
      changed: current !== null,
      guard: "job.password" as const,
      userKeyId: key.keyId,
      audit: { encryptionKeyChange: current?.encryptionMode === "password" ? "password changed" : "password set", userKeyId: key.keyId },
    };
  }
  if (input.encryptionMode === "kms") {
    const providerId = input.kmsKeyProviderId!;
    if (current?.encryptionMode === "kms" && current.kmsKeyProviderId === providerId && current.kmsKeyName) {
      return { fields: { encryptionMode: "kms" }, changed: false, guard: null, audit: { kms: "kept" } };
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
    // Removing a password (password → KMS key) needs approval; turning encryption on does not.
    const guard = current?.encryptionMode === "password" ? ("job.encryption" as const) : null;
    return { fields: { ...cleared, encryptionMode: "kms", kmsKeyProviderId: providerId, kmsKeyName: name }, changed: current !== null, guard, audit: { kmsKeyProviderId: providerId, kmsKeyName: name } };
  }
  if (current?.encryptionMode === "off" && current.passwordKeyHeader) return { fields: { encryptionMode: "off" }, changed: false, guard: null, audit: { encryption: "off" } };
  const key = await deriveConsoleKey(jobId);
  return {
    fields: { ...cleared, encryptionMode: "off", passwordKeyHeader: key.passwordKeyHeader, passwordKeySealed: key.passwordKeySealed },
    changed: current !== null,
    guard: "job.encryption" as const,
    audit: { encryption: "off" },
  };
}

type KeyFields = Awaited<ReturnType<typeof keyFieldsFor>>;
const MODE_LABEL: Record<string, string> = { password: "Password", kms: "KMS key", off: "Off" };

/** Four-eyes (SEC-2): the key change becomes a request holding the derived key material, never the password. */
async function requestKeyChange(tx: DbTx, actor: Actor, jobId: string, keys: KeyFields, current: CurrentKeys | null) {
  const f = keys.fields as Record<string, string | null | undefined>;
  const summary = [
    { field: "Backup encryption", from: current ? MODE_LABEL[current.encryptionMode] : "(new job)", to: MODE_LABEL[f.encryptionMode!] },
    ...(keys.guard === "job.password"
      ? [
          { field: "Password", from: current?.encryptionMode === "password" ? "current password" : "none", to: `new password (user key ${"userKeyId" in keys ? keys.userKeyId : "?"})` },
          { field: "Password hint", from: "", to: f.passwordHint ?? "" },
        ]
      : []),
    ...(f.kmsKeyName ? [{ field: "KMS key", from: current?.kmsKeyName ?? "none", to: f.kmsKeyName }] : []),
  ];
  const payload =
    keys.guard === "job.password"
      ? { jobId, encryptionMode: "password" as const, passwordKeyHeader: f.passwordKeyHeader!, passwordKeySealed: f.passwordKeySealed!, passwordHint: f.passwordHint ?? null, userKeyId: "userKeyId" in keys ? String(keys.userKeyId) : "" }
      : { jobId, encryptionMode: f.encryptionMode as "off" | "kms", passwordKeyHeader: f.passwordKeyHeader ?? null, passwordKeySealed: f.passwordKeySealed ?? null, kmsKeyProviderId: f.kmsKeyProviderId ?? null, kmsKeyName: f.kmsKeyName ?? null };
  const req = await createApprovalRequest(tx, actor, { kind: keys.guard!, objectType: "backup-job", objectId: jobId, summary, payload: payload as never, requiredPermission: "job:manage" });
  await tx.backupJob.update({ where: { id: jobId }, data: { pendingApprovalId: req.id } });
  return req;
}

async function warningsFor(input: JobInput): Promise<string[]> {
  const { vms } = await resolveSelection(input.selection);
  const encrypted = vms.filter((v) => v.encrypted).length;
  return input.encryptionMode === "off" && encrypted
    ? [`${encrypted} selected VM(s) are encrypted, but backup encryption is off: their data leaves the host in clear and is kept under a console key only.`]
    : [];
}
