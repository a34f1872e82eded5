// A standard key provider (VME-4): an external KMS spoken to over KMIP with mutual TLS, through the
// finished client in lib/kmip. createKey = KMIP Create (AES-256) + Activate; getKey = KMIP Get.
//
// Fetched KEKs are cached in memory for a short time (default 5 minutes), as an ESXi host keeps
// the keys vCenter pushed to it: a KMS outage shorter than that does not stop a running host, and
// a burst of disk opens does not become a burst of KMS round trips. Expired entries are zeroed.
//
// Every failure becomes a KeyProviderError whose code the UI can act on (mapping in
// keyProviderErrorFrom); messages name the provider and key id, never key material.

import type { KmipClient } from "../../../kmip";
import { CryptographicUsageMask, KmipCodecError, KmipError, KmipTransportError, KmipUsageError } from "../../../kmip";
import { KEY_SIZE } from "./formats";
import { KeyProviderError, type KeyEncryptionKeySource } from "./types";

export const DEFAULT_KEK_CACHE_TTL_MS = 5 * 60_000;

/** KEKs wrap keys; PyKMIP accepts all four bits together on one AES key. */
export const KEK_USAGE_MASK =
  CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt | CryptographicUsageMask.WrapKey | CryptographicUsageMask.UnwrapKey;

/** The part of KmipClient this provider uses (a narrow seam for unit tests). */
export type KmsKeyClient = Pick<KmipClient, "create" | "activate" | "get" | "close">;

export interface KmipKeyProviderOptions {
  providerId: string;
  client: KmsKeyClient;
  /** How long a fetched KEK stays in memory. 0 disables the cache. Default 5 minutes. */
  cacheTtlMs?: number;
  /** Name given to created keys (KMIP Name attribute); default "strongroom-kek-<time>". */
  keyName?: () => string;
  /** Clock, for tests. */
  now?: () => number;
}

interface CachedKey {
  key: Buffer;
  expiresAt: number;
}

export class KmipKeyProvider implements KeyEncryptionKeySource {
  readonly providerId: string;
  private readonly client: KmsKeyClient;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly keyName: () => string;
  private readonly cache = new Map<string, CachedKey>();
  private readonly inFlight = new Map<string, Promise<Buffer>>();

  constructor(options: KmipKeyProviderOptions) {
    this.providerId = options.providerId;
    this.client = options.client;
    this.ttlMs = options.cacheTtlMs ?? DEFAULT_KEK_CACHE_TTL_MS;
    this.now = options.now ?? Date.now;
    this.keyName = options.keyName ?? (() => `strongroom-kek-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
  }

  async createKey(): Promise<string> {
    try {
      const id = await this.client.create({ length: 256, name: this.keyName(), usageMask: KEK_USAGE_MASK });
      await this.client.activate(id);
      return id;
    } catch (err) {
      throw keyProviderErrorFrom(err, this.providerId, "create a key");
    }
  }

  async getKey(keyId: string): Promise<Buffer> {
    const hit = this.cache.get(keyId);
    if (hit && hit.expiresAt > this.now()) return Buffer.from(hit.key);
    if (hit) this.evict(keyId);
    // Concurrent opens of one VM's disks share one KMS round trip.
    let pending = this.inFlight.get(keyId);
    if (!pending) {
      pending = this.fetch(keyId).finally(() => this.inFlight.delete(keyId));
      this.inFlight.set(keyId, pending);
    }
    return Buffer.from(await pending);
  }

  /** A Get on the KMS itself (never the cache), the answer wiped at once: does the KMS still hold the key? */
  async probeKey(keyId: string): Promise<void> {
    let object;
    try {
      object = await this.client.get(keyId);
    } catch (err) {
      throw keyProviderErrorFrom(err, this.providerId, `get key ${keyId}`);
    }
    const ok = object.objectType === "SymmetricKey" && object.keyMaterial?.length === KEY_SIZE.kek;
    object.keyMaterial?.fill(0);
    if (!ok) throw new KeyProviderError("bad-response", `KMS ${this.providerId} returned key ${keyId} as ${object.objectType}, not a 256-bit symmetric key`);
  }

  /** Drops one cached KEK (or all), zeroing it: e.g. after the KMS administrator revoked a key. */
  forget(keyId?: string): void {
    for (const id of keyId === undefined ? [...this.cache.keys()] : [keyId]) this.evict(id);
  }

  /** Forgets every cached key and closes the KMIP connection. */
  async close(): Promise<void> {
    this.forget();
    await this.client.close();
  }

  private async fetch(keyId: string): Promise<Buffer> {
    let object;
    try {
      object = await this.client.get(keyId);
    } catch (err) {
      throw keyProviderErrorFrom(err, this.providerId, `get key ${keyId}`);
    }
    const material = object.keyMaterial;
    if (object.objectType !== "SymmetricKey" || !material || material.length !== KEY_SIZE.kek) {
      material?.fill(0);
      throw new KeyProviderError("bad-response", `KMS ${this.providerId} returned key ${keyId} as ${object.objectType} (${material?.length ?? 0} bytes), not a 256-bit symmetric key`);
    }
    if (this.ttlMs > 0) this.cache.set(keyId, { key: Buffer.from(material), expiresAt: this.now() + this.ttlMs });
    return material;
  }

  private evict(keyId: string): void {
    this.cache.get(keyId)?.key.fill(0);
    this.cache.delete(keyId);
  }
}

/**
 * KMIP client errors → KeyProviderError codes:
 *  - KmipTransportError (refused, timeout, reset, TLS handshake, no route, closed) → "unreachable";
 *    except "certificate" (the KMS presented a certificate our CA does not vouch for) → "bad-response":
 *    that KMS answered, but it is not one we trust.
 *  - KmipError ItemNotFound → "key-not-found"; PermissionDenied → "permission-denied";
 *    any other refusal → "bad-response".
 *  - KmipCodecError (garbage on the wire), KmipUsageError → "bad-response".
 * Anything else is a bug and is rethrown unchanged.
 */
export function keyProviderErrorFrom(err: unknown, providerId: string, action: string): unknown {
  if (err instanceof KeyProviderError) return err;
  const at = `Key provider ${providerId} could not ${action}`;
  if (err instanceof KmipTransportError) {
    if (err.code === "certificate") return new KeyProviderError("bad-response", `${at}: ${err.message}`);
    return new KeyProviderError("unreachable", `${at}: the KMS is unreachable (${err.code}): ${err.message}`);
  }
  if (err instanceof KmipError) {
    if (err.resultReason === "ItemNotFound") return new KeyProviderError("key-not-found", `${at}: the KMS has no such key`);
    if (err.resultReason === "PermissionDenied") return new KeyProviderError("permission-denied", `${at}: the KMS refused this client (${err.message})`);
    return new KeyProviderError("bad-response", `${at}: ${err.message}`);
  }
  if (err instanceof KmipCodecError || err instanceof KmipUsageError) {
    return new KeyProviderError("bad-response", `${at}: invalid KMIP exchange (${err.message})`);
  }
  return err;
}
