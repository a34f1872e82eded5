import "server-only";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { generateRecoveryKeyset, RecoveryKeyset } from "@/lib/engine";
import type { DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { DEFAULT_KEYSET_POLICY, keysetPolicySchema, type KeysetPolicy } from "@/lib/schemas/recovery";
import { openSecret, sealSecret } from "@/lib/services/kms/config-secrets";

// How the console keeps recovery keysets (KEY-6). The public key (SPKI DER) is kept in clear: it
// is what wraps every new storage key. The private key, when the console holds it (generated
// here, or imported with it), is kept as a PKCS#8 PEM sealed under the configuration key with
// the keyset id as associated data, exactly like the KMS client keys and the jobs' user keys
// (SEC-6): the database alone opens nothing. It leaves the console only through an export,
// re-encrypted under a passphrase the Security Officer chooses.

export const KEYSET_POLICY_KEY = "recovery-keysets";
export const KEYSET_MODULUS_BITS = 4096;

const sealContext = (keysetId: string) => `recovery-keyset:${keysetId}`;

export interface KeysetRow {
  id: string;
  createdAt: Date;
  publicKey: string;
  privateKeySealed: string | null;
}

/** The policy in ConsoleSetting "recovery-keysets", or the default; a damaged value reads as the default. */
export async function readKeysetPolicy(client: DbTx): Promise<KeysetPolicy> {
  const row = await client.consoleSetting.findUnique({ where: { key: KEYSET_POLICY_KEY } });
  if (!row) return { ...DEFAULT_KEYSET_POLICY };
  try {
    const parsed = keysetPolicySchema.safeParse(JSON.parse(row.value));
    return parsed.success ? parsed.data : { ...DEFAULT_KEYSET_POLICY };
  } catch {
    return { ...DEFAULT_KEYSET_POLICY };
  }
}

/** A new RSA key pair (a few seconds at 4096 bits: call it outside any transaction). */
export function newKeyset(now: Date = new Date()): Promise<RecoveryKeyset> {
  return generateRecoveryKeyset({ modulusLength: KEYSET_MODULUS_BITS, now: () => now.getTime() });
}

/** The row for a keyset: public key in clear, private key (if any) sealed. */
export function keysetRowData(keyset: RecoveryKeyset, source: "generated" | "imported", createdAt = new Date(keyset.createdAt)) {
  const privateKey = keyset.privateKey();
  return {
    id: keyset.id,
    createdAt,
    publicKey: keyset.spki().toString("base64"),
    modulusBits: keyset.publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
    privateKeySealed: privateKey ? sealSecret(privateKey.export({ type: "pkcs8", format: "pem" }).toString(), sealContext(keyset.id)) : null,
    source,
  };
}

/** The engine keyset of a row: the public half, or with `withPrivateKey` the whole pair (export only). */
export function keysetFromRow(row: KeysetRow, options: { withPrivateKey?: boolean } = {}): RecoveryKeyset {
  const publicKey = createPublicKey({ key: Buffer.from(row.publicKey, "base64"), format: "der", type: "spki" });
  if (!options.withPrivateKey) return new RecoveryKeyset(publicKey, undefined, row.createdAt.getTime());
  if (!row.privateKeySealed) throw new AppError("CONFLICT", "The console holds only the public key of this keyset: its private key is wherever it was imported from.");
  let pem: string;
  try {
    pem = openSecret(row.privateKeySealed, sealContext(row.id));
  } catch {
    throw new AppError("CONFLICT", "This keyset's private key cannot be opened: the configuration key changed or the record was altered. Import the keyset again from an exported copy.");
  }
  return new RecoveryKeyset(publicKey, createPrivateKey(pem), row.createdAt.getTime());
}
