// The lab's runtime operations (connector.ts RuntimeOperations) on real files: a VM's files are
// created the first time an operation needs them (encrypted VMs under a new KEK of their key
// provider, so their keyId becomes a real one), power state lives in lab-state.json, encryption
// state in the VM's .vmx. Operations on one VM are serialised; different VMs run concurrently.
//
// Keys follow vSphere's rules: a powered-on encrypted VM has its keys loaded on its host; powering
// off drops them; powering on fetches them from the key provider and fails with HostError
// "KeyProviderUnavailable" when it cannot answer (VME-3). After a restart of the lab process a
// powered-on VM's keys are fetched again on first use (the host would still hold them).
//
// Two processes may share a lab folder (the console server and `npm run lab`): each change bumps
// the VM's generation in lab-state.json, and the other process re-reads that VM's .vmx and reopens
// its files before its next operation on it (lab-state.ts). What is not coordinated: operations
// on the same VM at the same instant from two processes, and a VM changed elsewhere while this
// process has a snapshot of it open for reading (it is reopened once the readers are closed).

import { randomInt } from "node:crypto";
import type { GuestWriteResult, PlatformVm, PowerState, RuntimeOperations, VmRuntime } from "../connector";
import type { HomeCryptoSpec, NewVmDisk } from "../restore-host";
import { planNetworks, type KeyCheck, type KeyCheckRequest } from "../failover-host";
import type { NetworkChoice } from "../network-mapping";
import { HostError, KeyProviderError, LabDataPlane, generateVmSecrets, rewrapBundle, sealBundle, wipeVmSecrets, type KeyEncryptionKeySource, type LabVm, type VirtualDisk } from "./data-plane";
import { KeyedQueue } from "./keyed-queue";
import { summarizeVmx, type EstateIndex, type VmFilesSummary, type VmOverride } from "./lab-estate-index";
import { guestDiskKey, guestWrite } from "./lab-guest";
import { keySourceFor, withKeyProvider, type LabKeySources } from "./lab-key-sources";
import { recryptVm, rewriteKeys } from "./lab-recrypt";
import { createVmFiles, describeVm, readVmxSummaries } from "./lab-vm-files";
import { LabStateStore, type EstateIdentity } from "./lab-state";

const MiB = 1024 * 1024;

export interface LabRuntimeOptions {
  folder: string;
  index: EstateIndex;
  estate: EstateIdentity;
  keySources: LabKeySources;
  diskDataMiB: number;
  /**
   * The copy-on-write of the guest's writes to one disk (replica points, lab-replica-points.ts):
   * asked inside the VM's queue before the guest writes it; null when nothing is to be preserved.
   */
  guestWritePreserver?: (labVm: LabVm, deviceKey: number) => Promise<GuestWritePreserver | null>;
}

/** Called ahead of each guest write of a disk (`before`), closed when the guest is done with it. */
export interface GuestWritePreserver {
  before(offset: number, length: number): Promise<void>;
  close(): Promise<void>;
}

/** What the backup host may do with one VM, inside that VM's queue. */
export interface HostVmAccess {
  vm: PlatformVm;
  labVm: LabVm;
  poweredOn: boolean;
  /** Loads the VM's keys from its provider (HostError KeyProviderUnavailable when it cannot answer). */
  unlock(): Promise<void>;
  /** Records that the VM's files changed (a snapshot taken or removed), for other processes. */
  changed(): Promise<void>;
  /** Whether a disk of the VM is open for writing (replica points are refused meanwhile). */
  writing: boolean;
}

export class LabRuntime implements RuntimeOperations {
  readonly dataPlane: LabDataPlane;
  private readonly state: LabStateStore;
  private readonly queue = new KeyedQueue();
  private withFiles: Set<string> | null = null;
  private summaries = new Map<string, VmFilesSummary>();
  private syncing: Promise<void> | null = null;
  /** VMs this process has opened in the data plane, and those another process changed since. */
  private readonly opened = new Set<string>();
  private readonly stale = new Set<string>();
  /** VMs created at run time that the index holds. */
  private readonly created = new Set<string>();
  /** Disks open for writing, per VM: such a VM keeps its keys, cannot power on or be deleted. */
  private readonly writers = new Map<string, number>();

