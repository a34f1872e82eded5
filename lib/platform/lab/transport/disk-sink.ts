// Where the lab host writes a disk that a proxy restores: the host's side of VixDiskLib_Write.
// The lab runtime backs it with VirtualDisk.write (cleartext in; ciphertext stored when the disk
// is encrypted; CBT records the write); the tests use in-memory disks (testing/memory-disk.ts).
// The proxy never sees a DiskSink: it gets a DiskWriter (lib/platform/disk-io.ts) whatever the
// transport mode, and this is what that writer ends in on the host.

export interface DiskSink {
  readonly capacityBytes: number;
  /**
   * Writes cleartext `data` at `offset` (both multiples of SECTOR_SIZE, within the capacity).
   * Calls may overlap at different offsets. The sink must not modify `data`, nor keep it once the
   * promise settles: the caller recycles its buffers (the NBD server writes from a pool, and
   * writes zeros from one shared buffer).
   */
  write(offset: number, data: Buffer): Promise<void>;
  /** Makes every write that has resolved so far durable. */
  flush(): Promise<void>;
  /** Releases the disk; later writes fail. Does not flush by itself. */
  close(): Promise<void>;
}
