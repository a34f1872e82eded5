// The native key provider (VME-4): a key provider built into the site, no external KMS. Like
// vSphere's Native Key Provider, its KEKs are random AES-256 keys kept by the site itself, sealed
// under a site secret. Here:
//   <folder>/site-secret.key   32 random bytes, created once with mode 0600 (exclusive create, so
//                              two processes starting together agree on one secret)
//   <folder>/native-keys.json  { format, version, providerId, keys: { <uuid>: { sealed, createdAt } } }
//                              sealed = base64(nonce(12) ‖ AES-256-GCM ciphertext(32) ‖ tag(16)),
//                              AAD binds the provider id and key id, so a sealed key cannot be
//                              moved to another id or provider. Written atomically under a lock file.
// Plaintext KEKs exist only in memory, for the duration of a getKey call and in what it returns.

import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import { readFile, rm, stat, writeFile, open } from "node:fs/promises";
import path from "node:path";
import { syncFolder, writeFileAtomic } from "./atomic-file";
import { FORMAT_VERSION, KEY_SIZE, NATIVE_KEY_PROVIDER_FILES } from "./formats";
import { KeyProviderError, type KeyEncryptionKeySource } from "./types";

const STORE_FORMAT = "strongroom-native-key-store";
const NONCE = 12;
const TAG = 16;
const LOCK_WAIT_MS = 5_000;
const LOCK_STALE_MS = 30_000;

interface SealedEntry {
  sealed: string;
  createdAt: string;
}
interface KeyStoreFile {
  format: typeof STORE_FORMAT;
  version: number;
  providerId: string;
  keys: Record<string, SealedEntry>;
}

export interface NativeKeyProviderOptions {
  /** The provider's own folder in the lab (one folder per native provider / site). */
  folder: string;
  /** The key provider's external id, e.g. "kp-prod-native". */
  providerId: string;
}

export class NativeKeyProvider implements KeyEncryptionKeySource {
  private sealedKeys = new Map<string, SealedEntry>();
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly providerId: string,
    private readonly folder: string,
    private readonly secret: KeyObject,
  ) {}

  /** Opens the provider, creating its site secret and empty key store on first use. */
  static async open(options: NativeKeyProviderOptions): Promise<NativeKeyProvider> {
    const secret = await loadOrCreateSecret(path.join(options.folder, NATIVE_KEY_PROVIDER_FILES.siteSecret));
    const provider = new NativeKeyProvider(options.providerId, options.folder, secret);
    await provider.reload();
    return provider;
  }

  async createKey(): Promise<string> {
    const keyId = randomUUID();
    const kek = randomBytes(KEY_SIZE.kek);
    const entry: SealedEntry = { sealed: this.seal(keyId, kek).toString("base64"), createdAt: new Date().toISOString() };
    kek.fill(0);
    // Serialized in-process, locked across processes, and re-read under the lock: a key another
    // process added meanwhile must survive our write.
    const write = this.writes.then(() =>
      this.withLock(async () => {
        await this.reload();
        this.sealedKeys.set(keyId, entry);
        const file: KeyStoreFile = { format: STORE_FORMAT, version: FORMAT_VERSION.nativeKeyStore, providerId: this.providerId, keys: Object.fromEntries(this.sealedKeys) };
        await writeFileAtomic(this.storePath, JSON.stringify(file, null, 2) + "\n", 0o600);
      }),
    );
    this.writes = write.catch(() => undefined);
    await write;
    return keyId;
  }

  async getKey(keyId: string): Promise<Buffer> {
    let entry = this.sealedKeys.get(keyId);
    if (!entry) {
      await this.reload(); // another process (or provider instance) may have created it
      entry = this.sealedKeys.get(keyId);
    }
    if (!entry) throw new KeyProviderError("key-not-found", `native key provider ${this.providerId} has no key ${keyId}`);
    return this.unseal(keyId, Buffer.from(entry.sealed, "base64"));
  }

  /** Ids of every key this provider holds. */
  keyIds(): string[] {
    return [...this.sealedKeys.keys()];
  }

  private get storePath(): string {
    return path.join(this.folder, NATIVE_KEY_PROVIDER_FILES.keyStore);
  }

  private aad(keyId: string): Buffer {
    return Buffer.from(`strongroom-native-kek/v${FORMAT_VERSION.nativeKeyStore}|${this.providerId}|${keyId}`, "utf8");
  }

  private seal(keyId: string, kek: Buffer): Buffer {
    const nonce = randomBytes(NONCE);
    const c = createCipheriv("aes-256-gcm", this.secret, nonce);
    c.setAAD(this.aad(keyId));
    return Buffer.concat([nonce, c.update(kek), c.final(), c.getAuthTag()]);
  }

  private unseal(keyId: string, sealed: Buffer): Buffer {
    if (sealed.length !== NONCE + KEY_SIZE.kek + TAG) throw new KeyProviderError("bad-response", `sealed key ${keyId} has a bad length`);
    try {
      const d = createDecipheriv("aes-256-gcm", this.secret, sealed.subarray(0, NONCE));
      d.setAAD(this.aad(keyId));
      d.setAuthTag(sealed.subarray(NONCE + KEY_SIZE.kek));
      return Buffer.concat([d.update(sealed.subarray(NONCE, NONCE + KEY_SIZE.kek)), d.final()]);
    } catch {
      throw new KeyProviderError("bad-response", `sealed key ${keyId} failed authentication: wrong site secret or a tampered key store`);
    }
  }

  private async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.storePath, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // nothing created yet
      throw new KeyProviderError("unreachable", `cannot read the native key store: ${(err as Error).message}`);
    }
    let file: KeyStoreFile;
    try {
      file = JSON.parse(text) as KeyStoreFile;
    } catch {
      throw new KeyProviderError("bad-response", "the native key store is not valid JSON");
    }
    if (file.format !== STORE_FORMAT || file.version !== FORMAT_VERSION.nativeKeyStore || typeof file.keys !== "object" || file.keys === null) {
      throw new KeyProviderError("bad-response", `the native key store has an unknown format or version (${String(file.version)})`);
    }
    if (file.providerId !== this.providerId) {
      throw new KeyProviderError("bad-response", `the key store in ${this.folder} belongs to ${file.providerId}, not ${this.providerId}`);
    }
    this.sealedKeys = new Map(Object.entries(file.keys));
  }

  /** A lock file (exclusive create) guards read-modify-write of the store across processes. */
  private async withLock<T>(work: () => Promise<T>): Promise<T> {
    const lock = `${this.storePath}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await writeFile(lock, String(process.pid), { flag: "wx" });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > LOCK_STALE_MS) await rm(lock, { force: true }); // its owner died mid-write
        else if (Date.now() > deadline) throw new KeyProviderError("unreachable", "the native key store is locked by another process");
        else await new Promise((r) => setTimeout(r, 20));
      }
    }
    try {
      return await work();
    } finally {
      await rm(lock, { force: true });
    }
  }
}

async function loadOrCreateSecret(file: string): Promise<KeyObject> {
  try {
    const handle = await open(file, "wx", 0o600);
    const secret = randomBytes(KEY_SIZE.kek);
    try {
      await handle.writeFile(secret);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncFolder(path.dirname(file));
    return createSecretKey(secret);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const info = await stat(file);
  if ((info.mode & 0o077) !== 0) {
    throw new Error(`${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}): refusing to use it as the site secret`);
  }
  const secret = await readFile(file);
  if (secret.length !== KEY_SIZE.kek) throw new Error(`${file} is ${secret.length} bytes, not ${KEY_SIZE.kek}: not a site secret`);
  return createSecretKey(secret);
}
