// One registry of every on-disk format of the lab's data plane: file suffixes, magic numbers,
// versions and fixed sizes. Readers check magic and version against this table and refuse
// anything else, so a format change is one edit here plus a version bump — never a silent
// reinterpretation of old files. Byte layouts are described in README.md.

/** File name suffixes, as vSphere names a VM's files on a datastore (where vSphere has one). */
export const FILE_SUFFIX = {
  /** Disk descriptor (text), vSphere's `<name>.vmdk`. */
  descriptor: ".vmdk",
  /** Flat extent of a base disk: raw sectors, sparse, length = capacity. */
  flatExtent: "-flat.vmdk",
  /** Extent of a snapshot delta disk (vSphere: `<name>-000001-delta.vmdk`). */
  deltaExtent: "-delta.vmdk",
  /** Allocation map of an extent (1 MiB blocks). Not a vSphere file: VMFS keeps this itself. */
  allocationMap: "-alloc.map",
  /** Changed block tracking file, vSphere's `<name>-ctk.vmdk`. */
  changeTracking: "-ctk.vmdk",
  /** VM configuration in vSphere's `.vmx` syntax (vmx-file.ts). */
  vmConfig: ".vmx",
  /** NVRAM (UEFI variables, vTPM state). */
  nvram: ".nvram",
} as const;

/** Magic numbers: the first four bytes of each binary file, ASCII so a hex dump names the file. */
export const MAGIC = {
  allocationMap: Buffer.from("SRAM", "ascii"),
  changeTracking: Buffer.from("SRCT", "ascii"),
  nvram: Buffer.from("SRNV", "ascii"),
} as const;

export const FORMAT_VERSION = {
  descriptor: 1,
  allocationMap: 1,
  changeTracking: 1,
  nvram: 1,
  /** First byte of the decoded `encryption.bundle`. */
  bundle: 1,
  nativeKeyStore: 1,
  /** `strongroom.formatVersion` in the .vmx. */
  vmConfig: 1,
  /** vm-inventory.json of LabDataPlane. */
  vmInventory: 1,
} as const;

/** Fixed header sizes (bytes) of the binary files. */
export const HEADER_SIZE = {
  /** magic(4) version(1) reserved(3) blockCount(u32 LE) reserved(4) */
  allocationMap: 16,
  /** magic(4) version(1) reserved(3) blockCount(u32) currentSeq(u32) uuid(16) reserved(4) */
  changeTracking: 36,
  /** magic(4) version(1) flags(1) reserved(2) nonce(12) tag(16) */
  nvram: 36,
} as const;

/** NVRAM header flag: the body is AES-256-GCM ciphertext. */
export const NVRAM_FLAG_ENCRYPTED = 0x01;

/** `encryption.bundle` text form: this prefix, then base64 of the binary bundle. */
export const BUNDLE_PREFIX = "strongroom:bundle/v1:";

/** Key and wrapped-key sizes of the key chain (bytes). */
export const KEY_SIZE = {
  kek: 32, // AES-256, from the key provider
  vmKey: 32, // AES-256, wraps the DEKs and the NVRAM key
  dek: 64, // AES-256-XTS: two AES-256 keys
  nvramKey: 32, // AES-256-GCM
  /** RFC 3394 output is the input plus one 8-byte integrity block. */
  wrapOverhead: 8,
} as const;

/** The native key provider's files, in the folder given to it. */
export const NATIVE_KEY_PROVIDER_FILES = {
  siteSecret: "site-secret.key",
  keyStore: "native-keys.json",
} as const;
