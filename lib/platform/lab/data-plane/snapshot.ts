// VM snapshots: a consistent point in time while guest writes continue, as a backup needs it.
//
// Taking a snapshot, per disk and inside the disk's write queue: close the CBT epoch (the new
// epoch's change id is the snapshot's), and put an empty delta (`<name>-000001.vmdk` +
// `-000001-delta.vmdk`) on top. From then on guest writes land in the delta (block-level
// copy-on-write, disk-view.ts) and the base is frozen: a snapshot reader reads the base alone.
// Removing the snapshot merges the delta's blocks into the base (stored bytes: ciphertext stays
// valid, the XTS tweak is the disk sector), syncs the base, and only then deletes the delta —
// a crash mid-merge leaves the delta in place and the merge is simply done again.
//
// One snapshot per VM: a second one while the first exists is HostError "InvalidState" (backups
// take one, read, remove it). Removal while a reader of the snapshot is open is "InvalidState" too.

import { randomBytes } from "node:crypto";
import { DiskFile } from "./disk-file";
import { readerOf, type ViewMode } from "./disk-view";
import { CBT_BLOCK_SIZE, HostError, type DiskArea, type DiskReader } from "./types";
import type { VirtualDisk } from "./virtual-disk";

export const DELTA_SUFFIX = "-000001";

export interface DiskSnapshotRecord {
  deviceKey: number;
  /** CBT change id of the disk at the snapshot: pass it to the next backup's query. */
  changeId: string;
  /** Base name of the delta VMDK in the disk's folder. */
  deltaName: string;
}

export interface SnapshotRecord {
  id: string; // "snapshot-1a2b3c4d"
  name: string;
  createdAt: string;
  disks: DiskSnapshotRecord[];
}

/** Freezes one disk; returns its change id at the snapshot and the delta's name. */
export async function snapshotDisk(disk: VirtualDisk): Promise<{ changeId: string; deltaName: string }> {
  return disk.exclusive(async () => {
    if (disk.delta) throw new HostError("InvalidState", `${disk.name} already has a snapshot`);
    const deltaName = disk.name + DELTA_SUFFIX;
    const delta = await DiskFile.createDelta(disk.baseFile, deltaName);
    try {
      const changeId = await disk.tracker.closeEpoch();
      disk.setDelta(delta);
      return { changeId, deltaName };
    } catch (err) {
      await delta.remove();
      throw err;
    }
  });
}

/**
 * Merges the delta into the base and takes it off the disk; returns the delta, closed, for the
 * caller to delete once the VM configuration no longer names it. Null when there is no delta.
 */
export async function consolidateDisk(disk: VirtualDisk): Promise<DiskFile | null> {
  return disk.exclusive(async () => {
    const delta = disk.delta;
    if (!delta) return null;
    if (disk.snapshotReaders > 0) throw new HostError("InvalidState", `${disk.name}: the snapshot is open by ${disk.snapshotReaders} reader(s)`);
    disk.consolidating = true; // the base is about to change: no new snapshot reader
    try {
      const buffer = Buffer.alloc(CBT_BLOCK_SIZE);
      for (const block of delta.allocatedBlocks()) {
        const start = block * CBT_BLOCK_SIZE;
        const part = buffer.subarray(0, Math.min(CBT_BLOCK_SIZE, disk.capacityBytes - start));
        await delta.readStored(start, part);
        await disk.baseFile.writeStored(start, part);
        if (!disk.baseFile.isAllocated(block)) await disk.baseFile.markAllocated(block);
      }
      await disk.baseFile.sync();
      disk.setDelta(null);
    } finally {
      disk.consolidating = false;
    }
    await delta.close();
    return delta;
  });
}

/** A reader of the frozen content; counted, so the snapshot cannot be removed under it. */
export function openSnapshotReader(disk: VirtualDisk, mode: ViewMode): DiskReader {
  if (!disk.delta) throw new HostError("NotFound", `${disk.name} has no snapshot`);
  if (disk.consolidating) throw new HostError("InvalidState", `${disk.name}: the snapshot is being removed`);
  const view = disk.frozenView(mode);
  disk.snapshotReaders += 1;
  return readerOf(view, () => {
    disk.snapshotReaders -= 1;
  });
}

/** QueryChangedDiskAreas against the snapshot ("*" = blocks allocated in the frozen content). */
export function snapshotChangedAreas(disk: VirtualDisk, changeId: string, startOffset = 0): DiskArea[] {
  if (!disk.delta) throw new HostError("NotFound", `${disk.name} has no snapshot`);
  return disk.tracker.queryChangedAreas(changeId, { capacityBytes: disk.capacityBytes, allocatedBlocks: () => disk.allocatedBlocks("base"), startOffset });
}

/** Snapshots every disk of a VM; if one fails, the others are rolled back. */
export async function createVmSnapshot(disks: ReadonlyMap<number, VirtualDisk>, name: string, existing: SnapshotRecord | null): Promise<SnapshotRecord> {
  if (existing) throw new HostError("InvalidState", `the VM already has snapshot ${existing.id} ("${existing.name}"); remove it first`);
  const taken: { deviceKey: number; disk: VirtualDisk; changeId: string; deltaName: string }[] = [];
  try {
    for (const [deviceKey, disk] of disks) taken.push({ deviceKey, disk, ...(await snapshotDisk(disk)) });
  } catch (err) {
    for (const t of taken) await (await consolidateDisk(t.disk))?.remove();
    throw err;
  }
  return {
    id: `snapshot-${randomBytes(4).toString("hex")}`,
    name,
    createdAt: new Date().toISOString(),
    disks: taken.map(({ deviceKey, changeId, deltaName }) => ({ deviceKey, changeId, deltaName })),
  };
}

/**
 * Removes a VM's snapshot: merge every disk, then `persist` (the VM configuration without the
 * snapshot), then delete the deltas. Refused while any disk's snapshot is being read.
 */
export async function removeVmSnapshot(disks: ReadonlyMap<number, VirtualDisk>, persist: () => Promise<void>): Promise<void> {
  const busy = [...disks.values()].find((d) => d.snapshotReaders > 0);
  if (busy) throw new HostError("InvalidState", `${busy.name}: the snapshot is open by ${busy.snapshotReaders} reader(s)`);
  const merged: DiskFile[] = [];
  for (const disk of disks.values()) {
    const delta = await consolidateDisk(disk);
    if (delta) merged.push(delta);
  }
  await persist();
  for (const delta of merged) await delta.remove();
}
