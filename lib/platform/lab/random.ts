// Deterministic randomness for the lab estate.
//
// The simulated vSphere must look the same for a given seed, so tests, demos and screenshots are
// reproducible across machines and runs. Nothing here uses Math.random, and nothing here is fit
// for cryptography: it only shapes a pretend inventory.

/** mulberry32: a tiny, fast 32-bit generator with a full 2^32 period. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a: turns a label into 32 bits, so each part of the estate gets its own stream. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export class Rng {
  private readonly next: () => number;

  constructor(private readonly seed: number) {
    this.next = mulberry32(seed);
  }

  /**
   * An independent stream for one part of the estate. Separate streams keep a change in one
   * generator (say, one more proxy) from reshuffling every VM that is drawn after it.
   */
  fork(label: string): Rng {
    return new Rng((this.seed ^ fnv1a(label)) >>> 0);
  }

  float(): number {
    return this.next();
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[Math.floor(this.next() * items.length)];
  }

  /** Picks a key with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [key, weight] of entries) {
      roll -= weight;
      if (roll < 0) return key;
    }
    return entries[entries.length - 1][0];
  }

  /** A random RFC 4122 version-4 UUID; KMS servers commonly use this shape for KMIP unique ids. */
  uuid(): string {
    const hex = Array.from({ length: 4 }, () => Math.floor(this.next() * 2 ** 32).toString(16).padStart(8, "0")).join("");
    const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}

/**
 * Hands out vSphere-style managed object references ("vm-1042", "host-12"). One counter per type
 * across all sites, so ids are unique platform-wide even though vSphere only promises uniqueness
 * per vCenter. Small gaps mimic a real vCenter, where removed objects leave holes.
 */
export class MorefAllocator {
  private readonly counters = new Map<string, number>();

  constructor(
    private readonly rng: Rng,
    private readonly starts: Readonly<Record<string, number>>,
  ) {}

  next(type: string): string {
    const current = this.counters.get(type) ?? this.starts[type] ?? 1;
    this.counters.set(type, current + this.rng.int(1, 3));
    return `${type}-${current}`;
  }
}