  constructor(private readonly o: LabRuntimeOptions) {
    this.dataPlane = new LabDataPlane(o.folder);
    this.state = new LabStateStore(o.folder, o.estate);
  }

  vmRuntime(vmExternalId: string): Promise<VmRuntime> {
    return this.run(vmExternalId, async (vm) => this.describe(vm, await this.openIfFiles(vm)));
  }

  powerOn(vmExternalId: string): Promise<VmRuntime> {
    return this.run(vmExternalId, async (vm) => {
      if (this.powerState(vm) === "poweredOn") throw new HostError("InvalidState", `${vm.name} is already powered on`);
      if (this.writers.get(vm.externalId)) throw new HostError("InvalidState", `${vm.name} has a disk open for writing (a restore is running): wait for it to finish`);
      const labVm = await this.files(vm);
      await this.ensureKeys(vm, labVm); // VME-3: no key, no power-on
      await this.state.changed(vm.externalId, "poweredOn");
      return this.describe(vm, labVm);
    });
  }

  powerOff(vmExternalId: string): Promise<VmRuntime> {
    return this.run(vmExternalId, async (vm) => {
      if (this.powerState(vm) === "poweredOff") throw new HostError("InvalidState", `${vm.name} is already powered off`);
      const labVm = await this.openIfFiles(vm);
      labVm?.lock(); // the host forgets the VM's keys
      await this.state.changed(vm.externalId, "poweredOff");
      return this.describe(vm, labVm);
    });
  }

  guestWrites(vmExternalId: string, fraction: number, seed?: number): Promise<GuestWriteResult> {
    if (!(fraction > 0 && fraction <= 1)) return Promise.reject(new HostError("InvalidArgument", `fraction must be in (0, 1], got ${fraction}`));
    return this.run(vmExternalId, async (vm) => {
      const ps = this.powerState(vm);
      if (ps !== "poweredOn") throw new HostError("InvalidState", `${vm.name} is ${ps}: only a running guest writes`);
      const labVm = await this.files(vm);
      await this.ensureKeys(vm, labVm);
      const started = performance.now();
      const run = String(seed ?? randomInt(2 ** 31));
      const result: GuestWriteResult = { changedBlocks: 0, bytesWritten: 0, durationMs: 0 };
      for (const d of labVm.config.disks) {
        // Under replica points each block keeps its content at the newest point before the guest
        // first overwrites it (a failed-over replica's writes stay undoable, decision 0008).
        const preserver = (await this.o.guestWritePreserver?.(labVm, d.deviceKey)) ?? null;
        if (preserver && labVm.config.snapshot) {
          await preserver.close();
          // Removing the backup snapshot merges its delta into the base past the copy-on-write.
          throw new HostError("InvalidState", `${vm.name} holds replica points and a backup snapshot ("${labVm.config.snapshot.name}"): the lab's guest writes under replica points only once the backup has finished`);
        }
        try {
          const r = await guestWrite(labVm.disk(d.deviceKey), {
            fraction,
            seed: `${run}|${vm.externalId}|${d.deviceKey}`,
            fillSeed: `${vm.externalId}|${d.deviceKey}`,
            dataBytes: this.o.diskDataMiB * MiB,
            guestKey: vm.guestOsEncrypted ? guestDiskKey(vm.externalId) : null,
            beforeWrite: preserver ? (offset, length) => preserver.before(offset, length) : undefined,
          });
          result.changedBlocks += r.changedBlocks;
          result.bytesWritten += r.bytesWritten;
        } finally {
          await preserver?.close();
        }
      }
      await this.state.changed(vm.externalId);
      result.durationMs = Math.round(performance.now() - started);
      return result;
    });
  }

