// An in-memory key provider for unit tests: KEKs in a Map, and a switch that makes it behave like
// a KMS that cannot be reached (VME-3) without starting PyKMIP.

import { randomBytes, randomUUID } from "node:crypto";
import { KeyProviderError, type KeyEncryptionKeySource } from "../types";

export class MemoryKeySource implements KeyEncryptionKeySource {
  readonly keys = new Map<string, Buffer>();
  unreachable = false;
  gets = 0;

  constructor(readonly providerId = "kp-test") {}

  async createKey(): Promise<string> {
    if (this.unreachable) throw new KeyProviderError("unreachable", `${this.providerId} is unreachable`);
    const id = randomUUID();
    this.keys.set(id, randomBytes(32));
    return id;
  }

  async getKey(keyId: string): Promise<Buffer> {
    this.gets++;
    if (this.unreachable) throw new KeyProviderError("unreachable", `${this.providerId} is unreachable`);
    const key = this.keys.get(keyId);
    if (!key) throw new KeyProviderError("key-not-found", `${this.providerId} has no key ${keyId}`);
    return Buffer.from(key);
  }
}
