// Input of the restore wizard (RST-1…6), shared by the wizard's steps and the services that check
// and start a restore: the server applies the same schema again, then the platform's rules.
import { z } from "zod";
import { plainText } from "./plain-text";

const id = z.string().trim().min(1, "Choose one").max(200);

export const restoreDiskSchema = z.object({
  deviceKey: z.coerce.number().int().min(0).max(1_000_000),
  datastoreExternalId: id,
  storagePolicyExternalId: id,
  encrypted: z.boolean(),
});

/** One network adapter of the point to a network of the target host, or null: created disconnected. */
export const restoreNetworkSchema = z.object({
  nicDeviceKey: z.coerce.number().int().min(0).max(1_000_000),
  networkExternalId: id.nullable(),
});

export const restoreKeysSchema = z.discriminatedUnion("kind", [z.object({ kind: z.literal("same-key") }), z.object({ kind: z.literal("new-key"), keyProviderExternalId: id })]);

export const restoreVmSchema = z.object({
  pointId: z.string().trim().min(1).max(64),
  siteExternalId: id,
  hostExternalId: id,
  name: z
    .string()
    .trim()
    .min(1, "Give the restored VM a name")
    .max(80, "Use at most 80 characters")
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "Use letters, digits, dot, dash or underscore, starting with a letter or digit"),
  folder: z.string().trim().min(1).max(300).regex(/^\/[^\u0000-\u001f]*$/, "A folder is a path starting with /"),
  home: z.object({ datastoreExternalId: id, storagePolicyExternalId: id }),
  disks: z.array(restoreDiskSchema).min(1, "Choose at least one disk to restore").max(16),
  keys: restoreKeysSchema,
  /** Every adapter the point recorded, mapped (lib/platform/network-mapping.ts); none for a point without adapters. */
  networks: z.array(restoreNetworkSchema).max(10, "A VM has at most 10 network adapters").default([]),
  powerOn: z.boolean().default(false),
});

export const startRestoreSchema = z.object({
  vms: z.array(restoreVmSchema).min(1, "Choose a VM to restore").max(50, "Restore at most 50 VMs in one session"),
  reason: plainText(z.string().trim().min(3, "Say why you restore (it is kept in the session and the audit log)").max(500, "Use at most 500 characters")),
});

export type RestoreVmInput = z.infer<typeof restoreVmSchema>;
export type StartRestoreInput = z.infer<typeof startRestoreSchema>;

/**
 * A VM brought back in place (original location): every disk overwritten from the point, or a
 * quick rollback of only the blocks that differ. The VM is powered off first; `confirm` says the
 * operator saw what is lost (every change since the point on the chosen disks).
 */
export const rollbackVmSchema = z.object({
  pointId: z.string().trim().min(1).max(64),
  mode: z.enum(["overwrite", "quick-rollback"]),
  /** Device keys of the disks to bring back; all the point's disks when omitted. */
  deviceKeys: z.array(z.coerce.number().int().min(0).max(1_000_000)).min(1).max(16).optional(),
  powerOn: z.boolean().default(false),
  confirm: z.literal(true, { error: "Confirm that every change since the restore point on these disks is lost" }),
  reason: plainText(z.string().trim().min(3, "Say why you restore (it is kept in the session and the audit log)").max(500, "Use at most 500 characters")),
});

export type RollbackVmInput = z.infer<typeof rollbackVmSchema>;

/**
 * Disk restore (RST-7): chosen disks of a point attached to a VM that exists now, each replacing a
 * disk of that VM (`replace`: its device key; the old disk is detached and deleted) or added as a
 * new disk ("add": the next free device key), encrypted or not (RST-3), on a datastore and policy
 * of the VM's site. The VM is powered off first; `confirm` says the operator saw it.
 */
export const diskRestoreItemSchema = z
  .object({
    /** The point's disk, by its device key at backup time. */
    sourceDeviceKey: z.coerce.number().int().min(0).max(1_000_000),
    action: z.enum(["replace", "add"]),
    /** With "replace": the target VM's disk that is replaced. */
    replaceDeviceKey: z.coerce.number().int().min(0).max(1_000_000).optional(),
    datastoreExternalId: id,
    storagePolicyExternalId: id,
    encrypted: z.boolean(),
  })
  .refine((d) => d.action === "add" || d.replaceDeviceKey !== undefined, { message: "Choose the disk it replaces", path: ["replaceDeviceKey"] });

export const diskRestoreTargetSchema = z.object({
  pointId: z.string().trim().min(1).max(64),
  targetVmExternalId: id,
  disks: z.array(diskRestoreItemSchema).min(1, "Choose at least one disk to restore").max(16),
});

export const restoreDisksSchema = diskRestoreTargetSchema.extend({
  powerOn: z.boolean().default(false),
  confirm: z.literal(true, { error: "Confirm that the VM is powered off and that the disks it replaces are deleted" }),
  reason: plainText(z.string().trim().min(3, "Say why you restore (it is kept in the session and the audit log)").max(500, "Use at most 500 characters")),
});

export type DiskRestoreTargetInput = z.infer<typeof diskRestoreTargetSchema>;
export type RestoreDisksInput = z.infer<typeof restoreDisksSchema>;

/** Disaster recovery (KEY-9): the backup password typed on a repository's page; never stored. */
export const unlockRepositorySchema = z.object({
  repositoryId: z.string().trim().min(1).max(64),
  password: z.string().min(1, "Enter the backup password").max(1024, "A backup password is at most 1024 characters"),
});
