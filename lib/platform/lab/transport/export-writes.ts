// How the NBD server applies one client write to a writable export's DiskSink. The sink, like a
// VMDK behind VixDiskLib_Write, takes whole sectors only; NBD clients may write any byte range
// (a client that did not ask for block sizes may assume a minimum of 1 byte), so a partial sector
// at either end of a write is read, patched and written back, under the export's WriteGate. Whole
// sectors go straight through, side by side. NBD_CMD_WRITE_ZEROES is the same with zeros for data.

import { SECTOR_SIZE, type DiskReader } from "../data-plane/types";
import type { BufferPool } from "./buffer-pool";
import type { DiskSink } from "./disk-sink";
import type { WriteGate } from "./write-gate";

/** Zeros are written from this buffer (the DiskSink contract forbids modifying what it is given). */
const ZERO_CHUNK = 1024 * 1024;
const ZEROES = Buffer.alloc(ZERO_CHUNK);

const alignDown = (n: number) => n - (n % SECTOR_SIZE);
const alignUp = (n: number) => alignDown(n + SECTOR_SIZE - 1);

export class ExportWrites {
  constructor(
    /** Must show what `sink` wrote: partial sectors are read back from it. */
    private readonly reader: DiskReader,
    private readonly sink: DiskSink,
    private readonly gate: WriteGate,
    private readonly pool: BufferPool,
  ) {}

  get capacityBytes(): number {
    return this.sink.capacityBytes;
  }

  /**
   * Writes `length` bytes at `offset`: `data` (exactly `length` bytes), or zeros when null. The
   * range is within the capacity (the session checked). With `fua`, durable before resolving.
   */
  async write(offset: number, length: number, data: Buffer | null, fua: boolean): Promise<void> {
    const aligned = offset % SECTOR_SIZE === 0 && length % SECTOR_SIZE === 0;
    await this.gate.run(!aligned, async () => {
      const end = offset + length;
      const headEnd = Math.min(end, alignUp(offset));
      const tailStart = Math.max(headEnd, alignDown(end));
      if (offset < headEnd) await this.patch(offset, headEnd - offset, data?.subarray(0, headEnd - offset) ?? null);
      if (headEnd < tailStart) await this.whole(headEnd, tailStart - headEnd, data?.subarray(headEnd - offset, tailStart - offset) ?? null);
      if (tailStart < end) await this.patch(tailStart, end - tailStart, data?.subarray(tailStart - offset) ?? null);
    });
    if (fua) await this.sink.flush();
  }

  flush(): Promise<void> {
    return this.sink.flush();
  }

  /** Whole sectors: the data as it is, or zeros a chunk at a time. */
  private async whole(offset: number, length: number, data: Buffer | null): Promise<void> {
    if (data) return this.sink.write(offset, data);
    for (let at = offset; at < offset + length; at += ZERO_CHUNK) {
      await this.sink.write(at, ZEROES.subarray(0, Math.min(ZERO_CHUNK, offset + length - at)));
    }
  }

  /** Part of one sector: read it, lay `data` (or zeros) over it, write the sector back. */
  private async patch(offset: number, length: number, data: Buffer | null): Promise<void> {
    const start = alignDown(offset);
    const sector = this.pool.lease(SECTOR_SIZE);
    try {
      await this.reader.readInto(start, sector);
      if (data) data.copy(sector, offset - start);
      else sector.fill(0, offset - start, offset - start + length);
      await this.sink.write(start, sector);
    } finally {
      this.pool.giveBack(sector);
    }
  }
}
