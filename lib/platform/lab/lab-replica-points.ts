// Replica restore points in the lab (replica-host.ts, REP-1): a chain of named snapshots of a VM,
// next to the one backup snapshot the data plane keeps (snapshot.ts), and made differently.
//
// vSphere keeps a snapshot chain as forward deltas (writes go to the newest delta). The lab keeps
// a replica point as an *undo extent* per disk instead: the live disk stays the one base extent,
// and before a block of it is first written after the newest point, the block's stored bytes
// (ciphertext for an encrypted disk: the XTS tweak is the disk sector, so they stay valid) are
// copied into that point's undo extent (copy-on-write, done by the disk writer, preserver()). So
//   point Pk  = undo(Pk) over undo(Pk+1) … over undo(Pn) over the live disk,
//   revert Pk = copy undo(Pn) … undo(Pk) back (newest first), newer points removed,
//   remove Pk = blocks of undo(Pk) that undo(Pk-1) lacks move into it; undo(Pk) is deleted.
// Nothing is decrypted and no key is needed for any of it; a block that was a hole is first
// written as (encrypted) zeros, so every undo block is a real stored block.
//
// Files: `<vm home>/replica-points/<vm>-<point>-<device key>[-<n>]` (a delta-format VMDK: the
// descriptor, a sparse extent, an allocation map) and `<vm home>/<vm>.vmsd`, the points' list —
// vSphere's snapshot metadata file — written atomically after the extents it names, so a crash
// leaves either the old or the new list; extents no list names are orphans, removed with the VM
// (its home folder goes with it). CBT: taking a point closes each disk's epoch, and the point
// keeps the change id it opens; reverted blocks are recorded as changed.
//
// Operations need the VM powered off with no disk open for writing (the runtime's queue keeps
// them from overlapping one another); a writer opened after a point preserves into it.

import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { ReplicaSnapshot } from "../replica-host";
import { validReplicaPointName } from "../replica-host";
import { CBT_BLOCK_SIZE, DiskFile, HostError, resolveDatastorePath, writeFileAtomic, type LabVm, type VirtualDisk } from "./data-plane";

const VMSD_FORMAT = "strongroom-lab-replica-points";
const POINTS_DIR = "replica-points";

interface PointRecord extends ReplicaSnapshot {
  /** Undo extent (base name in the points folder) per disk. */
  undo: Record<string, string>;
}

interface VmsdFile {
  format: typeof VMSD_FORMAT;
  version: 1;
  points: PointRecord[];
}

export class LabReplicaPoints {
  constructor(private readonly datastoresRoot: string) {}

  async list(labVm: LabVm): Promise<ReplicaSnapshot[]> {
    return (await this.read(labVm)).map(({ undo: _undo, ...p }) => structuredClone(p));
  }

  async create(labVm: LabVm, name: string): Promise<ReplicaSnapshot> {
    if (!validReplicaPointName(name)) throw new HostError("InvalidArgument", "a replica point's name must be 1–80 printable characters");
    requireNoBackupSnapshot(labVm);
    const points = await this.read(labVm);
    const id = `rp-${randomBytes(4).toString("hex")}`;
    const undo: Record<string, string> = {};
    const created: DiskFile[] = [];
    try {
      for (const [deviceKey, disk] of labVm.disks) {
        const f = await DiskFile.createDelta(disk.baseFile, `${labVm.config.name}-${id}-${deviceKey}`, await this.dir(labVm));
        created.push(f);
        undo[deviceKey] = f.baseName;
      }
    } catch (err) {
      for (const f of created) await f.remove().catch(() => undefined);
      throw err;
    }
    for (const f of created) await f.close();
    const disks: ReplicaSnapshot["disks"] = [];
    for (const [deviceKey, disk] of labVm.disks) disks.push({ deviceKey, changeId: await disk.exclusive(() => disk.tracker.closeEpoch()) });
    const point: PointRecord = { id, name, createdAt: new Date().toISOString(), disks, undo };
    await this.write(labVm, [...points, point]);
    const { undo: _u, ...out } = point;
    return structuredClone(out);
  }

