// Contracts of the lab's data plane (issue: "Real bytes under the lab"; SPEC INV-4, VME-1…3,
// TRN-1…4). The lab is the simulated vSphere: these types describe how its hosts keep virtual
// disks on datastores, encrypt them like VM Encryption does, track changed blocks, take snapshots
// and serve disks to backup proxies through transport modes. Pure Node: no Next.js, no Prisma.

/** Changed block tracking granularity; also the unit of the delta files of snapshots. */
export const CBT_BLOCK_SIZE = 1024 * 1024;

/** A key-encryption key source: the KMS (standard key provider) or the site itself (native). */
export interface KeyEncryptionKeySource {
  readonly providerId: string; // the key provider's external id, e.g. "kp-ams-acme"
  /** Creates a new KEK and returns its id (a KMIP unique identifier for a standard provider). */
  createKey(): Promise<string>;
  /** The KEK's bytes (32), held only in memory. Throws KeyProviderError when it cannot. */
  getKey(keyId: string): Promise<Buffer>;
  /**
   * Asks the provider itself for the key, past any cache, and forgets it (the pre-failover
   * check); without it, getKey is asked and its answer wiped. Throws KeyProviderError.
   */
  probeKey?(keyId: string): Promise<void>;
}

export type KeyProviderErrorCode =
  | "unreachable" // KMS down, refused, timed out
  | "key-not-found" // the KMS no longer has that key
  | "permission-denied" // the KMS refused this client
  | "bad-response"; // garbage, wrong certificate, protocol error

export class KeyProviderError extends Error {
  constructor(
    readonly code: KeyProviderErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "KeyProviderError";
  }
}

// Host errors and the disk I/O contracts belong to the platform interface (lib/platform).
export { HostError, type HostErrorCode } from "../../errors";
export { SECTOR_SIZE, type DiskArea, type DiskReader, type DiskWriter } from "../../disk-io";

/** What a guest writes through: the live disk, with CBT recording every write (INV-4). */
export interface GuestDisk {
  readonly capacityBytes: number;
  /** Writes cleartext at `offset` (both offset and length multiples of SECTOR_SIZE). */
  write(offset: number, data: Buffer): Promise<void>;
}
