// Per-block ordering of a virtual disk's writes: a write holds the 1 MiB blocks it touches, and a
// later write touching any of them waits for it; writes to other blocks run at once. All the blocks
// of one write are taken in one synchronous step, so two writes can never wait on each other.

export class BlockLocks {
  private readonly tails = new Map<number, Promise<void>>();

  /** Waits for the earlier holders of blocks [first, last]; resolves to the release function. */
  async acquire(first: number, last: number): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const before: Promise<void>[] = [];
    for (let b = first; b <= last; b++) {
      const t = this.tails.get(b);
      if (t) before.push(t);
      this.tails.set(b, mine);
    }
    if (before.length) await Promise.all(before);
    return () => {
      for (let b = first; b <= last; b++) if (this.tails.get(b) === mine) this.tails.delete(b);
      release();
    };
  }

  /** Blocks held or waited for (tests). */
  get held(): number {
    return this.tails.size;
  }
}
