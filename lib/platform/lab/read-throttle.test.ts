import { describe, expect, it } from "vitest";
import type { DiskWriter } from "../disk-io";
import { throttledReader, throttledWriter } from "./read-throttle";
import type { TransportReader } from "./transport";

const MiB = 1024 * 1024;

function memoryReader(): TransportReader & { reads: number } {
  const r = {
    mode: "hotadd" as const,
    capacityBytes: 64 * MiB,
    reads: 0,
    async read(_offset: number, length: number) {
      r.reads++;
      return Buffer.alloc(length, 7);
    },
    async readInto(_offset: number, target: Buffer) {
      r.reads++;
      target.fill(7);
    },
    async close() {},
  };
  return r;
}

describe("throttledReader (the lab's simulated link speed)", () => {
  it("delivers no faster than its rate, also with a read ahead in flight, and the same bytes", async () => {
    const inner = memoryReader();
    const reader = throttledReader(inner, 16 * MiB);
    const started = performance.now();
    const a = Buffer.alloc(MiB);
    const b = Buffer.alloc(MiB);
    // Two at a time, as backupDisk reads one block ahead: 8 MiB at 16 MiB/s is ≥ 500 ms.
    for (let i = 0; i < 4; i++) await Promise.all([reader.readInto(2 * i * MiB, a), reader.readInto((2 * i + 1) * MiB, b)]);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(490);
    expect(took).toBeLessThan(5_000);
    expect(inner.reads).toBe(8);
    expect(a.every((x) => x === 7) && b.every((x) => x === 7)).toBe(true);
    expect((await reader.read(0, 4096)).length).toBe(4096);
    expect(reader.mode).toBe("hotadd");
    expect(reader.capacityBytes).toBe(64 * MiB);
  });

  it("is the reader itself without a rate", () => {
    const inner = memoryReader();
    expect(throttledReader(inner, 0)).toBe(inner);
    expect(throttledReader(inner, Number.NaN)).toBe(inner);
  });
});

describe("throttledWriter (the same link speed for restore writes)", () => {
  it("takes in no faster than its rate, with writes in parallel, and passes every byte on", async () => {
    const got: Array<[number, number]> = [];
    const inner: DiskWriter = { mode: "nbdssl", capacityBytes: 64 * MiB, write: async (o, d) => void got.push([o, d.length]), close: async () => {}, abort: async () => {} };
    const writer = throttledWriter(inner, 16 * MiB);
    const started = performance.now();
    for (let i = 0; i < 4; i++) await Promise.all([writer.write(2 * i * MiB, Buffer.alloc(MiB)), writer.write((2 * i + 1) * MiB, Buffer.alloc(MiB))]);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(490);
    expect(took).toBeLessThan(5_000);
    expect(got.map(([o]) => o / MiB).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(writer.mode).toBe("nbdssl");
    expect(throttledWriter(inner, 0)).toBe(inner);
  });
});
