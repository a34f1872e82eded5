// A DiskReader over a raw disk image file (a flat .img / -flat.vmdk, or a benchmark's image): the
// engine's hot path reads straight into its own buffers (readInto), nothing is allocated per read.

import { open, type FileHandle } from "node:fs/promises";
import type { DiskReader } from "../../platform/disk-io";
import { InvalidArgumentError } from "../errors";

export class FileDiskReader implements DiskReader {
  private constructor(
    private readonly handle: FileHandle,
    readonly capacityBytes: number,
  ) {}

  /** Opens `file` read-only; the capacity is the file's size at open time. */
  static async open(file: string): Promise<FileDiskReader> {
    const handle = await open(file, "r");
    try {
      return new FileDiskReader(handle, (await handle.stat()).size);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    await this.readInto(offset, out);
    return out;
  }

  async readInto(offset: number, target: Buffer): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + target.length > this.capacityBytes) {
      throw new InvalidArgumentError(`read of ${target.length} bytes at ${offset} is outside the image (${this.capacityBytes} bytes)`);
    }
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await this.handle.read(target, done, target.length - done, offset + done);
      if (bytesRead === 0) throw new InvalidArgumentError(`the image ended at ${offset + done} (it shrank while being read)`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