  encryptVm(vmExternalId: string, keyProviderExternalId: string): Promise<VmRuntime> {
    return this.run(vmExternalId, async (vm) => {
      this.requireOff(vm, "encrypt");
      const kp = this.o.index.keyProviderFor(vm, keyProviderExternalId);
      const incompatible = this.o.index.incompatibleWithEncryption(vm);
      if (incompatible.length > 0) {
        throw new HostError("InvalidState", `${vm.name} uses ${incompatible.map((d) => d.name).join(", ")}, not compatible with the VM Encryption Policy (INV-3)`);
      }
      const existing = await this.openIfFiles(vm);
      if (existing ? existing.config.encrypted : vm.encrypted) throw new HostError("InvalidState", `${vm.name} is already encrypted: re-key it instead`);
      const labVm = existing ?? (await this.materialize(vm));
      requireNoSnapshot(labVm);
      const source = await this.source(vm, kp.externalId);
      const target = await withKeyProvider(async () => {
        const keyId = await source.createKey();
        const secrets = generateVmSecrets(labVm.config.disks.map((d) => d.deviceKey));
        try {
          return { secrets, keyProviderId: source.providerId, keyId, bundle: await sealBundle(secrets, source, keyId) };
        } catch (err) {
          wipeVmSecrets(secrets);
          throw err;
        }
      });
      try {
        await recryptVm(this.dataPlane, labVm, target);
      } finally {
        wipeVmSecrets(target.secrets);
      }
      return this.reopened(vm);
    });
  }

  decryptVm(vmExternalId: string): Promise<VmRuntime> {
    return this.run(vmExternalId, async (vm) => {
      this.requireOff(vm, "decrypt");
      const existing = await this.openIfFiles(vm);
      if (existing ? existing.config.vtpm : vm.vtpm) {
        throw new HostError("InvalidState", `${vm.name} has a vTPM, which requires VM encryption: vSphere does not decrypt it (INV-2)`);
      }
      if (!(existing ? existing.config.encrypted : vm.encrypted)) throw new HostError("InvalidState", `${vm.name} is not encrypted`);
      const labVm = existing ?? (await this.materialize(vm));
      requireNoSnapshot(labVm);
      await this.ensureKeys(vm, labVm); // the cleartext is read with the VM's keys (VME-3)
      await recryptVm(this.dataPlane, labVm, { secrets: null, keyProviderId: null, keyId: null, bundle: null });
      return this.reopened(vm);
    });
  }

  rekeyVm(vmExternalId: string, keyProviderExternalId: string): Promise<VmRuntime> {
    return this.run(vmExternalId, async (vm) => {
      this.requireOff(vm, "re-key");
      const kp = this.o.index.keyProviderFor(vm, keyProviderExternalId);
      const existing = await this.openIfFiles(vm);
      if (!(existing ? existing.config.encrypted : vm.encrypted)) throw new HostError("InvalidState", `${vm.name} is not encrypted: encrypt it instead`);
      const labVm = existing ?? (await this.materialize(vm));
      requireNoSnapshot(labVm);
      const from = await this.source(vm, labVm.config.keyProviderId!);
      const to = await this.source(vm, kp.externalId);
      const keys = await withKeyProvider(async () => {
        const keyId = await to.createKey();
        return { keyProviderId: to.providerId, keyId, bundle: await rewrapBundle(labVm.config.encryptionBundle!, from, to, keyId) };
      });
      await rewriteKeys(this.dataPlane, labVm, keys);
      return this.reopened(vm);
    });
  }