  /** Every disk back to the point (stored bytes, newest undo first); newer points removed. */
  async revert(labVm: LabVm, snapshotId: string): Promise<void> {
    requireNoBackupSnapshot(labVm);
    const points = await this.read(labVm);
    const k = indexOf(points, snapshotId, labVm);
    const dir = await this.dir(labVm);
    // Reverting to the newest point when nothing was written since (its undo extents are empty: every
    // write after a point copies the block there first) leaves every disk as it is: skip the syncs and
    // the fresh extents, which are most of a small incremental's cost.
    if (k === points.length - 1 && (await undoEmpty(dir, points[k], labVm))) return;
    for (let j = points.length - 1; j >= k; j--) {
      for (const [deviceKey, disk] of labVm.disks) await applyUndo(disk, dir, points[j].undo[deviceKey]);
    }
    for (const disk of labVm.disks.values()) await disk.baseFile.sync();
    // The point stays, with fresh (empty) undo extents: the live disk is exactly it again.
    const fresh: Record<string, string> = {};
    for (const [deviceKey, disk] of labVm.disks) {
      const f = await DiskFile.createDelta(disk.baseFile, `${labVm.config.name}-${points[k].id}-${deviceKey}-${randomBytes(3).toString("hex")}`, dir);
      await f.close();
      fresh[deviceKey] = f.baseName;
    }
    const gone = points.slice(k);
    await this.write(labVm, [...points.slice(0, k), { ...points[k], undo: fresh }]);
    for (const p of gone) await removeUndo(dir, p);
  }

  /** Removes one point; its undo blocks that the point before it lacks move there first. */
  async remove(labVm: LabVm, snapshotId: string): Promise<void> {
    const points = await this.read(labVm);
    const k = indexOf(points, snapshotId, labVm);
    const dir = await this.dir(labVm);
    if (k > 0) for (const deviceKey of labVm.disks.keys()) await mergeUndo(dir, points[k].undo[deviceKey], points[k - 1].undo[deviceKey]);
    await this.write(labVm, points.filter((_, i) => i !== k));
    await removeUndo(dir, points[k]);
  }

  /**
   * The copy-on-write of one disk's writes into the newest point (null when the VM has none): call
   * `before(offset, length)` ahead of each write, `close()` when the writer closes.
   */
  async preserver(labVm: LabVm, deviceKey: number): Promise<{ before(offset: number, length: number): Promise<void>; close(): Promise<void> } | null> {
    const points = await this.read(labVm);
    const newest = points[points.length - 1];
    if (!newest) return null;
    const disk = labVm.disk(deviceKey);
    const undo = await DiskFile.open(await this.dir(labVm), newest.undo[deviceKey]);
    const pending = new Map<number, Promise<void>>();
    const preserveBlock = async (b: number) => {
      if (undo.isAllocated(b)) return;
      const start = b * CBT_BLOCK_SIZE;
      const length = Math.min(CBT_BLOCK_SIZE, disk.capacityBytes - start);
      // A hole is no ciphertext of anything: make it a real (encrypted) zero block first.
      if (!disk.baseFile.isAllocated(b)) await disk.write(start, Buffer.alloc(length));
      const part = Buffer.allocUnsafe(length);
      await disk.baseFile.readStored(start, part);
      await undo.writeStored(start, part);
      await undo.markAllocated(b);
    };
    return {
      async before(offset, length) {
        if (length <= 0) return;
        const first = Math.floor(offset / CBT_BLOCK_SIZE);
        const last = Math.floor((offset + length - 1) / CBT_BLOCK_SIZE);
        const work: Promise<void>[] = [];
        for (let b = first; b <= last; b++) {
          let p = pending.get(b);
          if (!p) pending.set(b, (p = preserveBlock(b)));
          work.push(p);
        }
        await Promise.all(work);
      },
      async close() {
        await Promise.allSettled([...pending.values()]);
        await undo.sync().catch(() => undefined);
        await undo.close();
      },
    };
  }

