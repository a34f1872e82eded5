// A FIFO of received bytes for the incremental NBD decoders. TCP hands us chunks of any size; a
// message may span many chunks and a chunk may hold many messages. Concatenating every chunk onto
// one growing Buffer would copy a megabyte read payload once per arriving 64 KiB segment, so the
// queue keeps the chunks as they came and copies only what a caller takes.

export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private head = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /**
   * The first `n` bytes without consuming them. Zero-copy when they sit in one chunk, which is the
   * common case for headers; the caller must not keep the view after pushing or taking.
   */
  peek(n: number): Buffer {
    if (n > this.total) throw new RangeError(`peek(${n}) with ${this.total} bytes queued`);
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, 0, n, false);
    return out;
  }

  /** Consumes `n` bytes and returns them (a fresh copy unless they sit in one chunk). */
  take(n: number): Buffer {
    const out = this.peek(n);
    // peek may return a view into a chunk that skip() is about to drop: that is fine, the view
    // keeps the chunk's memory alive and nobody writes into received chunks.
    this.skip(n);
    return out;
  }

  /** Consumes `target.length` bytes by copying them straight into `target` (no intermediate Buffer). */
  takeInto(target: Buffer): void {
    if (target.length > this.total) throw new RangeError(`takeInto(${target.length}) with ${this.total} bytes queued`);
    this.copyOut(target, 0, target.length, true);
  }

  skip(n: number): void {
    if (n > this.total) throw new RangeError(`skip(${n}) with ${this.total} bytes queued`);
    let left = n;
    while (left > 0) {
      const first = this.chunks[0];
      const avail = first.length - this.head;
      if (avail > left) {
        this.head += left;
        break;
      }
      left -= avail;
      this.chunks.shift();
      this.head = 0;
    }
    this.total -= n;
  }

  /** Everything still queued, consumed (used to hand leftovers over when a stream changes hands). */
  drain(): Buffer {
    return this.take(this.total);
  }

  private copyOut(target: Buffer, at: number, n: number, consume: boolean): void {
    let copied = 0;
    let index = 0;
    let start = this.head;
    while (copied < n) {
      const chunk = this.chunks[index];
      const count = Math.min(chunk.length - start, n - copied);
      chunk.copy(target, at + copied, start, start + count);
      copied += count;
      index++;
      start = 0;
    }
    if (consume) this.skip(n);
  }
}
