// Reusable buffers for the NBD server: read replies and write payloads. A fresh 1 MiB Buffer per
// request costs more than the data's own handling here (page faults on memory the allocator keeps
// handing back to the OS; see STACK.md "Engine performance facts"), so each connection keeps the
// buffers its requests used and hands them out again once the socket (a read) or the disk (a
// write) is done with them.

/** Smallest size class: requests below this share one class. */
const MIN_CLASS = 64 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  /** Views handed out by lease(), to the pooled buffer they cut. */
  private readonly leased = new WeakMap<Buffer, Buffer>();
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

  /** A view of exactly `length` bytes of a pooled buffer; hand it back with giveBack(). */
  lease(length: number): Buffer {
    const whole = this.acquire(length);
    const view = whole.subarray(0, length);
    this.leased.set(view, whole);
    return view;
  }

  giveBack(view: Buffer): void {
    const whole = this.leased.get(view);
    if (!whole) return; // not ours (e.g. a view of a received chunk): the GC has it
    this.leased.delete(view);
    this.release(whole);
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
