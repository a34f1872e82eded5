// Input schemas for recovery keysets (KEY-6), shared by the forms and the services.
import { z } from "zod";

// Forms send "true"/"false"/"on"; z.coerce.boolean would read "false" as true. A missing checkbox is false.
const bool = z.union([z.boolean(), z.enum(["true", "false", "on"]).transform((v) => v !== "false")]);

/** The engine's keyset id: 16 bytes of SHA-256 of the public key, in hex. */
export const keysetIdSchema = z.object({
  keysetId: z.string().trim().toLowerCase().regex(/^[0-9a-f]{32}$/, "Not a recovery keyset id"),
});

export const MIN_KEYSET_PASSPHRASE = 12;
const MAX_PASSPHRASE = 1024;

export const exportKeysetSchema = keysetIdSchema
  .extend({
    passphrase: z
      .string()
      .min(MIN_KEYSET_PASSPHRASE, `Use at least ${MIN_KEYSET_PASSPHRASE} characters: this passphrase is all that protects a key that opens every backup`)
      .max(MAX_PASSPHRASE, `Use at most ${MAX_PASSPHRASE} characters`),
    passphraseConfirm: z.string().max(MAX_PASSPHRASE),
  })
  .refine((v) => v.passphrase === v.passphraseConfirm, { path: ["passphraseConfirm"], message: "The two passphrases differ" });

/** An exported keyset is ~5 KiB with a 4096-bit private key; 32 KiB leaves room for 16384-bit keys. */
export const MAX_KEYSET_JSON = 32 * 1024;

export const importKeysetSchema = z.object({
  json: z.string().trim().min(1, "Paste the exported keyset file (JSON)").max(MAX_KEYSET_JSON, "This is too large for a keyset file (32 KiB at most)"),
  // Empty = none (a public-only file, or a private key exported without one).
  passphrase: z
    .string()
    .max(MAX_PASSPHRASE, `Use at most ${MAX_PASSPHRASE} characters`)
    .optional()
    .transform((v) => (v ? v : undefined)),
});

export const DEFAULT_KEYSET_POLICY = { enabled: true, rotateDays: 30, retentionDays: 365 } as const;

export const keysetPolicySchema = z
  .object({
    enabled: bool.default(false),
    rotateDays: z.coerce.number({ message: "Enter a number of days" }).int("Whole days only").min(1, "At least 1 day").max(3650, "At most 3650 days"),
    retentionDays: z.coerce.number({ message: "Enter a number of days" }).int("Whole days only").min(1, "At least 1 day").max(3650, "At most 3650 days"),
  })
  .refine((v) => v.retentionDays >= v.rotateDays, { path: ["retentionDays"], message: "Keep keysets at least as long as a new one is generated (retention ≥ rotation)" });
export type KeysetPolicy = z.infer<typeof keysetPolicySchema>;
