// Reusable read buffers for the NBD server. A fresh 1 MiB Buffer per request costs more than the
// data's own handling here (page faults on memory the allocator keeps handing back to the OS; see
// STACK.md "Engine performance facts"), so each connection keeps the buffers its replies used and
// hands them out again once the socket has taken the bytes.

/** Smallest size class: requests below this share one class. */
const MIN_CLASS = 64 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  /** `maxPooledBytes`: memory kept idle at most; beyond it released buffers are left to the GC. */
  constructor(private readonly maxPooledBytes: number) {}

  /** A buffer of at least `length` bytes (its contents are garbage). */
  acquire(length: number): Buffer {
    const size = sizeClass(length);
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.pooledBytes -= reused.length;
      return reused;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  release(buffer: Buffer): void {
    const size = buffer.length;
    if (size !== sizeClass(size) || this.pooledBytes + size > this.maxPooledBytes) return;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.pooledBytes += size;
  }

  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }
}

function sizeClass(length: number): number {
  let size = MIN_CLASS;
  while (size < length) size *= 2;
  return size;
}