  /**
   * Creates a VM planned by create-vm-rules.ts (a restore, later a replica): its files under the
   * asked crypto spec, then its record in lab-state.json — the VM exists once both do. A failure
   * part-way removes the files (no partial VM).
   */
  createVm(vm: PlatformVm, o: { crypto: HomeCryptoSpec; nvram?: Buffer }): Promise<PlatformVm> {
    return this.queue.run(vm.externalId, async () => {
      await this.sync();
      if (this.state.mismatch) throw new HostError("InvalidState", this.state.mismatch);
      if (this.o.index.findVm(vm.externalId)) throw new HostError("InvalidState", `VM ${vm.externalId} already exists`);
      // The lab names a VM's folder on each datastore after the VM (vSphere would add a suffix).
      const stores = new Set([vm.homeDatastoreExternalId, ...vm.disks.map((d) => d.datastoreExternalId)]);
      const clash = this.o.index.allVms().find((v) => v.name === vm.name && [v.homeDatastoreExternalId, ...v.disks.map((d) => d.datastoreExternalId)].some((id) => stores.has(id)));
      if (clash) throw new HostError("DuplicateName", `a VM named ${vm.name} (${clash.folder}) already has its files on the same datastore: the lab keeps one VM per name and datastore, pick another name`);
      const c = o.crypto;
      const source = c.kind === "none" ? null : await withKeyProvider(() => this.source(vm, c.keyProviderExternalId));
      const keys = c.kind === "key-id" ? { keyId: c.keyId } : c.kind === "saved-keys" ? { keyId: c.keyId, bundle: c.encryptionBundle } : {};
      const labVm = await createVmFiles(this.dataPlane, this.o.index, vm, source, { ...keys, nvramFile: o.nvram });
      const record: PlatformVm = { ...vm, keyId: labVm.config.keyId, disks: vm.disks.map((d) => ({ ...d, keyId: d.encrypted ? labVm.config.keyId : null })) };
      labVm.lock(); // powered off: the host forgets the keys
      this.opened.add(vm.externalId);
      try {
        await this.state.recordCreatedVm(record);
      } catch (err) {
        await this.dataPlane.removeVm(vm.externalId).catch(() => undefined);
        throw err;
      }
      this.o.index.addVm(structuredClone(record));
      this.created.add(vm.externalId);
      this.withFiles?.add(vm.externalId);
      this.summaries.set(vm.externalId, summarizeVmx(labVm.config));
      return record;
    });
  }

  /** Asks a site's key provider for one key, past caches, and forgets it (failover-host.ts). */
  async checkKey(q: KeyCheckRequest): Promise<KeyCheck> {
    const kp = this.o.index.estate.keyProviders.find((k) => k.externalId === q.keyProviderExternalId && k.siteExternalId === q.siteExternalId);
    if (!kp) throw new HostError("NotFound", `site ${q.siteExternalId} has no key provider ${q.keyProviderExternalId}`);
    try {
      const source = await this.o.keySources.forProvider({ keyProviderExternalId: kp.externalId, siteExternalId: kp.siteExternalId, kind: kp.kind, name: kp.name });
      if (source.probeKey) await source.probeKey(q.keyId);
      else (await source.getKey(q.keyId)).fill(0);
      return { ok: true };
    } catch (err) {
      if (!(err instanceof KeyProviderError)) throw err;
      const reason = err.code === "key-not-found" ? "key-not-found" : err.code === "permission-denied" ? "refused" : "unreachable";
      return { ok: false, reason, message: err.message };
    }
  }

  /** Reconnects a powered-off VM's adapters (failover-host.ts); the lab keeps them for VMs it created. */
  setNetworks(vmExternalId: string, choices: readonly NetworkChoice[]): Promise<PlatformVm> {
    return this.run(vmExternalId, async (vm) => {
      this.requireOff(vm, "reconnect the network adapters of");
      const nics = planNetworks(vm, choices, this.o.index.estate.networks);
      if (!this.state.createdVms[vm.externalId]) throw new HostError("InvalidArgument", `the lab reconnects the adapters of VMs created in it (restored or replicated VMs) only, and ${vm.name} is one of its estate`);
      const record: PlatformVm = { ...vm, nics };
      await this.state.recordDisks(record); // a created VM's whole record
      this.o.index.addVm(structuredClone(record));
      await this.state.changed(vm.externalId);
      return record;
    });
  }

  /** Deletes a powered-off VM and its files (a failed restore's leftovers, an overwritten original). */
  deleteVm(vmExternalId: string): Promise<void> {
    return this.run(vmExternalId, async (vm) => {
      this.requireOff(vm, "delete");
      if (this.writers.get(vm.externalId)) throw new HostError("InvalidState", `${vm.name} has a disk open for writing: wait for the restore to finish`);
      const labVm = await this.openIfFiles(vm);
      if (labVm) {
        if ([...labVm.disks.values()].some((d) => d.snapshotReaders > 0)) throw new HostError("InvalidState", `${vm.name} has a disk open for reading (a backup is running)`);
        await this.dataPlane.removeVm(vm.externalId);
      }
      this.opened.delete(vm.externalId);
      this.withFiles?.delete(vm.externalId);
      this.summaries.delete(vm.externalId);
      await this.state.recordDeletedVm(vm.externalId);
      this.o.index.removeVm(vm.externalId);
      this.created.delete(vm.externalId);
    });
  }

