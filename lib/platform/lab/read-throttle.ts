// A simulated link speed for the lab's backup reads (and restore writes, throttledWriter): a reader that delivers at most
// `bytesPerSecond`, as a datastore or a management network would. The lab's disks are files on a
// local disk and read at memory speed; a real 10 GbE NBD session or a busy array does not. Demos
// and the job engine's tests (a kill, a stop, proxy slots held "mid-read") need reads that take
// seconds without burning CPU, so the delay is a sleep, not work.
//
// The budget is per reader (one disk opened by one proxy) and holds for overlapping reads too
// (the engine reads one block ahead): each read reserves its bytes on the reader's timeline and
// resolves no earlier than that slot's end.

import type { DiskWriter } from "../disk-io";
import type { TransportReader } from "./transport";

const usable = (bytesPerSecond: number) => bytesPerSecond > 0 && Number.isFinite(bytesPerSecond);

/** Each call reserves its bytes on one timeline and resolves no earlier than that slot's end. */
function pacer(bytesPerSecond: number): (bytes: number) => Promise<void> {
  const started = performance.now();
  let reserved = 0;
  return async (bytes: number) => {
    reserved += bytes;
    const due = started + (reserved * 1000) / bytesPerSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  };
}

export function throttledReader(reader: TransportReader, bytesPerSecond: number): TransportReader {
  if (!usable(bytesPerSecond)) return reader;
  const pace = pacer(bytesPerSecond);
  return {
    mode: reader.mode,
    capacityBytes: reader.capacityBytes,
    async read(offset, length) {
      const [data] = await Promise.all([reader.read(offset, length), pace(length)]);
      return data;
    },
    async readInto(offset, target) {
      await Promise.all([reader.readInto(offset, target), pace(target.length)]);
    },
    close: () => reader.close(),
  };
}

/** A disk writer that takes in at most `bytesPerSecond` (a restore's writes over a slow link); the bytes written are the same. */
export function throttledWriter(writer: DiskWriter, bytesPerSecond: number): DiskWriter {
  if (!usable(bytesPerSecond)) return writer;
  const pace = pacer(bytesPerSecond);
  return {
    mode: writer.mode,
    capacityBytes: writer.capacityBytes,
    async write(offset, data) {
      await Promise.all([writer.write(offset, data), pace(data.length)]);
    },
    close: () => writer.close(),
    abort: () => writer.abort(),
  };
}
