// The key ring: whatever the operator can supply to open restore points — passwords, KMS
// connections, recovery keysets with their private keys, storage keys obtained from a chain file
// or a recovery response. Given a point's protections it finds one that opens, trying the cheap
// ones first, and explains failure with key ids only (KEY-9), never with secrets.

import { idHex } from "../bytes";
import { EngineError, KeysUnavailableError, WrongKeyError } from "../errors";
import { describeKey } from "./key-header";
import { unwrapWithKms, type KmsWrapper } from "./kms";
import type { Protection, ProtectionPlan } from "./protection";
import type { RecoveryKeyset } from "./recovery-keyset";
import type { KeyRole, SecretKey } from "./secret-key";
import { derivePasswordKey, type PasswordKey, type PasswordKeyHeader } from "./user-key";
import { unwrapWithKey, unwrapWithPrivateKey } from "./wrap";

export type AttemptOutcome = "opened" | "wrong-key" | "unavailable" | "not-in-ring";

export class KeyRing {
  readonly #passwords: string[] = [];
  readonly #passwordKeys = new Map<string, PasswordKey>();
  readonly #kms = new Map<string, KmsWrapper>();
  readonly #keysets = new Map<string, RecoveryKeyset>();
  readonly #known = new Map<string, SecretKey>();

  /** A ring holding what a job's protection plan holds (its password key and KMS). */
  static fromPlan(plan: ProtectionPlan): KeyRing {
    const ring = new KeyRing();
    if (plan.password) ring.addPasswordKey(plan.password);
    if (plan.kms) ring.addKms(plan.kms.wrapper);
    return ring;
  }

  /** A password to try against password-protected points (derived lazily, once per key header). */
  addPassword(password: string): this {
    if (!this.#passwords.includes(password)) this.#passwords.push(password);
    return this;
  }
  addPasswordKey(key: PasswordKey): this {
    this.#passwordKeys.set(idHex(key.header.keyId), key);
    return this;
  }
  addKms(wrapper: KmsWrapper): this {
    this.#kms.set(wrapper.kmsId, wrapper);
    return this;
  }
  /** A keyset with its private key (the Security Officer's side). */
  addRecoveryKeyset(keyset: RecoveryKeyset): this {
    if (keyset.hasPrivateKey) this.#keysets.set(keyset.id, keyset);
    return this;
  }
  /** A key already unwrapped elsewhere (chain file, recovery response). */
  addKnownKey(key: SecretKey): this {
    this.#known.set(key.idHex, key);
    return this;
  }
  knownKey(keyId: Buffer): SecretKey | undefined {
    return this.#known.get(idHex(keyId));
  }

  /**
   * Opens the key that `protections` wrap. Order: keys already known, password keys and KMS (the
   * normal path), then recovery keysets. Throws WrongKeyError when every key tried was wrong, else
   * KeysUnavailableError listing what would open it.
   */
  async unwrap(protections: readonly Protection[], context: Buffer, role: KeyRole, what: string): Promise<SecretKey> {
    for (const p of protections) {
      const known = this.#known.get(idHex(p.wrap.targetKeyId));
      if (known) return known;
    }
    const outcomes: AttemptOutcome[] = [];
    const ordered = [...protections].sort((a, b) => rank(a) - rank(b));
    let lastError: unknown;
    for (const p of ordered) {
      try {
        const key = await this.tryOne(p, context, role);
        if (key) {
          this.#known.set(key.idHex, key);
          return key;
        }
        outcomes.push("not-in-ring");
      } catch (e) {
        if (!(e instanceof EngineError)) throw e;
        lastError = e;
        outcomes.push(e instanceof WrongKeyError ? "wrong-key" : "unavailable");
      }
    }
    if (outcomes.length > 0 && outcomes.every((o) => o === "wrong-key")) throw lastError;
    throw new KeysUnavailableError(what, protections.map((p) => describeKey(p.header)));
  }

  private async tryOne(p: Protection, context: Buffer, role: KeyRole): Promise<SecretKey | undefined> {
    const ref = describeKey(p.header);
    switch (p.header.kind) {
      case "password": {
        const key = await this.passwordKeyFor(p.header);
        return key && unwrapWithKey(p.wrap, key.key, context, role, ref);
      }
      case "kms": {
        const kms = this.#kms.get(p.header.kmsId);
        return kms && (await unwrapWithKms(kms, p.header, p.wrap, context, role, ref));
      }
      case "recovery-keyset": {
        const privateKey = this.#keysets.get(idHex(p.header.keyId))?.privateKey();
        return privateKey && unwrapWithPrivateKey(p.wrap, privateKey, context, role, ref);
      }
    }
  }

  private async passwordKeyFor(header: PasswordKeyHeader): Promise<PasswordKey | undefined> {
    const cached = this.#passwordKeys.get(idHex(header.keyId));
    if (cached) return cached;
    let wrong = false;
    for (const password of this.#passwords) {
      try {
        const key = await derivePasswordKey(password, header);
        this.#passwordKeys.set(idHex(header.keyId), key);
        return key;
      } catch (e) {
        if (!(e instanceof WrongKeyError)) throw e;
        wrong = true;
      }
    }
    if (wrong) throw new WrongKeyError(describeKey(header));
    return undefined;
  }

  toJSON(): { passwords: number; kms: string[]; keysets: string[]; knownKeys: number } {
    return { passwords: this.#passwords.length + this.#passwordKeys.size, kms: [...this.#kms.keys()], keysets: [...this.#keysets.keys()], knownKeys: this.#known.size };
  }
}

function rank(p: Protection): number {
  return p.header.kind === "password" ? 0 : p.header.kind === "kms" ? 1 : 2;
}
