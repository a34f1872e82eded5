// The in-memory twin of the repository store. Puts are atomic by construction (the Map entry is
// replaced in one step); bytes are copied in and out so that callers reusing buffers cannot alter
// what is "on disk". Tests reach `files` directly to flip bits, truncate and swap.

import { NotFoundError } from "../errors";
import { assertValidName, chunksOf, isTemporaryName, type RepositoryStore } from "./store";

export class MemoryStore implements RepositoryStore {
  /** name → content. Temporaries live here too (only FaultyStore creates them). */
  readonly files = new Map<string, Buffer>();

  async put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    assertValidName(name);
    this.files.set(name, Buffer.concat(chunksOf(data)));
  }

  /** Used by FaultyStore to leave the debris an interrupted put leaves on a real filesystem. */
  putTemporary(name: string, data: Uint8Array): void {
    assertValidName(name, { allowTemporary: true });
    this.files.set(name, Buffer.from(data));
  }

  async get(name: string): Promise<Buffer> {
    return Buffer.from(this.mustGet(name));
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    const f = this.mustGet(name);
    return Buffer.from(f.subarray(Math.min(offset, f.length), Math.min(offset + length, f.length)));
  }

  async size(name: string): Promise<number | undefined> {
    assertValidName(name);
    return this.files.get(name)?.length;
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.files.keys()].filter((n) => n.startsWith(prefix) && !isTemporaryName(n)).sort();
  }

  async listTemporary(): Promise<string[]> {
    return [...this.files.keys()].filter(isTemporaryName).sort();
  }

  async delete(name: string): Promise<void> {
    assertValidName(name, { allowTemporary: true });
    this.files.delete(name);
  }

  /** A deep copy, for tests that replay from one state many times. */
  clone(): MemoryStore {
    const copy = new MemoryStore();
    for (const [k, v] of this.files) copy.files.set(k, Buffer.from(v));
    return copy;
  }

  private mustGet(name: string): Buffer {
    assertValidName(name);
    const f = this.files.get(name);
    if (!f) throw new NotFoundError(name);
    return f;
  }
}
