// Public surface of the lab's data plane: real virtual-disk bytes under the simulated vSphere.
// The lab connector and the transport layer (lib/platform/lab/transport) import from here only.
// See README.md for file layouts, the key chain and what is simplified.

export * from "./types";
export { FILE_SUFFIX, FORMAT_VERSION, KEY_SIZE, MAGIC } from "./formats";

// Host-level objects: one LabDataPlane per lab folder, one LabVm per VM with files.
export { LabDataPlane } from "./lab-data-plane";
export { LabVm, type CreateVmSpec, type VmEncryptionInfo } from "./lab-vm";
export { formatVmx, parseVmx, type VmConfig, type VmDiskConfig } from "./vmx-file";
export { writeFileAtomic } from "./atomic-file";
export { datastorePath, resolveDatastorePath, type ResolvedPath } from "./datastore-path";

// Disks, change tracking, snapshots.
export { VirtualDisk } from "./virtual-disk";
export { DiskFile, type CreateDiskOptions } from "./disk-file";
export type { ViewMode } from "./disk-view";
export { ChangeTracker, blocksToAreas } from "./cbt";
export { createVmSnapshot, removeVmSnapshot, snapshotDisk, consolidateDisk, openSnapshotReader, snapshotChangedAreas } from "./snapshot";
export type { SnapshotRecord, DiskSnapshotRecord } from "./snapshot";

// Guest activity.
export { DEFAULT_MIX, changeBlocks, fillDisk, planBlocks, type BlockKind, type WorkloadMix, type WorkloadReport } from "./workload";

// Keys and encryption.
export { NativeKeyProvider, type NativeKeyProviderOptions } from "./native-key-provider";
export { DEFAULT_KEK_CACHE_TTL_MS, KEK_USAGE_MASK, KmipKeyProvider, keyProviderErrorFrom, type KmipKeyProviderOptions, type KmsKeyClient } from "./kmip-key-provider";
export { BundleError, generateDek, generateVmSecrets, inspectBundle, openBundle, rewrapBundle, sealBundle, wipeVmSecrets } from "./bundle";
export type { BundleErrorCode, BundleHeader, VmSecrets } from "./bundle";
export { NVRAM_LAYOUT, NVRAM_SIZE, buildNvramImage, hasVtpm, isNvramEncrypted, openNvram, readNvramFile, sealNvram, writeNvramFile } from "./nvram";
export { KeyWrapError, unwrapKey, wrapKey } from "./key-wrap";
export { XtsCipher } from "./xts";
