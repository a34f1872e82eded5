// A lab VM with real files: its home folder (`<vm>.vmx`, `<vm>.nvram`) and its virtual disks,
// possibly on other datastores. For an encrypted VM the host holds the keys only while the VM is
// unlocked: unlock() asks the VM's key provider for the KEK and opens the encryption.bundle
// (VME-1…3). If the provider cannot answer, the VM stays locked — it cannot "power on", its disks
// cannot be read in cleartext — but its raw files and snapshots still work (what SAN sees).

import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { BundleError, generateDek, generateVmSecrets, openBundle, sealBundle, wipeVmSecrets, type VmSecrets } from "./bundle";
import { datastorePath, resolveDatastorePath } from "./datastore-path";
import { writeFileAtomic } from "./atomic-file";
import type { ViewMode } from "./disk-view";
import { FILE_SUFFIX } from "./formats";
import { buildNvramImage, openNvram, sealNvram } from "./nvram";
import { createVmSnapshot, openSnapshotReader, removeVmSnapshot, snapshotChangedAreas, type SnapshotRecord } from "./snapshot";
import { HostError, KeyProviderError, type DiskArea, type DiskReader, type KeyEncryptionKeySource } from "./types";
import { VirtualDisk } from "./virtual-disk";
import { formatVmx, parseVmx, type VmConfig } from "./vmx-file";

export interface CreateVmSpec {
  vmId: string; // "vm-1042"
  name: string; // "web-01": also the home folder and file names
  homeDatastore: string; // datastore name, e.g. "ds-prod-vmfs-01"
  disks: { deviceKey: number; capacityBytes: number; datastore?: string; label?: string; encrypted?: boolean }[];
  vtpm?: boolean;
  /**
   * Encrypt the VM with a KEK of `source`: a new key, or `keyId` (same key, RST-4), or restore the
   * original secrets from `bundle` (RST-5; its keyId is reused, disks missing from it get new DEKs).
   */
  encryption?: { source: KeyEncryptionKeySource; keyId?: string; bundle?: string };
  /** NVRAM file bytes to restore as they are (RST-5); otherwise a generic NVRAM is made. */
  nvramFile?: Buffer;
  /** Seed of the generic NVRAM content. */
  seed?: string;
}

export interface VmEncryptionInfo {
  encrypted: boolean;
  keyProviderId: string | null;
  keyId: string | null;
  encryptionBundle: string | null;
}

export class LabVm {
  private secrets: VmSecrets | null = null;

  private constructor(
    private readonly datastoresRoot: string,
    readonly vmxFileName: string,
    private cfg: VmConfig,
    private readonly diskMap: Map<number, VirtualDisk>,
  ) {}

  static async create(datastoresRoot: string, spec: CreateVmSpec): Promise<LabVm> {
    if (spec.vtpm && !spec.encryption) throw new HostError("InvalidArgument", "a vTPM requires VM encryption (INV-2)");
    if (spec.disks.some((d) => d.encrypted && !spec.encryption)) throw new HostError("InvalidArgument", "an encrypted disk needs an encrypted VM home");
    const home = (file: string) => datastorePath(spec.homeDatastore, `${spec.name}/${file}`);
    const vmxFileName = home(spec.name + FILE_SUFFIX.vmConfig);
    const vmx = resolveDatastorePath(datastoresRoot, vmxFileName);
    if (await readFile(vmx.file).then(() => true, () => false)) throw new HostError("InvalidState", `${vmxFileName} already exists`);

    const encryptedDisks = spec.disks.filter((d) => spec.encryption && d.encrypted !== false).map((d) => d.deviceKey);
    const { secrets, keyId, bundle } = await LabVm.prepareKeys(spec, encryptedDisks);
    const cfg: VmConfig = {
      vmId: spec.vmId,
      name: spec.name,
      nvramFileName: home(spec.name + FILE_SUFFIX.nvram),
      vtpm: spec.vtpm ?? false,
      encrypted: !!spec.encryption,
      keyProviderId: spec.encryption?.source.providerId ?? null,
      keyId,
      encryptionBundle: bundle,
      disks: spec.disks.map((d, i) => ({
        deviceKey: d.deviceKey,
        fileName: datastorePath(d.datastore ?? spec.homeDatastore, `${spec.name}/${spec.name}${i === 0 ? "" : `_${i}`}${FILE_SUFFIX.descriptor}`),
        label: d.label ?? `Hard disk ${i + 1}`,
        encrypted: encryptedDisks.includes(d.deviceKey),
      })),
      snapshot: null,
    };
    await mkdir(vmx.dir, { recursive: true });
    const disks = new Map<number, VirtualDisk>();
    for (const [i, d] of cfg.disks.entries()) {
      const where = resolveDatastorePath(datastoresRoot, d.fileName);
      await mkdir(where.dir, { recursive: true });
      const dek = secrets?.diskKeys.get(d.deviceKey);
      const disk = await VirtualDisk.create(where.dir, where.baseName, { capacityBytes: spec.disks[i].capacityBytes, encrypted: d.encrypted, keyId, dek });
      if (dek) disk.unlock(dek);
      disks.set(d.deviceKey, disk);
    }
    const nvram = spec.nvramFile ?? sealNvram(buildNvramImage({ vtpm: cfg.vtpm, seed: spec.seed ?? spec.vmId }), secrets?.nvramKey ?? null);
    await writeFileAtomic(resolveDatastorePath(datastoresRoot, cfg.nvramFileName).file, nvram, 0o600);
    await writeFileAtomic(vmx.file, formatVmx(cfg)); // last: the VM exists once its .vmx does
    const vm = new LabVm(datastoresRoot, vmxFileName, cfg, disks);
    vm.secrets = secrets;
    return vm;
  }

