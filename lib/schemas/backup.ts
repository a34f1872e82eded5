// Input schemas for backup repositories and jobs (BKP-1), shared by the wizard and the services.
// The wizard validates each step with the same schemas the server applies again.
import { z } from "zod";
import { plainName, plainText } from "./plain-text";

const id = z.string().trim().min(1).max(64);
// Forms send "true"/"false"/"on"; z.coerce.boolean would read "false" as true.
const bool = z.union([z.boolean(), z.enum(["true", "false", "on"]).transform((v) => v !== "false")]);
const name = (what: string) => plainName(what);
const description = plainText(z.string().trim().max(500, "Use at most 500 characters")).default("");

// ───────────────────────────── repositories ─────────────────────────────

/** `//srv/./repo/` → `/srv/repo` (lexical only; the service also resolves symlinks). Runs in the browser too. */
export function normalFolder(p: string): string {
  const parts = p.split("/").filter((s) => s !== "" && s !== ".");
  return "/" + parts.join("/");
}

/** Kernel and device trees: reading them can block or never end (/proc/self/…), and they hold no storage. */
export function isSystemFolder(normalised: string): boolean {
  return /^\/(proc|sys|dev)(\/|$)/.test(normalised);
}

export const createRepositorySchema = z.object({
  name: name("repository"),
  path: plainText(
    z
      .string()
      .trim()
      .min(1, "Enter the folder on the Strongroom server, e.g. /srv/backups/repo1")
      .max(500, "Use at most 500 characters")
      .refine((p) => p.startsWith("/"), "Enter an absolute path (starting with /)")
      .refine((p) => !p.split("/").includes(".."), "The path must not contain .."),
  )
    .refine((p) => !isSystemFolder(normalFolder(p)), "Choose a folder outside /proc, /sys and /dev: those are the kernel's, not storage")
    .transform(normalFolder),
  description,
  immutabilityDays: z.coerce.number().int("Whole days only").min(0, "0 or more days").max(3650, "At most 3650 days").default(0),
});
export type CreateRepositoryInput = z.input<typeof createRepositorySchema>;

export const repositoryIdSchema = z.object({ repositoryId: id });

// ───────────────────────────── jobs ─────────────────────────────

export const SELECTION_KINDS = ["vm", "folder", "tenant", "site"] as const;
export const selectionItemSchema = z.object({
  kind: z.enum(SELECTION_KINDS),
  // vm / tenant / site: the console's id; folder: "<siteId>:<folder path>"
  id: z.string().trim().min(1).max(600),
  label: z.string().trim().max(300).default(""),
});
export type SelectionItem = z.infer<typeof selectionItemSchema>;

const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "Use HH:MM (24-hour)");
export const scheduleSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("manual") }),
  z.object({
    kind: z.literal("daily"),
    time,
    days: z.array(z.coerce.number().int().min(0).max(6)).min(1, "Pick at least one day").max(7),
  }),
  z.object({ kind: z.literal("hourly"), everyHours: z.coerce.number().int().min(1, "Every 1 to 24 hours").max(24, "Every 1 to 24 hours") }),
]);
export type Schedule = z.infer<typeof scheduleSchema>;

export const ENCRYPTION_MODES = ["password", "kms", "off"] as const;
export const MIN_BACKUP_PASSWORD = 12;

export const jobBasicsSchema = z.object({
  name: name("job"),
  description,
});

export const jobSelectionSchema = z.object({
  selection: z.array(selectionItemSchema).min(1, "Select at least one VM, folder, tenant or site").max(500, "At most 500 items"),
});

export const jobStorageSchema = z.object({
  repositoryId: id,
  retentionPoints: z.coerce.number().int("Whole restore points only").min(1, "Keep at least 1 restore point").max(999, "At most 999 restore points"),
});

export const jobProxiesSchema = z
  .object({
    proxyMode: z.enum(["automatic", "manual"]),
    proxyIds: z.array(id).max(100).default([]),
    failoverToNetwork: bool.default(true),
  })
  .refine((v) => v.proxyMode === "automatic" || v.proxyIds.length > 0, { message: "Choose at least one proxy, or use automatic selection", path: ["proxyIds"] });

export const jobEncryptionSchema = z
  .object({
    encryptionMode: z.enum(ENCRYPTION_MODES),
    // Only when setting or changing the password; never stored.
    password: z.string().max(256, "Use at most 256 characters").optional(),
    passwordConfirm: z.string().max(256).optional(),
    passwordHint: plainText(z.string().trim().max(200, "Use at most 200 characters")).optional(),
    kmsKeyProviderId: z.string().trim().max(64).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.encryptionMode === "password" && v.password !== undefined) {
      if (v.password.length < MIN_BACKUP_PASSWORD) ctx.addIssue({ code: "custom", path: ["password"], message: `Use at least ${MIN_BACKUP_PASSWORD} characters` });
      if (v.password !== v.passwordConfirm) ctx.addIssue({ code: "custom", path: ["passwordConfirm"], message: "The two passwords differ" });
      if (v.passwordHint && v.password && v.passwordHint.toLowerCase().includes(v.password.toLowerCase())) {
        ctx.addIssue({ code: "custom", path: ["passwordHint"], message: "The hint must not contain the password" });
      }
    }
    if (v.encryptionMode === "kms" && !v.kmsKeyProviderId) ctx.addIssue({ code: "custom", path: ["kmsKeyProviderId"], message: "Choose the key provider whose KMS holds the job's key" });
  });

export const jobScheduleSchema = z.object({ schedule: scheduleSchema });

/** The whole wizard. */
export const backupJobSchema = z
  .object({
    ...jobBasicsSchema.shape,
    ...jobSelectionSchema.shape,
    ...jobStorageSchema.shape,
    proxyMode: z.enum(["automatic", "manual"]),
    proxyIds: z.array(id).max(100).default([]),
    failoverToNetwork: bool.default(true),
    encryptionMode: z.enum(ENCRYPTION_MODES),
    password: z.string().max(256).optional(),
    passwordConfirm: z.string().max(256).optional(),
    passwordHint: plainText(z.string().trim().max(200, "Use at most 200 characters")).optional(),
    kmsKeyProviderId: z.string().trim().max(64).optional(),
    schedule: scheduleSchema,
  })
  .superRefine((v, ctx) => {
    for (const part of [jobProxiesSchema, jobEncryptionSchema]) {
      const r = part.safeParse(v);
      if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    }
  });
export type BackupJobInput = z.input<typeof backupJobSchema>;

export const updateBackupJobSchema = z.intersection(z.object({ jobId: id }), backupJobSchema);
export const jobIdSchema = z.object({ jobId: id });
export const setJobEnabledSchema = z.object({ jobId: id, enabled: bool });
export const sessionIdSchema = z.object({ sessionId: id });
export const previewSelectionSchema = z.object({
  selection: z.array(selectionItemSchema).max(500),
  proxyMode: z.enum(["automatic", "manual"]).default("automatic"),
  proxyIds: z.array(id).max(100).default([]),
  failoverToNetwork: bool.default(true),
});
