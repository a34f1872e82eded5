// The backup pipeline over the repository: proxy/transport selection, one disk, one VM, restore
// of a disk to an image file. Pure Node like the rest of lib/engine; it talks to the platform only
// through the connector's types and the VmBackupHost interface.
export * from "./proxy-selection";
export * from "./backup-disk";
export * from "./backup-vm";
export * from "./restore-disk";
