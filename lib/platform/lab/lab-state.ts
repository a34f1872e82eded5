// The lab's own small state file, `<folder>/lab-state.json`: what changed in the estate that the
// VM files do not say — power states — which estate the folder belongs to, and a generation per
// VM. Encryption state lives in each VM's .vmx (the data plane's files are the truth for it).
//
//   { "format": "strongroom-lab-state", "version": 1, "estate": { "seed": 20261122, "vmCount": 36 },
//     "generation": 7, "powerStates": { "vm-1001": "poweredOff" }, "vmGenerations": { "vm-1001": 3 } }
//
// Several processes may share a lab folder (the console server, `npm run lab`, worker processes).
// Every change to a VM — power, files created, guest writes, snapshots, re-encryption — bumps its
// generation and rewrites the file atomically. A process notices by the file's stat alone
// (inventory() stays one stat() per call for a 10 000-VM estate), and learns which VMs another
// process changed: it then re-reads their .vmx and reopens their files before its next operation
// on them. Writes re-read the file first and change only their own VM's entries, under a lock file
// (exclusive create) so that two processes writing at once do not lose each other's change.
//
// VMs created at run time (restored VMs, later replicas) are kept here too, as their inventory
// records (`createdVms`), next to the seeded estate; a deleted VM of the estate is remembered in
// `deletedVms`, so the generated estate does not bring it back.

import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { PlatformVm, PowerState } from "../connector";
import { HostError, writeFileAtomic } from "./data-plane";

const STATE_FORMAT = "strongroom-lab-state";
const STATE_VERSION = 1;
const POWER_STATES: readonly PowerState[] = ["poweredOn", "poweredOff", "suspended"];
/** A lock older than this belongs to a process that died mid-write (a write takes milliseconds). */
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 30_000;

export interface EstateIdentity {
  seed: number;
  vmCount: number;
}

interface LabStateFile {
  format: typeof STATE_FORMAT;
  version: number;
  estate: EstateIdentity;
  generation: number;
  powerStates: Record<string, PowerState>;
  vmGenerations: Record<string, number>;
  /** Key provider settings changed in the lab, keyed "<site external id>|<provider external id>". */
  keyProviderSettings?: Record<string, KeyProviderSetting>;
  /** VMs created at run time, by external id: their inventory records. */
  createdVms?: Record<string, PlatformVm>;
  /** VMs of the generated estate that were deleted. */
  deletedVms?: string[];
  /** Disks of VMs of the generated estate whose disks were added, replaced or removed (RST-7): their disk records now. */
  diskLayouts?: Record<string, PlatformVm["disks"]>;
}

export interface KeyProviderSetting {
  isDefault?: boolean;
  tenantExternalId?: string | null;
}

export class LabStateStore {
  private state: LabStateFile;
  private stamp = "";
  private writes: Promise<unknown> = Promise.resolve();
  /** VMs another process changed since takeExternalChanges() was last called. */
  private external = new Set<string>();
  /** Set when the folder was made for another estate: its VM files do not match this one's VMs. */
  mismatch: string | null = null;

  constructor(
    readonly folder: string,
    private readonly estate: EstateIdentity,
  ) {
    this.state = empty(estate);
  }

  get file(): string {
    return path.join(this.folder, "lab-state.json");
  }

  get powerStates(): Readonly<Record<string, PowerState>> {
    return this.state.powerStates;
  }

  get keyProviderSettings(): Readonly<Record<string, KeyProviderSetting>> {
    return this.state.keyProviderSettings ?? {};
  }

  get createdVms(): Readonly<Record<string, PlatformVm>> {
    return this.state.createdVms ?? {};
  }

  get deletedVms(): readonly string[] {
    return this.state.deletedVms ?? [];
  }

  get diskLayouts(): Readonly<Record<string, PlatformVm["disks"]>> {
    return this.state.diskLayouts ?? {};
  }

