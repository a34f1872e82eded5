// The in-memory twin of a key provider for KmsWrapper (ARCHITECTURE.md: every I/O interface has an
// in-memory twin and a fault-injecting one). It keeps every version of every key like a real KMS,
// rotates on request (KEY-5), and can be made unreachable or made to lose a version, which is how
// tests exercise "KMS down" (BKP-6) and "the whole chain opens with the newest key" (KEY-8).

import { createCipheriv, createDecipheriv, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { KmsUnavailableError } from "../errors";
import type { KmsKeyVersion, KmsWrapper } from "./kms";
import { rsaOaepDecrypt } from "./wrap";

type Version = { aes?: Buffer; rsa?: { publicKey: KeyObject; privateKey: KeyObject } };

export class MemoryKms implements KmsWrapper {
  private keys = new Map<string, { scheme: KmsKeyVersion["scheme"]; versions: Map<number, Version> }>();
  /** Calls made, for tests that check what reached the KMS (never the plaintext). */
  readonly calls: Array<{ op: "latestVersion" | "encrypt" | "decrypt"; kmsKeyId: string; keyVersion?: number }> = [];
  reachable = true;
  /** Number of upcoming calls that fail as if the connection dropped. */
  failNext = 0;

  constructor(
    readonly kmsId: string,
    private readonly rsaModulusLength = 2048,
  ) {}

  /**
   * Creates a key at version 1. `material` (an AES-256 key, or an RSA private key) is for fixtures
   * that must decrypt frozen samples; a real KMS generates its keys itself.
   */
  createKey(kmsKeyId: string, scheme: KmsKeyVersion["scheme"] = "kms-encrypt", material?: Buffer | KeyObject): void {
    this.keys.set(kmsKeyId, { scheme, versions: new Map() });
    if (!material) {
      this.rotate(kmsKeyId);
      return;
    }
    const versions = this.keys.get(kmsKeyId)!.versions;
    if (Buffer.isBuffer(material)) versions.set(1, { aes: Buffer.from(material) });
    else versions.set(1, { rsa: { privateKey: material, publicKey: createPublicKey(material) } });
  }

  /** The KMS administrator rotates the key: a new version becomes the latest. */
  rotate(kmsKeyId: string): number {
    const key = this.mustGet(kmsKeyId);
    const version = key.versions.size + 1;
    if (key.scheme === "kms-encrypt") key.versions.set(version, { aes: randomBytes(32) });
    else key.versions.set(version, { rsa: generateKeyPairSync("rsa", { modulusLength: this.rsaModulusLength }) });
    return version;
  }

  /** The KMS administrator destroys one version (Strongroom itself never does, KEY-8). */
  destroyVersion(kmsKeyId: string, version: number): void {
    this.mustGet(kmsKeyId).versions.delete(version);
  }

  async latestVersion(kmsKeyId: string): Promise<KmsKeyVersion> {
    this.enter("latestVersion", kmsKeyId);
    const key = this.mustGet(kmsKeyId);
    const keyVersion = Math.max(...key.versions.keys());
    const v = key.versions.get(keyVersion)!;
    return {
      kmsId: this.kmsId,
      kmsKeyId,
      keyVersion,
      scheme: key.scheme,
      publicKey: v.rsa ? v.rsa.publicKey.export({ type: "spki", format: "der" }) : undefined,
    };
  }

  async encrypt(key: KmsKeyVersion, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    this.enter("encrypt", key.kmsKeyId, key.keyVersion);
    const v = this.version(key);
    if (!v.aes) throw new KmsUnavailableError(this.kmsId, "key is not a symmetric key");
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", v.aes, iv);
    c.setAAD(aad);
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([iv, ct, c.getAuthTag()]);
  }

  async decrypt(key: KmsKeyVersion, ciphertext: Buffer, aad: Buffer): Promise<Buffer> {
    this.enter("decrypt", key.kmsKeyId, key.keyVersion);
    const v = this.version(key);
    if (v.rsa) {
      const out = rsaOaepDecrypt(v.rsa.privateKey, ciphertext);
      if (!out) throw new KmsUnavailableError(this.kmsId, "decryption failed");
      return out;
    }
    const d = createDecipheriv("aes-256-gcm", v.aes!, ciphertext.subarray(0, 12));
    d.setAAD(aad);
    d.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
    try {
      return Buffer.concat([d.update(ciphertext.subarray(12, ciphertext.length - 16)), d.final()]);
    } catch {
      // A real KMS answers with a KMIP error (Cryptographic Failure); the caller maps it.
      throw new KmsUnavailableError(this.kmsId, "decryption failed");
    }
  }

  private enter(op: "latestVersion" | "encrypt" | "decrypt", kmsKeyId: string, keyVersion?: number): void {
    this.calls.push({ op, kmsKeyId, keyVersion });
    if (!this.reachable) throw new KmsUnavailableError(this.kmsId, "unreachable");
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    }
  }

  private mustGet(kmsKeyId: string) {
    const key = this.keys.get(kmsKeyId);
    if (!key) throw new KmsUnavailableError(this.kmsId, `key ${kmsKeyId} not found`);
    return key;
  }

  private version(key: KmsKeyVersion): Version {
    const v = this.mustGet(key.kmsKeyId).versions.get(key.keyVersion);
    if (!v) throw new KmsUnavailableError(this.kmsId, `key ${key.kmsKeyId} version ${key.keyVersion} not found`);
    return v;
  }
}
