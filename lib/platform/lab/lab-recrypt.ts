// Changing a lab VM's encryption on its files (VME-1), as vSphere does for a powered-off VM
// without snapshots:
//
//   encrypt / decrypt  every disk is rewritten: a new disk file set is made beside the old one,
//                      the cleartext of each written block is copied into it (encrypted under a
//                      new DEK, or not), the NVRAM is re-sealed, and the .vmx is rewritten to name
//                      the new files — that atomic rename is the commit. Only then are the old files
//                      deleted. A crash before the commit leaves the old VM intact plus orphans
//                      (removed by the next attempt); after it, the new VM plus orphans.
//   re-key (shallow)   the same VM key, DEKs and NVRAM key, wrapped under a new KEK (possibly of
//                      another provider): only the .vmx changes; disks and NVRAM are untouched.
//
// New files alternate between `<name>` and `<name>-recrypt`, so the VM's disk file names change
// with each encrypt/decrypt (the inventory reports them from the .vmx).
//
// CBT: a rewritten disk starts a new change tracker, i.e. CBT is reset — every earlier change id
// becomes unknown (HostError FileFault) and the next backup reads the disk in full (BKP-2). That is
// what vSphere does when a disk is re-created by encryption; keeping the old ids would be correct
// for cleartext but not for the stored bytes, which all changed.

import { rm } from "node:fs/promises";
import path from "node:path";
import {
  CBT_BLOCK_SIZE,
  FILE_SUFFIX,
  VirtualDisk,
  formatVmx,
  resolveDatastorePath,
  sealNvram,
  writeFileAtomic,
  type LabDataPlane,
  type LabVm,
  type VmConfig,
  type VmDiskConfig,
  type VmSecrets,
} from "./data-plane";

const RECRYPT_SUFFIX = "-recrypt";

/** The keys the rewritten VM gets: null secrets = unencrypted. */
export interface RecryptTarget {
  secrets: VmSecrets | null;
  keyProviderId: string | null;
  keyId: string | null;
  bundle: string | null;
}

/**
 * Rewrites every disk and the NVRAM of `vm` under `target`. The VM must be powered off, without a
 * snapshot, and unlocked if it is encrypted (its cleartext is read). Closes the VM: reopen it with
 * dataPlane.vm() afterwards.
 */
export async function recryptVm(dataPlane: LabDataPlane, vm: LabVm, target: RecryptTarget): Promise<void> {
  const root = dataPlane.datastoresRoot;
  const cfg = vm.config;
  const made: string[] = [];
  let committed = false;
  try {
    const disks: VmDiskConfig[] = [];
    for (const d of cfg.disks) {
      const where = resolveDatastorePath(root, d.fileName);
      const base = toggled(where.baseName);
      const files = diskFiles(where.dir, base);
      await removeAll(files); // orphans of an interrupted attempt: the .vmx does not name them
      made.push(...files);
      const dek = target.secrets?.diskKeys.get(d.deviceKey);
      const fresh = await VirtualDisk.create(where.dir, base, { capacityBytes: vm.disk(d.deviceKey).capacityBytes, encrypted: !!dek, keyId: target.keyId, dek });
      try {
        if (dek) fresh.unlock(dek);
        await copyWrittenBlocks(vm.disk(d.deviceKey), fresh);
        await fresh.baseFile.sync();
      } finally {
        await fresh.close();
      }
      disks.push({ ...d, fileName: renamed(d.fileName, base + FILE_SUFFIX.descriptor), encrypted: !!dek });
    }

    const nvram = resolveDatastorePath(root, cfg.nvramFileName);
    const nvramName = toggled(path.basename(nvram.file, FILE_SUFFIX.nvram)) + FILE_SUFFIX.nvram;
    const nvramFile = path.join(nvram.dir, nvramName);
    made.push(nvramFile);
    const image = await vm.readNvram();
    try {
      await writeFileAtomic(nvramFile, sealNvram(image, target.secrets?.nvramKey ?? null), 0o600);
    } finally {
      image.fill(0);
    }

    const next: VmConfig = {
      ...cfg,
      nvramFileName: renamed(cfg.nvramFileName, nvramName),
      encrypted: target.secrets !== null,
      keyProviderId: target.keyProviderId,
      keyId: target.keyId,
      encryptionBundle: target.bundle,
      disks,
      snapshot: null,
    };
    await dataPlane.closeVm(cfg.vmId);
    await writeFileAtomic(resolveDatastorePath(root, vm.vmxFileName).file, formatVmx(next)); // the commit
    committed = true;
  } finally {
    if (!committed) await removeAll(made);
  }
  // The old files are no longer named by the .vmx; a failure to delete them leaves orphans only.
  const old = cfg.disks.flatMap((d) => {
    const where = resolveDatastorePath(root, d.fileName);
    return diskFiles(where.dir, where.baseName);
  });
  await removeAll([...old, resolveDatastorePath(root, cfg.nvramFileName).file]).catch(() => undefined);
}

/** Shallow re-key: a new .vmx with the re-wrapped bundle (the caller made it with rewrapBundle). */
export async function rewriteKeys(dataPlane: LabDataPlane, vm: LabVm, keys: { keyProviderId: string; keyId: string; bundle: string }): Promise<void> {
  const next: VmConfig = { ...vm.config, keyProviderId: keys.keyProviderId, keyId: keys.keyId, encryptionBundle: keys.bundle };
  await dataPlane.closeVm(vm.config.vmId);
  await writeFileAtomic(resolveDatastorePath(dataPlane.datastoresRoot, vm.vmxFileName).file, formatVmx(next));
}

/** Copies the cleartext of every written block (holes stay holes). Both disks must be unlocked. */
async function copyWrittenBlocks(from: VirtualDisk, to: VirtualDisk): Promise<void> {
  const buffer = Buffer.alloc(CBT_BLOCK_SIZE);
  for (const block of from.allocatedBlocks("live")) {
    const start = block * CBT_BLOCK_SIZE;
    const part = buffer.subarray(0, Math.min(CBT_BLOCK_SIZE, from.capacityBytes - start));
    await from.readInto(start, part);
    await to.write(start, part);
  }
  buffer.fill(0); // it held cleartext of an encrypted disk
}

function toggled(base: string): string {
  return base.endsWith(RECRYPT_SUFFIX) ? base.slice(0, -RECRYPT_SUFFIX.length) : base + RECRYPT_SUFFIX;
}

/** "[ds] vm/old.vmdk" → "[ds] vm/<file>". */
function renamed(fileName: string, file: string): string {
  return fileName.slice(0, fileName.lastIndexOf("/") + 1) + file;
}

function diskFiles(dir: string, base: string): string[] {
  return [FILE_SUFFIX.descriptor, FILE_SUFFIX.flatExtent, FILE_SUFFIX.allocationMap, FILE_SUFFIX.changeTracking].map((s) => path.join(dir, base + s));
}

async function removeAll(files: string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true });
}