  private async dir(labVm: LabVm): Promise<string> {
    const dir = path.join(resolveDatastorePath(this.datastoresRoot, labVm.vmxFileName).dir, POINTS_DIR);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  private vmsd(labVm: LabVm): string {
    const vmx = resolveDatastorePath(this.datastoresRoot, labVm.vmxFileName).file;
    return vmx.replace(/\.vmx$/, "") + ".vmsd";
  }

  private async read(labVm: LabVm): Promise<PointRecord[]> {
    let text: string;
    try {
      text = await readFile(this.vmsd(labVm), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const f = JSON.parse(text) as Partial<VmsdFile>;
    if (f.format !== VMSD_FORMAT || f.version !== 1 || !Array.isArray(f.points)) throw new HostError("FileFault", `${this.vmsd(labVm)} is not a replica point list of version 1`);
    return f.points;
  }

  private async write(labVm: LabVm, points: PointRecord[]): Promise<void> {
    const f: VmsdFile = { format: VMSD_FORMAT, version: 1, points };
    await writeFileAtomic(this.vmsd(labVm), JSON.stringify(f, null, 2) + "\n");
  }
}

function requireNoBackupSnapshot(labVm: LabVm): void {
  const s = labVm.config.snapshot;
  if (s) throw new HostError("InvalidState", `${labVm.config.name} has snapshot "${s.name}" (a backup may be reading it): remove it first`);
}

function indexOf(points: PointRecord[], id: string, labVm: LabVm): number {
  const k = points.findIndex((p) => p.id === id);
  if (k < 0) throw new HostError("NotFound", `${labVm.config.name} has no replica point ${id}`);
  return k;
}

/** Copies an undo extent's blocks back into the live disk (CBT records them as changed). */
async function undoEmpty(dir: string, point: PointRecord, labVm: LabVm): Promise<boolean> {
  for (const deviceKey of labVm.disks.keys()) {
    const undo = await DiskFile.open(dir, point.undo[deviceKey]);
    try {
      if (undo.allocatedBlocks().length > 0) return false;
    } finally {
      await undo.close();
    }
  }
  return true;
}

async function applyUndo(disk: VirtualDisk, dir: string, name: string): Promise<void> {
  const undo = await DiskFile.open(dir, name);
  try {
    const buffer = Buffer.allocUnsafe(CBT_BLOCK_SIZE);
    for (const b of undo.allocatedBlocks()) {
      const start = b * CBT_BLOCK_SIZE;
      const part = buffer.subarray(0, Math.min(CBT_BLOCK_SIZE, disk.capacityBytes - start));
      await undo.readStored(start, part);
      await disk.exclusive(async () => {
        await disk.tracker.recordChange(start, part.length);
        await disk.baseFile.writeStored(start, part);
        if (!disk.baseFile.isAllocated(b)) await disk.baseFile.markAllocated(b);
      });
    }
  } finally {
    await undo.close();
  }
}

/** Blocks of `fromName` that `intoName` lacks move into it (removing the point of `fromName`). */
async function mergeUndo(dir: string, fromName: string, intoName: string): Promise<void> {
  const [from, into] = [await DiskFile.open(dir, fromName), await DiskFile.open(dir, intoName)];
  try {
    const buffer = Buffer.allocUnsafe(CBT_BLOCK_SIZE);
    for (const b of from.allocatedBlocks()) {
      if (into.isAllocated(b)) continue;
      const start = b * CBT_BLOCK_SIZE;
      const part = buffer.subarray(0, Math.min(CBT_BLOCK_SIZE, from.capacityBytes - start));
      await from.readStored(start, part);
      await into.writeStored(start, part);
      await into.markAllocated(b);
    }
    await into.sync();
  } finally {
    await Promise.all([from.close(), into.close()]);
  }
}

async function removeUndo(dir: string, p: PointRecord): Promise<void> {
  for (const name of Object.values(p.undo)) {
    const f = await DiskFile.open(dir, name).catch(() => null);
    if (f) await f.remove();
    else await rm(path.join(dir, name + ".vmdk"), { force: true });
  }
}
