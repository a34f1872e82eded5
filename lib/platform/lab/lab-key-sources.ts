// Where the lab's hosts get their key-encryption keys (VME-1, VME-3, VME-4). The lab connector
// does not know how a KMS cluster is registered in the console or where its credentials are: the
// services layer answers that through LabKeySources. Tests and the CLI use nativeOnlyKeySources,
// where the sites' native providers work and every standard provider is "unreachable" — what a
// fresh console with no KMS cluster registered looks like.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { BundleError, HostError, KeyProviderError, NativeKeyProvider, type KeyEncryptionKeySource } from "./data-plane";

/** One key provider of the estate, as the connector asks for it. */
export interface LabKeyProviderRef {
  keyProviderExternalId: string;
  siteExternalId: string;
  kind: "native" | "standard";
  /** Display name, for error messages ("no KMS cluster is registered for Acme Logistics KMS"). */
  name: string;
}

export interface LabKeySources {
  /**
   * The key source of one provider; its providerId must be `keyProviderExternalId`. Called for
   * every operation that needs a key, so a KMS cluster registered (or changed) in the console is
   * used at once: implementations keep their own sources (KMIP connections, KEK caches). Throws —
   * or the source throws later — KeyProviderError ("unreachable" when nothing is registered).
   */
  forProvider(p: LabKeyProviderRef): Promise<KeyEncryptionKeySource>;
}

/** The folder of a site's native key provider inside a lab folder (one per site, VME-4). */
export function nativeKeyProviderFolder(labFolder: string, siteExternalId: string): string {
  return path.join(labFolder, "native-keys", siteExternalId);
}

/** Native providers work (a NativeKeyProvider per site); standard ones are unreachable. */
export function nativeOnlyKeySources(labFolder: string): LabKeySources {
  const open = new Map<string, Promise<NativeKeyProvider>>();
  return {
    forProvider(p) {
      if (p.kind !== "native") {
        return Promise.reject(new KeyProviderError("unreachable", `no KMS cluster is registered for ${p.name}`));
      }
      let pending = open.get(p.keyProviderExternalId);
      if (!pending) {
        const folder = nativeKeyProviderFolder(labFolder, p.siteExternalId);
        pending = mkdir(folder, { recursive: true, mode: 0o700 }).then(() => NativeKeyProvider.open({ folder, providerId: p.keyProviderExternalId }));
        open.set(p.keyProviderExternalId, pending);
        pending.catch(() => open.delete(p.keyProviderExternalId)); // a failed open is retried next time
      }
      return pending;
    },
  };
}

/**
 * Runs key-provider work as a host does it and reports failures in the host's terms: a provider
 * that cannot answer is HostError "KeyProviderUnavailable" (VME-3), a key that does not open the
 * bundle is "CryptoKeyMismatch". The original error stays as `cause`.
 */
export async function withKeyProvider<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof KeyProviderError) {
      throw Object.assign(new HostError("KeyProviderUnavailable", `the key provider cannot provide the key: ${err.message}`), { cause: err });
    }
    if (err instanceof BundleError) {
      throw Object.assign(new HostError("CryptoKeyMismatch", `the encryption.bundle cannot be opened: ${err.message}`), { cause: err });
    }
    throw err;
  }
}

/** forProvider, checked: the source must speak for the provider it was asked for. */
export async function keySourceFor(sources: LabKeySources, p: LabKeyProviderRef): Promise<KeyEncryptionKeySource> {
  const source = await withKeyProvider(() => sources.forProvider(p));
  if (source.providerId !== p.keyProviderExternalId) {
    // A bundle records its provider id: a mismatch here would seal VMs under the wrong name.
    throw new Error(`LabKeySources returned a source for ${source.providerId} when asked for ${p.keyProviderExternalId}`);
  }
  return source;
}
