// Recovery keysets (KEY-6, Veeam's Enterprise Manager keyset for password-loss protection): an RSA
// key pair whose public key wraps every storage key besides the password or KMS key. The backup
// side keeps only the public key; the private key lives with the Security Officer, exported as
// an (optionally passphrase-encrypted) PKCS#8 PEM inside a small JSON document.

import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { idHex } from "../bytes";
import { InvalidArgumentError, WrongKeyError } from "../errors";
import { keysetIdOf, type KeyHeader } from "./key-header";

export type RecoveryKeysetHeader = Extract<KeyHeader, { kind: "recovery-keyset" }>;

const generateKeyPairAsync = promisify(generateKeyPair);
const EXPORT_FORMAT = "strongroom-recovery-keyset";
const MIN_MODULUS = 2048;

export class RecoveryKeyset {
  readonly keyId: Buffer;
  readonly #privateKey: KeyObject | undefined;

  constructor(
    readonly publicKey: KeyObject,
    privateKey: KeyObject | undefined,
    readonly createdAt: number,
  ) {
    if (publicKey.asymmetricKeyType !== "rsa") throw new InvalidArgumentError("a recovery keyset is an RSA key pair");
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_MODULUS) throw new InvalidArgumentError(`a recovery keyset needs at least ${MIN_MODULUS}-bit RSA`);
    if (privateKey && !createPublicKey(privateKey).equals(publicKey)) throw new InvalidArgumentError("the private key does not belong to this keyset");
    this.keyId = keysetIdOf(this.spki());
    this.#privateKey = privateKey;
  }

  get id(): string {
    return idHex(this.keyId);
  }

  get hasPrivateKey(): boolean {
    return this.#privateKey !== undefined;
  }

  /** For unwrap only; undefined on the backup side, which holds the public key alone. */
  privateKey(): KeyObject | undefined {
    return this.#privateKey;
  }

  spki(): Buffer {
    return this.publicKey.export({ type: "spki", format: "der" });
  }

  header(): RecoveryKeysetHeader {
    return { kind: "recovery-keyset", keyId: this.keyId, createdAt: this.createdAt, publicKey: this.spki() };
  }

  /** The public half only: what the backup server keeps. */
  publicOnly(): RecoveryKeyset {
    return new RecoveryKeyset(this.publicKey, undefined, this.createdAt);
  }

  toJSON(): { keysetId: string; privateKey: string } {
    return { keysetId: this.id, privateKey: this.#privateKey ? "[redacted]" : "none" };
  }
}

/** RSA 4096 by default, like Veeam's KMS keys; takes a second or two. */
export async function generateRecoveryKeyset(options: { modulusLength?: number; now?: () => number } = {}): Promise<RecoveryKeyset> {
  const modulusLength = options.modulusLength ?? 4096;
  if (modulusLength < MIN_MODULUS) throw new InvalidArgumentError(`a recovery keyset needs at least ${MIN_MODULUS}-bit RSA`);
  const { publicKey, privateKey } = await generateKeyPairAsync("rsa", { modulusLength, publicExponent: 0x10001 });
  return new RecoveryKeyset(publicKey, privateKey, (options.now ?? Date.now)());
}

export interface ExportedKeyset {
  format: typeof EXPORT_FORMAT;
  version: 1;
  keysetId: string;
  createdAt: string;
  publicKeyPem: string;
  /** PKCS#8; "ENCRYPTED PRIVATE KEY" (PBES2, AES-256-CBC) when exported with a passphrase. */
  privateKeyPem?: string;
}

/**
 * JSON for export. With `includePrivateKey` it is the Security Officer's copy: give a passphrase
 * unless the file goes straight into a vault.
 */
export function exportKeyset(keyset: RecoveryKeyset, options: { includePrivateKey?: boolean; passphrase?: string } = {}): string {
  const out: ExportedKeyset = {
    format: EXPORT_FORMAT,
    version: 1,
    keysetId: keyset.id,
    createdAt: new Date(keyset.createdAt).toISOString(),
    publicKeyPem: keyset.publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
  if (options.includePrivateKey) {
    const priv = keyset.privateKey();
    if (!priv) throw new InvalidArgumentError("this keyset holds no private key to export");
    out.privateKeyPem = (
      options.passphrase
        ? priv.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: options.passphrase })
        : priv.export({ type: "pkcs8", format: "pem" })
    ).toString();
  }
  return JSON.stringify(out, null, 2);
}

/** Parses an exported keyset and checks that its id matches its public key. */
export function importKeyset(json: string, passphrase?: string): RecoveryKeyset {
  let doc: Partial<ExportedKeyset>;
  try {
    doc = JSON.parse(json) as Partial<ExportedKeyset>;
  } catch {
    throw new InvalidArgumentError("not a recovery keyset file (invalid JSON)");
  }
  if (doc.format !== EXPORT_FORMAT || doc.version !== 1 || typeof doc.publicKeyPem !== "string") {
    throw new InvalidArgumentError("not a Strongroom recovery keyset file, or a newer version");
  }
  const publicKey = createPublicKey(doc.publicKeyPem);
  let privateKey: KeyObject | undefined;
  if (doc.privateKeyPem) {
    try {
      privateKey = createPrivateKey({ key: doc.privateKeyPem, passphrase });
    } catch {
      // Never echo OpenSSL's message: it is about the passphrase.
      throw new WrongKeyError(`keyset:${doc.keysetId ?? "?"} (passphrase)`);
    }
  }
  const keyset = new RecoveryKeyset(publicKey, privateKey, Date.parse(doc.createdAt ?? "") || 0);
  if (doc.keysetId !== keyset.id) throw new InvalidArgumentError("the keyset id does not match its public key");
  return keyset;
}
