// What a replica needs of the platform beyond restore-host.ts (REP-1): restore points on the
// replica VM, which are snapshots of it — taken at the end of each replication run, listed, the VM
// reverted to one (a cut-off run's half-written blocks disappear), and removed when the job keeps
// fewer. vSphere: CreateSnapshot_Task / RevertToSnapshot_Task / RemoveSnapshot_Task on the replica.
//
// Rules every connector applies alike (testing/replica-host-contract.ts holds them to it):
// - Points form a chain, oldest first. A point is the VM's disks as they were when it was taken;
//   writes after it (through openDiskForWrite, and a guest's writes) never change it.
// - Reverting to a point brings every disk back to it bit for bit; points newer than it are removed
//   (a chain, not vSphere's tree). Removing a point keeps every other point as it was.
// - Taking and reverting need the VM powered off, and all three no disk of it open for writing
//   (HostError "InvalidState"); removing works on a running VM too (a permanent failover commits
//   the points of the replica in use, as vSphere removes snapshots of a running VM); an unknown VM or point is "NotFound"; a name must be 1–80
//   printable characters ("InvalidArgument").
// - Each point carries, per disk, the replica disk's CBT change id at the point, so changes made
//   on the replica after it (a failover's writes) can be asked for later.

/** One replica restore point (a snapshot of the replica VM). */
export interface ReplicaSnapshot {
  id: string;
  name: string;
  /** ISO 8601. */
  createdAt: string;
  /** The replica disks' change ids at the point (queryChangedAreas "since this point"). */
  disks: Array<{ deviceKey: number; changeId: string }>;
}

export interface VmReplicaHost {
  /** Takes a snapshot of every disk of a powered-off VM with nothing open for writing. */
  createSnapshot(vmExternalId: string, name: string): Promise<ReplicaSnapshot>;
  /** The VM's points, oldest first. */
  listSnapshots(vmExternalId: string): Promise<ReplicaSnapshot[]>;
  /** Brings every disk back to the point; newer points are removed. */
  revertToSnapshot(vmExternalId: string, snapshotId: string): Promise<void>;
  /** Removes one point; the others stay readable as they were. */
  removeSnapshot(vmExternalId: string, snapshotId: string): Promise<void>;
}

/** The name rule of replica points (HostError "InvalidArgument" otherwise). */
export function validReplicaPointName(name: unknown): name is string {
  return typeof name === "string" && name.length >= 1 && name.length <= 80 && /^[\x20-\x7e\u00a0-\uffff]+$/.test(name);
}
