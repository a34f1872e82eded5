// In-memory DiskReaders and DiskSinks for the transport tests and the benchmark, standing in for
// the data plane's disk files until they are wired in. They keep the contracts strictly (sector
// alignment, capacity, closed readers and sinks), so a transport that works against them leans on
// nothing the real disks will not also guarantee.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { HostError, SECTOR_SIZE, type DiskReader } from "../../data-plane/types";
import type { DiskSink } from "../disk-sink";

/** Fills a buffer with cheap deterministic bytes (xorshift), different for every offset. */
export function patternBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (let i = size - (size % 4); i < size; i++) out[i] = i & 0xff;
  return out;
}

function checkRead(capacity: number, offset: number, length: number, closed: boolean, verb = "Read"): void {
  if (closed) throw new HostError("InvalidState", "Disk reader is closed");
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new HostError("InvalidArgument", `Bad ${verb.toLowerCase()} range ${offset}+${length}`);
  }
  if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) {
    throw new HostError("InvalidArgument", `${verb} ${offset}+${length} is not sector-aligned`);
  }
  if (offset + length > capacity) throw new HostError("InvalidArgument", `${verb} ${offset}+${length} beyond capacity ${capacity}`);
}

/** What a test may want to know about a sink's use. */
export interface SinkStats {
  writes: number;
  bytesWritten: number;
  flushes: number;
  closed: boolean;
}

/**
 * A DiskSink over `store(offset, data)`, checking the contract as VirtualDisk.write does: whole
 * sectors within the capacity, nothing after close.
 */
export function memorySink(capacityBytes: number, store: (offset: number, data: Buffer) => void): DiskSink & { stats: SinkStats } {
  const stats: SinkStats = { writes: 0, bytesWritten: 0, flushes: 0, closed: false };
  return {
    stats,
    capacityBytes,
    async write(offset: number, data: Buffer): Promise<void> {
      if (stats.closed) throw new HostError("InvalidState", "Disk writer is closed");
      checkRead(capacityBytes, offset, data.length, false, "Write");
      stats.writes++;
      stats.bytesWritten += data.length;
      store(offset, data);
    },
    async flush(): Promise<void> {
      if (stats.closed) throw new HostError("InvalidState", "Disk writer is closed");
      stats.flushes++;
    },
    async close(): Promise<void> {
      stats.closed = true;
    },
  };
}

/** A disk held in a Buffer. Reads return copies, as a file read would. */
export class MemoryDisk implements DiskReader {
  closed = false;
  reads = 0;

  constructor(readonly data: Buffer) {
    if (data.length % SECTOR_SIZE !== 0) throw new RangeError("capacity must be a whole number of sectors");
  }

  get capacityBytes(): number {
    return this.data.length;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    checkRead(this.capacityBytes, offset, length, this.closed);
    this.reads++;
    return Buffer.from(this.data.subarray(offset, offset + length));
  }

  async readInto(offset: number, target: Buffer): Promise<void> {
    checkRead(this.capacityBytes, offset, target.length, this.closed);
    this.reads++;
    this.data.copy(target, 0, offset, offset + target.length);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Writes land in `data`, so this reader (and any other over it) sees them. */
  sink(): DiskSink & { stats: SinkStats } {
    return memorySink(this.capacityBytes, (offset, bytes) => bytes.copy(this.data, offset));
  }
}

/** XTS tweak for a sector: its number, little-endian, in 16 bytes (as disk encryption does). */
function tweak(sector: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64LE(BigInt(sector), 0);
  return iv;
}

/**
 * A VM-Encryption-like disk: the "datastore" holds AES-256-XTS ciphertext per 512-byte sector and
 * the host's cleartext view decrypts with the DEK. `raw()` and `cleartext()` therefore return
 * different bytes for the same range, which is what the SAN-vs-NBD tests need to see.
 */
export class EncryptedMemoryDisk {
  readonly ciphertext: Buffer;
  private readonly dek: Buffer;

  constructor(readonly plaintext: Buffer, dek: Buffer = randomBytes(64)) {
    if (plaintext.length % SECTOR_SIZE !== 0) throw new RangeError("capacity must be a whole number of sectors");
    this.dek = dek;
    this.ciphertext = Buffer.allocUnsafe(plaintext.length);
    for (let s = 0; s * SECTOR_SIZE < plaintext.length; s++) {
      const c = createCipheriv("aes-256-xts", dek, tweak(s));
      const out = Buffer.concat([c.update(plaintext.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE)), c.final()]);
      out.copy(this.ciphertext, s * SECTOR_SIZE);
    }
  }

  /** The datastore bytes (what SAN would see). */
  raw(): DiskReader {
    return new MemoryDisk(this.ciphertext);
  }

  /** The host's encrypting writer (what HotAdd and NBD restore through): cleartext in, ciphertext stored. */
  writer(): DiskSink & { stats: SinkStats } {
    const { ciphertext, dek } = this;
    return memorySink(ciphertext.length, (offset, data) => {
      for (let pos = 0; pos < data.length; pos += SECTOR_SIZE) {
        const c = createCipheriv("aes-256-xts", dek, tweak((offset + pos) / SECTOR_SIZE));
        Buffer.concat([c.update(data.subarray(pos, pos + SECTOR_SIZE)), c.final()]).copy(ciphertext, offset + pos);
      }
    });
  }

  /** The host's decrypting view (what HotAdd and NBD serve). */
  cleartext(): DiskReader {
    const { ciphertext, dek } = this;
    let closed = false;
    const readInto = async (offset: number, target: Buffer): Promise<void> => {
      checkRead(ciphertext.length, offset, target.length, closed);
      for (let pos = 0; pos < target.length; pos += SECTOR_SIZE) {
        const d = createDecipheriv("aes-256-xts", dek, tweak((offset + pos) / SECTOR_SIZE));
        const sector = ciphertext.subarray(offset + pos, offset + pos + SECTOR_SIZE);
        Buffer.concat([d.update(sector), d.final()]).copy(target, pos);
      }
    };
    return {
      capacityBytes: ciphertext.length,
      readInto,
      async read(offset: number, length: number): Promise<Buffer> {
        const out = Buffer.allocUnsafe(length);
        await readInto(offset, out);
        return out;
      },
      async close(): Promise<void> {
        closed = true;
      },
    };
  }
}
