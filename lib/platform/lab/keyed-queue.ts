// One queue per key: work for the same key runs one at a time, in call order; different keys run
// concurrently. The lab uses it per VM, as vCenter serialises tasks on one VM.

export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(() => work());
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    // Forget idle keys, so 10 000 VMs touched once do not keep 10 000 settled promises.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