  private static async prepareKeys(spec: CreateVmSpec, encryptedDisks: number[]) {
    const enc = spec.encryption;
    if (!enc) return { secrets: null, keyId: null, bundle: null };
    return withKeyProvider(async () => {
      if (enc.bundle) {
        const { header, secrets } = await openBundle(enc.bundle, enc.source);
        const missing = encryptedDisks.filter((k) => !secrets.diskKeys.has(k));
        for (const k of missing) secrets.diskKeys.set(k, generateDek());
        const bundle = missing.length ? await sealBundle(secrets, enc.source, header.keyId) : enc.bundle;
        return { secrets, keyId: header.keyId, bundle };
      }
      const keyId = enc.keyId ?? (await enc.source.createKey());
      const secrets = generateVmSecrets(encryptedDisks);
      return { secrets, keyId, bundle: await sealBundle(secrets, enc.source, keyId) };
    });
  }

  /** Opens a VM from its .vmx (and the snapshot deltas it names). Starts locked. */
  static async open(datastoresRoot: string, vmxFileName: string): Promise<LabVm> {
    const vmx = resolveDatastorePath(datastoresRoot, vmxFileName);
    const text = await readFile(vmx.file, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw err.code === "ENOENT" ? new HostError("NotFound", `no VM configuration ${vmxFileName}`) : err;
    });
    const cfg = parseVmx(text, vmxFileName);
    const disks = new Map<number, VirtualDisk>();
    for (const d of cfg.disks) {
      const where = resolveDatastorePath(datastoresRoot, d.fileName);
      const delta = cfg.snapshot?.disks.find((s) => s.deviceKey === d.deviceKey)?.deltaName;
      disks.set(d.deviceKey, await VirtualDisk.open(where.dir, where.baseName, delta));
    }
    return new LabVm(datastoresRoot, vmxFileName, cfg, disks);
  }

  get config(): Readonly<VmConfig> {
    return this.cfg;
  }
  get locked(): boolean {
    return this.cfg.encrypted && this.secrets === null;
  }
  get disks(): ReadonlyMap<number, VirtualDisk> {
    return this.diskMap;
  }

  encryptionInfo(): VmEncryptionInfo {
    const { encrypted, keyProviderId, keyId, encryptionBundle } = this.cfg;
    return { encrypted, keyProviderId, keyId, encryptionBundle };
  }

  /**
   * Loads the VM's keys from its key provider (what vCenter does before a host can open it).
   * HostError "KeyProviderUnavailable" (cause: the KeyProviderError) when the provider cannot
   * answer; "CryptoKeyMismatch" when the provider's key does not open the bundle.
   */
  async unlock(source: KeyEncryptionKeySource): Promise<void> {
    if (!this.cfg.encrypted || this.secrets) return;
    const { secrets } = await withKeyProvider(() => openBundle(this.cfg.encryptionBundle!, source));
    try {
      for (const [deviceKey, disk] of this.diskMap) {
        const dek = secrets.diskKeys.get(deviceKey);
        if (disk.encrypted && !dek) throw new HostError("CryptoKeyMismatch", `the encryption.bundle has no key for disk ${deviceKey}`);
        if (dek) disk.unlock(dek);
      }
    } catch (err) {
      wipeVmSecrets(secrets);
      this.lock();
      throw err;
    }
    this.secrets = secrets;
  }

  /** Forgets every key of the VM. */
  lock(): void {
    for (const disk of this.diskMap.values()) disk.lock();
    if (this.secrets) wipeVmSecrets(this.secrets);
    this.secrets = null;
  }

  disk(deviceKey: number): VirtualDisk {
    const d = this.diskMap.get(deviceKey);
    if (!d) throw new HostError("NotFound", `VM ${this.cfg.vmId} has no disk ${deviceKey}`);
    return d;
  }

  /**
   * Adds a new, empty disk (AddVirtualDisk, RST-7): `<home name>_r<device key>.vmdk` on its
   * datastore. An encrypted disk needs an encrypted, unlocked VM and the VM's key provider: a new
   * DEK goes into the encryption.bundle, sealed again under the VM's KEK. The .vmx names the disk
   * last, so a failure part-way leaves the VM as it was (and at most orphan files).
   */
  async addDisk(d: { deviceKey: number; capacityBytes: number; datastore: string; label: string; encrypted: boolean }, source: KeyEncryptionKeySource | null): Promise<void> {
    if (this.diskMap.has(d.deviceKey)) throw new HostError("InvalidArgument", `VM ${this.cfg.vmId} already has disk ${d.deviceKey}`);
    if (this.cfg.snapshot) throw new HostError("InvalidState", `VM ${this.cfg.vmId} has a snapshot: remove it first`);
    let dek: Buffer | undefined;
    let bundle = this.cfg.encryptionBundle;
    if (d.encrypted) {
      if (!this.cfg.encrypted) throw new HostError("InvalidArgument", "an encrypted disk needs an encrypted VM home");
      if (!this.secrets || !source) throw new HostError("InvalidState", `VM ${this.cfg.vmId} is locked: its keys are needed to add an encrypted disk`);
      dek = generateDek();
      const secrets = this.secrets;
      const next: VmSecrets = { ...secrets, diskKeys: new Map(secrets.diskKeys).set(d.deviceKey, dek) };
      bundle = await withKeyProvider(() => sealBundle(next, source, this.cfg.keyId!));
      secrets.diskKeys.set(d.deviceKey, dek);
    }
    const fileName = datastorePath(d.datastore, `${this.cfg.name}/${this.cfg.name}_r${d.deviceKey}${FILE_SUFFIX.descriptor}`);
    const where = resolveDatastorePath(this.datastoresRoot, fileName);
    await mkdir(where.dir, { recursive: true });
    const disk = await VirtualDisk.create(where.dir, where.baseName, { capacityBytes: d.capacityBytes, encrypted: d.encrypted, keyId: d.encrypted ? this.cfg.keyId : null, dek });
    if (dek) disk.unlock(dek);
    try {
      await this.saveConfig({ ...this.cfg, encryptionBundle: bundle, disks: [...this.cfg.disks, { deviceKey: d.deviceKey, fileName, label: d.label, encrypted: d.encrypted }].sort((a, b) => a.deviceKey - b.deviceKey) });
    } catch (err) {
      await disk.close();
      await removeDiskFiles(disk);
      throw err;
    }
    this.diskMap.set(d.deviceKey, disk);
  }

  /** Detaches a disk and deletes its files (RemoveVirtualDisk with destroy). The VM keeps at least one disk. */
  async removeDisk(deviceKey: number): Promise<void> {
    const disk = this.disk(deviceKey);
    if (this.cfg.snapshot) throw new HostError("InvalidState", `VM ${this.cfg.vmId} has a snapshot: remove it first`);
    if (this.cfg.disks.length === 1) throw new HostError("InvalidArgument", `VM ${this.cfg.vmId} has only this disk: a VM keeps at least one`);
    await this.saveConfig({ ...this.cfg, disks: this.cfg.disks.filter((d) => d.deviceKey !== deviceKey) });
    this.diskMap.delete(deviceKey);
    this.secrets?.diskKeys.delete(deviceKey);
    await disk.close();
    await removeDiskFiles(disk);
  }

  /** Takes the VM's snapshot (one at a time: a second is InvalidState) and records it in the .vmx. */
  async createSnapshot(name: string): Promise<SnapshotRecord> {
    const record = await createVmSnapshot(this.diskMap, name, this.cfg.snapshot);
    await this.saveConfig({ ...this.cfg, snapshot: record });
    return record;
  }

  /** Merges and deletes the snapshot (InvalidState while one of its disks is being read). */
  async removeSnapshot(snapshotId: string): Promise<void> {
    this.requireSnapshot(snapshotId);
    await removeVmSnapshot(this.diskMap, () => this.saveConfig({ ...this.cfg, snapshot: null }));
  }

  /** A reader of one disk as frozen by the snapshot: "raw" (stored bytes) or "cleartext". */
  openSnapshotDisk(snapshotId: string, deviceKey: number, mode: ViewMode): DiskReader {
    this.requireSnapshot(snapshotId);
    const disk = this.disk(deviceKey);
    if (mode === "cleartext" && !disk.unlocked) throw new HostError("KeyProviderUnavailable", `VM ${this.cfg.vmId} is locked: its keys are not loaded`);
    return openSnapshotReader(disk, mode);
  }

  /** QueryChangedDiskAreas(snapshot, disk, startOffset, changeId). */
  queryChangedAreas(snapshotId: string, deviceKey: number, changeId: string, startOffset = 0): DiskArea[] {
    this.requireSnapshot(snapshotId);
    return snapshotChangedAreas(this.disk(deviceKey), changeId, startOffset);
  }

  /** The NVRAM file as stored (encrypted for an encrypted VM): what a backup keeps (BKP-4). */
  async readNvramFile(): Promise<Buffer> {
    return readFile(resolveDatastorePath(this.datastoresRoot, this.cfg.nvramFileName).file);
  }

  /** The NVRAM image in cleartext (the VM must be unlocked if encrypted). */
  async readNvram(): Promise<Buffer> {
    return openNvram(await this.readNvramFile(), this.secrets?.nvramKey ?? null);
  }

  async close(): Promise<void> {
    this.lock();
    for (const disk of this.diskMap.values()) await disk.close();
  }

  /** Closes the VM and deletes its files (a restore over it, or a removed replica). */
  async destroy(): Promise<void> {
    await this.close();
    const files = new Set<string>();
    for (const disk of this.diskMap.values()) {
      const all = [disk.baseFile, disk.delta].flatMap((f) => (f ? f.fileNames : []));
      for (const f of [...all, disk.name + FILE_SUFFIX.changeTracking]) files.add(path.join(disk.dir, f));
    }
    for (const f of files) await rm(f, { force: true });
    await rm(resolveDatastorePath(this.datastoresRoot, this.vmxFileName).dir, { recursive: true, force: true });
  }

  private requireSnapshot(snapshotId: string): void {
    if (this.cfg.snapshot?.id !== snapshotId) throw new HostError("NotFound", `VM ${this.cfg.vmId} has no snapshot ${snapshotId}`);
  }

  private async saveConfig(next: VmConfig): Promise<void> {
    await writeFileAtomic(resolveDatastorePath(this.datastoresRoot, this.vmxFileName).file, formatVmx(next));
    this.cfg = next;
  }
}

async function removeDiskFiles(disk: VirtualDisk): Promise<void> {
  const all = [disk.baseFile, disk.delta].flatMap((f) => (f ? f.fileNames : []));
  for (const f of [...all, disk.name + FILE_SUFFIX.changeTracking]) await rm(path.join(disk.dir, f), { force: true });
}

/** Key provider failures → HostError, as a host reports them (VME-3); the cause keeps the detail. */
async function withKeyProvider<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof KeyProviderError) {
      throw Object.assign(new HostError("KeyProviderUnavailable", `the VM's key provider cannot provide its key: ${err.message}`), { cause: err });
    }
    if (err instanceof BundleError) {
      throw Object.assign(new HostError("CryptoKeyMismatch", `the encryption.bundle cannot be opened: ${err.message}`), { cause: err });
    }
    throw err;
  }
}
