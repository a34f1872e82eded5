// Errors a platform answers with, named as vSphere/VDDK does where a name exists. Owned by the
// platform interface, so the engine and services tell "the host refused" from bugs without knowing
// which connector (the lab, a real vCenter) they talk to.

export type HostErrorCode =
  | "NotFound" // no such VM, disk, snapshot, datastore
  | "InvalidArgument" // read beyond capacity, bad offset, a spec vSphere would reject
  | "FileFault" // unknown or reset change id (QueryChangedDiskAreas)
  | "InvalidState" // e.g. snapshot already exists, VM powered on during an offline op
  | "DuplicateName" // a VM of that name already exists in the folder
  | "InsufficientSpace" // the datastore cannot hold what is asked
  | "NoPermission" // missing Cryptographer.* privilege
  | "CryptoKeyMismatch" // HotAdd from a proxy encrypted with another key provider
  | "TransportNotSupported" // SAN read/write of an encrypted disk
  | "KeyProviderUnavailable" // the VM's key provider cannot be reached (VME-3)
  | "Unreachable"; // the platform (vCenter, host) does not answer

export class HostError extends Error {
  constructor(
    readonly code: HostErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "HostError";
  }
}