  /**
   * Adds an empty disk to a powered-off VM, or replaces one (RST-7): `planned` is the VM's record
   * as create-vm-rules.ts planAttachDisk answered it. The old disk's files go first when replacing;
   * an encrypted disk needs the VM's keys (KeyProviderUnavailable when its provider cannot answer).
   */
  attachDisk(vmExternalId: string, planned: PlatformVm, disk: NewVmDisk, replace: boolean): Promise<PlatformVm> {
    return this.changeDisks(vmExternalId, planned, async (vm, labVm) => {
      const source = disk.encrypted ? await this.source(vm, labVm.config.keyProviderId!) : null;
      if (disk.encrypted) await this.ensureKeys(vm, labVm);
      if (replace) await labVm.removeDisk(disk.deviceKey);
      await labVm.addDisk({ deviceKey: disk.deviceKey, capacityBytes: disk.capacityBytes, datastore: this.o.index.datastore(disk.datastoreExternalId).name, label: disk.label, encrypted: disk.encrypted }, source);
    });
  }

  /** Detaches a disk of a powered-off VM and deletes its files. */
  detachDisk(vmExternalId: string, deviceKey: number): Promise<PlatformVm> {
    return this.run(vmExternalId, async (vm) => {
      if (!vm.disks.some((d) => d.deviceKey === deviceKey)) throw new HostError("NotFound", `${vm.name} has no disk ${deviceKey}`);
      const planned = { ...vm, disks: vm.disks.filter((d) => d.deviceKey !== deviceKey) };
      return this.changeDisksHere(vm, planned, (_vm, labVm) => labVm.removeDisk(deviceKey));
    });
  }

  private changeDisks(vmExternalId: string, planned: PlatformVm, work: (vm: PlatformVm, labVm: LabVm) => Promise<void>): Promise<PlatformVm> {
    return this.run(vmExternalId, (vm) => this.changeDisksHere(vm, planned, work));
  }

  private async changeDisksHere(vm: PlatformVm, planned: PlatformVm, work: (vm: PlatformVm, labVm: LabVm) => Promise<void>): Promise<PlatformVm> {
    this.requireOff(vm, "change the disks of");
    if (this.writers.get(vm.externalId)) throw new HostError("InvalidState", `${vm.name} has a disk open for writing: wait for the restore to finish`);
    const labVm = await this.files(vm);
    requireNoSnapshot(labVm);
    if ([...labVm.disks.values()].some((d) => d.snapshotReaders > 0)) throw new HostError("InvalidState", `${vm.name} has a disk open for reading (a backup is running)`);
    try {
      await work(vm, labVm);
    } finally {
      if (this.powerState(vm) !== "poweredOn") labVm.lock();
    }
    const cfg = labVm.config;
    const record: PlatformVm = { ...vm, disks: planned.disks.map((d) => ({ ...d, fileName: cfg.disks.find((x) => x.deviceKey === d.deviceKey)?.fileName ?? d.fileName, keyId: d.encrypted ? cfg.keyId : null })) };
    await this.state.recordDisks(record);
    this.o.index.addVm(structuredClone(record));
    this.summaries.set(vm.externalId, summarizeVmx(cfg));
    await this.state.changed(vm.externalId);
    return record;
  }

  /**
   * A powered-off VM's live disk for writing cleartext (the disk encrypts with its DEK): the VM's
   * keys are loaded (KeyProviderUnavailable when its provider cannot answer) and stay loaded until
   * `release` — then the VM is locked again and other processes learn it changed.
   */
  openDiskForWrite(vmExternalId: string, deviceKey: number): Promise<{ vm: PlatformVm; disk: VirtualDisk; release: () => Promise<void> }> {
    return this.run(vmExternalId, async (vm) => {
      this.requireOff(vm, "write the disks of");
      const labVm = await this.files(vm);
      requireNoSnapshot(labVm);
      const disk = labVm.disk(deviceKey);
      if (disk.encrypted) await this.ensureKeys(vm, labVm);
      this.writers.set(vm.externalId, (this.writers.get(vm.externalId) ?? 0) + 1);
      let released = false;
      const release = () => {
        if (released) return Promise.resolve();
        released = true;
        return this.queue.run(vm.externalId, async () => {
          const left = (this.writers.get(vm.externalId) ?? 1) - 1;
          if (left > 0) this.writers.set(vm.externalId, left);
          else {
            this.writers.delete(vm.externalId);
            if (this.powerState(vm) !== "poweredOn") labVm.lock();
          }
          await this.state.changed(vm.externalId);
        });
      };
      return { vm, disk, release };
    });
  }

