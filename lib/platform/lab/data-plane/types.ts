// Contracts of the lab's data plane (issue: "Real bytes under the lab"; SPEC INV-4, VME-1…3,
// TRN-1…4). The lab is the simulated vSphere: these types describe how its hosts keep virtual
// disks on datastores, encrypt them like VM Encryption does, track changed blocks, take snapshots
// and serve disks to backup proxies through transport modes. Pure Node: no Next.js, no Prisma.

/** Bytes per sector (VM Encryption encrypts each 512-byte sector with AES-256-XTS). */
export const SECTOR_SIZE = 512;
/** Changed block tracking granularity; also the unit of the delta files of snapshots. */
export const CBT_BLOCK_SIZE = 1024 * 1024;

/** A key-encryption key source: the KMS (standard key provider) or the site itself (native). */
export interface KeyEncryptionKeySource {
  readonly providerId: string; // the key provider's external id, e.g. "kp-ams-acme"
  /** Creates a new KEK and returns its id (a KMIP unique identifier for a standard provider). */
  createKey(): Promise<string>;
  /** The KEK's bytes (32), held only in memory. Throws KeyProviderError when it cannot. */
  getKey(keyId: string): Promise<Buffer>;
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

/** Errors a host answers with, named as vSphere/VDDK does where a name exists. */
export type HostErrorCode =
  | "NotFound" // no such VM, disk, snapshot
  | "InvalidArgument" // read beyond capacity, bad offset
  | "FileFault" // unknown or reset change id (QueryChangedDiskAreas)
  | "InvalidState" // e.g. snapshot already exists, VM powered on during an offline op
  | "NoPermission" // missing Cryptographer.* privilege
  | "CryptoKeyMismatch" // HotAdd from a proxy encrypted with another key provider
  | "TransportNotSupported" // SAN read of an encrypted disk
  | "KeyProviderUnavailable"; // the VM's key provider cannot be reached (VME-3)

export class HostError extends Error {
  constructor(
    readonly code: HostErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "HostError";
  }
}

/** A read-only view of a disk at a point in time (a snapshot), in cleartext or raw. */
export interface DiskReader {
  readonly capacityBytes: number;
  /** Reads `length` bytes at `offset` (both multiples of SECTOR_SIZE) into a new Buffer. */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * Fills `target` (its length a multiple of SECTOR_SIZE) from `offset`, allocating nothing:
   * the engine's hot path, with buffers from its own pool. Same errors as read().
   */
  readInto(offset: number, target: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** What a guest writes through: the live disk, with CBT recording every write (INV-4). */
export interface GuestDisk {
  readonly capacityBytes: number;
  /** Writes cleartext at `offset` (both offset and length multiples of SECTOR_SIZE). */
  write(offset: number, data: Buffer): Promise<void>;
}

/** One changed area, as VADP's QueryChangedDiskAreas returns them. */
export interface DiskArea {
  start: number; // bytes
  length: number; // bytes
}