  /** Records a VM's disks after one was attached or detached: a created VM's record, or an estate VM's layout. */
  async recordDisks(vm: PlatformVm): Promise<void> {
    await this.update((s) => {
      if (s.createdVms?.[vm.externalId]) s.createdVms = { ...s.createdVms, [vm.externalId]: vm };
      else s.diskLayouts = { ...(s.diskLayouts ?? {}), [vm.externalId]: vm.disks };
      s.vmGenerations[vm.externalId] = (s.vmGenerations[vm.externalId] ?? 0) + 1;
    });
  }

  /** Records a VM created at run time (or its new record), powered off unless said otherwise. */
  async recordCreatedVm(vm: PlatformVm): Promise<void> {
    await this.update((s) => {
      s.createdVms = { ...(s.createdVms ?? {}), [vm.externalId]: vm };
      s.powerStates[vm.externalId] = vm.powerState;
      s.vmGenerations[vm.externalId] = (s.vmGenerations[vm.externalId] ?? 0) + 1;
    });
  }

  /** Records that a VM is gone: a created one is forgotten, one of the estate is remembered as deleted. */
  async recordDeletedVm(vmId: string): Promise<void> {
    await this.update((s) => {
      if (s.createdVms?.[vmId]) {
        const { [vmId]: _gone, ...rest } = s.createdVms;
        s.createdVms = rest;
      } else s.deletedVms = [...new Set([...(s.deletedVms ?? []), vmId])];
      if (s.diskLayouts?.[vmId]) {
        const { [vmId]: _layout, ...others } = s.diskLayouts;
        s.diskLayouts = others;
      }
      delete s.powerStates[vmId];
      s.vmGenerations[vmId] = (s.vmGenerations[vmId] ?? 0) + 1;
    });
  }

  /** Replaces the settings of the given key providers (one site's default moves as a whole). */
  async setKeyProviderSettings(patch: Record<string, KeyProviderSetting>): Promise<void> {
    await this.update((s) => {
      s.keyProviderSettings = { ...(s.keyProviderSettings ?? {}), ...patch };
    });
  }

  /** Re-reads the file if it changed since we last read or wrote it (in turn with our writes). */
  refresh(): Promise<void> {
    return this.serial(async () => {
      if ((await stampOf(this.file)) !== this.stamp) await this.read();
    });
  }

  /** VMs whose files or state another process changed since the last call. */
  takeExternalChanges(): Set<string> {
    const out = this.external;
    this.external = new Set();
    return out;
  }

  /** Records a change to a VM (and its new power state, if it changed). */
  async changed(vmId: string, powerState?: PowerState): Promise<void> {
    await this.update((s) => {
      if (powerState) s.powerStates[vmId] = powerState;
      s.vmGenerations[vmId] = (s.vmGenerations[vmId] ?? 0) + 1;
    });
  }

  private update(change: (s: LabStateFile) => void): Promise<void> {
    return this.serial(async () => {
      await mkdir(this.folder, { recursive: true });
      await this.withFileLock(async () => {
        await this.read(); // another process may have written since
        if (this.mismatch) throw new HostError("InvalidState", this.mismatch);
        const next = structuredClone(this.state);
        change(next);
        next.generation += 1;
        await writeFileAtomic(this.file, JSON.stringify(next, null, 2) + "\n");
        this.state = next;
        this.stamp = await stampOf(this.file);
      });
    });
  }