  /** The backup host's way in: the VM's files (created if `materialize`), inside its queue. */
  hostAccess<T>(vmExternalId: string, materialize: boolean, work: (a: HostVmAccess) => Promise<T>): Promise<T> {
    return this.run(vmExternalId, async (vm) => {
      const labVm = materialize ? await this.files(vm) : await this.openIfFiles(vm);
      if (!labVm) throw new HostError("NotFound", `${vm.name} has no files in the lab yet, so no snapshot`);
      return work({
        vm,
        labVm,
        poweredOn: this.powerState(vm) === "poweredOn",
        unlock: () => this.ensureKeys(vm, labVm),
        changed: () => this.state.changed(vm.externalId),
        writing: (this.writers.get(vm.externalId) ?? 0) > 0,
      });
    });
  }

  /** The lab's state file; key provider settings live there too (lab-key-provider-settings.ts). */
  get stateStore(): LabStateStore {
    return this.state;
  }

  /** Power states and the .vmx state of VMs with files; null when the folder is another estate's. */
  async overrides(): Promise<Map<string, VmOverride> | null> {
    await this.sync();
    if (this.state.mismatch) return null;
    const out = new Map<string, VmOverride>();
    for (const [id, powerState] of Object.entries(this.state.powerStates)) out.set(id, { powerState });
    for (const [id, files] of this.summaries) out.set(id, { ...out.get(id), files });
    return out;
  }

  async close(): Promise<void> {
    await this.dataPlane.close();
  }

  private run<T>(vmExternalId: string, work: (vm: PlatformVm) => Promise<T>): Promise<T> {
    return this.queue.run(vmExternalId, async () => {
      await this.sync();
      if (this.state.mismatch) throw new HostError("InvalidState", this.state.mismatch);
      // After the sync: another process may have created (or deleted) the VM.
      const vm = this.o.index.vm(vmExternalId);
      if (this.stale.has(vmExternalId)) await this.reopenIfIdle(vmExternalId);
      return work(vm);
    });
  }

  private powerState(vm: PlatformVm): PowerState {
    return this.state.powerStates[vm.externalId] ?? vm.powerState;
  }

  private requireOff(vm: PlatformVm, what: string): void {
    const ps = this.powerState(vm);
    if (ps !== "poweredOff") throw new HostError("InvalidState", `${vm.name} is ${ps}: power it off to ${what} it`);
  }

  private async openIfFiles(vm: PlatformVm): Promise<LabVm | null> {
    return this.withFiles?.has(vm.externalId) ? this.open(vm.externalId) : null;
  }

  private async open(vmExternalId: string): Promise<LabVm> {
    const labVm = await this.dataPlane.vm(vmExternalId);
    this.opened.add(vmExternalId);
    return labVm;
  }

  /** Another process changed the VM: drop our open files and keys, unless a backup is reading them. */
  private async reopenIfIdle(vmExternalId: string): Promise<void> {
    if (this.opened.has(vmExternalId)) {
      const labVm = await this.dataPlane.vm(vmExternalId);
      if ([...labVm.disks.values()].some((d) => d.snapshotReaders > 0)) return;
      await this.dataPlane.closeVm(vmExternalId);
      this.opened.delete(vmExternalId);
    }
    this.stale.delete(vmExternalId);
  }

  private async files(vm: PlatformVm): Promise<LabVm> {
    return (await this.openIfFiles(vm)) ?? this.materialize(vm);
  }

