// Deterministic pseudo-random bytes for the lab's generated content (guest data, NVRAM): AES-256-CTR
// keystream under SHA-256(label). Fast (GB/s), incompressible, reproducible from a seed — and not a
// secret: anyone with the label can regenerate it, which is the point for tests and demos.

import { createCipheriv, createHash } from "node:crypto";

export class SeededBytes {
  private readonly key: Buffer;
  private readonly iv = Buffer.alloc(16);

  constructor(label: string) {
    this.key = createHash("sha256").update(`strongroom lab bytes|${label}`).digest();
  }

  /**
   * Fills `target` with the keystream of stream number `stream` (e.g. a block number): the same
   * (label, stream) always gives the same bytes, and different streams never overlap.
   */
  fill(target: Buffer, stream = 0): Buffer {
    this.iv.fill(0);
    this.iv.writeUInt32BE(Math.floor(stream / 2 ** 32), 0);
    this.iv.writeUInt32BE(stream >>> 0, 4);
    const c = createCipheriv("aes-256-ctr", this.key, this.iv);
    // CTR of zeros is the keystream; encrypting the target in place avoids a second buffer.
    target.fill(0);
    for (let at = 0; at < target.length; at += 64 * 1024) {
      const part = target.subarray(at, Math.min(at + 64 * 1024, target.length));
      c.update(part).copy(part);
    }
    return target;
  }

  /** A uniform integer in [0, n) for stream `stream`, for choices that must be reproducible. */
  pick(n: number, stream: number): number {
    const b = this.fill(Buffer.alloc(8), stream + 2 ** 40);
    return Math.floor((b.readUInt32BE(0) / 2 ** 32) * n);
  }
}