  /** The read-modify-write of the file, one process at a time (`lab-state.json.lock`). */
  private async withFileLock(work: () => Promise<void>): Promise<void> {
    const lock = `${this.file}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await writeFile(lock, String(process.pid), { flag: "wx" });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (await lockIsStale(lock)) await rm(lock, { force: true }); // its owner died mid-write
        else if (Date.now() > deadline) throw new HostError("InvalidState", `${this.file} stayed locked by another process for ${LOCK_WAIT_MS / 1000} s (remove ${lock} if no lab process runs)`);
        else await new Promise((r) => setTimeout(r, 5));
      }
    }
    try {
      await work();
    } finally {
      await rm(lock, { force: true });
    }
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const run = this.writes.then(work);
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async read(): Promise<void> {
    const stamp = await stampOf(this.file);
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      this.state = empty(this.estate);
      this.stamp = stamp;
      return;
    }
    const file = parse(text, this.file);
    for (const [id, g] of Object.entries(file.vmGenerations)) if (this.state.vmGenerations[id] !== g) this.external.add(id);
    const e = file.estate;
    this.mismatch =
      e.seed === this.estate.seed && e.vmCount === this.estate.vmCount
        ? null
        : `the lab folder ${this.folder} holds an estate of ${e.vmCount} VMs with seed ${e.seed}, not ${this.estate.vmCount} VMs with seed ${this.estate.seed}: use another folder or remove it`;
    this.state = file;
    this.stamp = stamp;
  }
}

function empty(estate: EstateIdentity): LabStateFile {
  return { format: STATE_FORMAT, version: STATE_VERSION, estate: { ...estate }, generation: 0, powerStates: {}, vmGenerations: {} };
}

function parse(text: string, file: string): LabStateFile {
  let raw: Partial<LabStateFile>;
  try {
    raw = JSON.parse(text) as Partial<LabStateFile>;
  } catch {
    throw new HostError("FileFault", `${file} is not valid JSON`);
  }
  const ok =
    raw.format === STATE_FORMAT &&
    raw.version === STATE_VERSION &&
    Number.isInteger(raw.estate?.seed) &&
    Number.isInteger(raw.estate?.vmCount) &&
    Number.isInteger(raw.generation) &&
    typeof raw.powerStates === "object" &&
    raw.powerStates !== null &&
    Object.values(raw.powerStates).every((p) => POWER_STATES.includes(p)) &&
    typeof raw.vmGenerations === "object" &&
    raw.vmGenerations !== null &&
    Object.values(raw.vmGenerations).every((g) => Number.isInteger(g)) &&
    (raw.keyProviderSettings === undefined || (typeof raw.keyProviderSettings === "object" && raw.keyProviderSettings !== null)) &&
    (raw.createdVms === undefined || (typeof raw.createdVms === "object" && raw.createdVms !== null && Object.entries(raw.createdVms).every(([id, vm]) => isVmRecord(id, vm)))) &&
    (raw.deletedVms === undefined || (Array.isArray(raw.deletedVms) && raw.deletedVms.every((id) => typeof id === "string"))) &&
    (raw.diskLayouts === undefined || (typeof raw.diskLayouts === "object" && raw.diskLayouts !== null && Object.values(raw.diskLayouts).every((d) => Array.isArray(d))));
  if (!ok) throw new HostError("FileFault", `${file} is not a lab state file of version ${STATE_VERSION}`);
  // Records written before VMs had network adapters: they have none.
  for (const vm of Object.values(raw.createdVms ?? {})) vm.nics ??= [];
  return raw as LabStateFile;
}

/** The shape of a created VM's record: enough that the inventory and the runtime can use it. */
function isVmRecord(id: string, vm: unknown): boolean {
  const v = vm as Partial<PlatformVm> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    v.externalId === id &&
    typeof v.name === "string" &&
    typeof v.siteExternalId === "string" &&
    typeof v.homeDatastoreExternalId === "string" &&
    Array.isArray(v.disks) &&
    v.disks.every((d) => typeof d?.deviceKey === "number" && typeof d.capacityBytes === "number" && typeof d.datastoreExternalId === "string") &&
    (v.nics === undefined || (Array.isArray(v.nics) && v.nics.every((n) => typeof n?.deviceKey === "number" && typeof n.macAddress === "string" && (n.networkExternalId === null || typeof n.networkExternalId === "string") && typeof n.connected === "boolean")))
  );
}

/** Its holder is gone (a pid of this host that no longer runs) or it is older than any write takes. */
async function lockIsStale(lock: string): Promise<boolean> {
  let text: string;
  let age: number;
  try {
    [text, age] = await Promise.all([readFile(lock, "utf8"), stat(lock).then((s) => Date.now() - s.mtimeMs)]);
  } catch {
    return false; // released meanwhile: try again
  }
  if (age > LOCK_STALE_MS) return true;
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Identity of the file's current version: atomic writes replace the inode, so this changes. */
async function stampOf(file: string): Promise<string> {
  try {
    const s = await stat(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw err;
  }
}