  /** Creates the VM's files from the estate: sparse disks at its capacities, encrypted with a new KEK if the VM is. */
  private async materialize(vm: PlatformVm): Promise<LabVm> {
    const source = vm.encrypted ? await this.source(vm, vm.keyProviderExternalId!) : null;
    const labVm = await createVmFiles(this.dataPlane, this.o.index, vm, source);
    if (this.powerState(vm) !== "poweredOn") labVm.lock(); // only a running VM's host holds its keys
    this.opened.add(vm.externalId);
    this.withFiles?.add(vm.externalId);
    this.summaries.set(vm.externalId, summarizeVmx(labVm.config));
    await this.state.changed(vm.externalId);
    return labVm;
  }

  private async reopened(vm: PlatformVm): Promise<VmRuntime> {
    const labVm = await this.open(vm.externalId);
    this.summaries.set(vm.externalId, summarizeVmx(labVm.config));
    await this.state.changed(vm.externalId);
    return this.describe(vm, labVm);
  }

  private async ensureKeys(vm: PlatformVm, labVm: LabVm): Promise<void> {
    if (!labVm.locked) return;
    await labVm.unlock(await this.source(vm, labVm.config.keyProviderId!));
  }

  private source(vm: PlatformVm, keyProviderExternalId: string): Promise<KeyEncryptionKeySource> {
    const kp = this.o.index.keyProviderFor(vm, keyProviderExternalId);
    return keySourceFor(this.o.keySources, { keyProviderExternalId: kp.externalId, siteExternalId: kp.siteExternalId, kind: kp.kind, name: kp.name });
  }

  private describe(vm: PlatformVm, labVm: LabVm | null): VmRuntime {
    return describeVm(vm, labVm, this.powerState(vm));
  }

  /** Catches up with lab-state.json: at first use everything, later the VMs another process changed. */
  private sync(): Promise<void> {
    this.syncing ??= (async () => {
      await this.state.refresh();
      this.reconcileVms();
      const external = this.state.takeExternalChanges();
      if (!this.withFiles) return this.loadFiles(null); // nothing is open yet: nothing is stale
      if (external.size === 0) return;
      for (const id of external) this.stale.add(id);
      await this.loadFiles(external);
    })().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  /** Created VMs into the index, deleted ones out of it, as lab-state.json says now. */
  private reconcileVms(): void {
    const created = this.state.createdVms;
    for (const [id, vm] of Object.entries(created)) {
      if (!this.created.has(id)) this.o.index.addVm(structuredClone(vm));
      this.created.add(id);
    }
    for (const id of this.created) {
      if (created[id]) continue;
      this.o.index.removeVm(id);
      this.created.delete(id);
    }
    for (const id of this.state.deletedVms) this.o.index.removeVm(id);
    // Estate VMs whose disks were attached or detached (RST-7): their disks as recorded.
    for (const [id, disks] of Object.entries(this.state.diskLayouts)) {
      const vm = this.o.index.findVm(id);
      if (vm && JSON.stringify(vm.disks) !== JSON.stringify(disks)) this.o.index.addVm({ ...vm, disks: structuredClone(disks) });
    }
  }

  /** Which VMs have files, and the .vmx of those in `only` (all when null). */
  private async loadFiles(only: ReadonlySet<string> | null): Promise<void> {
    const ids = (await this.dataPlane.vmIds()).filter((id) => this.o.index.findVm(id));
    if (!only) {
      const summaries = new Map<string, VmFilesSummary>();
      await readVmxSummaries(this.dataPlane, this.o.index, ids, summaries);
      this.withFiles = new Set(ids);
      this.summaries = summaries;
      return;
    }
    // In place, for the changed VMs only: operations on other VMs may update these maps meanwhile.
    const registered = new Set(ids);
    const read = new Map<string, VmFilesSummary>();
    await readVmxSummaries(this.dataPlane, this.o.index, [...only].filter((id) => registered.has(id)), read);
    for (const id of only) {
      if (registered.has(id)) this.withFiles!.add(id);
      else this.withFiles!.delete(id);
      const summary = read.get(id);
      if (summary) this.summaries.set(id, summary);
      else this.summaries.delete(id);
    }
  }
}

function requireNoSnapshot(labVm: LabVm): void {
  const s = labVm.config.snapshot;
  if (s) throw new HostError("InvalidState", `${labVm.config.name} has snapshot "${s.name}" (a backup may be reading it): remove it first`);
}
