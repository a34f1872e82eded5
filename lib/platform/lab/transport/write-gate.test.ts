// The per-export write gate: aligned writes side by side, an unaligned (read-modify-write) one
// alone, in arrival order.

import { describe, expect, it } from "vitest";
import { WriteGate } from "./write-gate";

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("WriteGate", () => {
  it("runs shared work side by side and exclusive work alone, in arrival order", async () => {
    const gate = new WriteGate();
    const log: string[] = [];
    let running = 0;
    let peak = 0;
    const job = (name: string, exclusive: boolean) =>
      gate.run(exclusive, async () => {
        running++;
        peak = Math.max(peak, running);
        log.push(`+${name}`);
        if (exclusive) expect(running).toBe(1);
        await tick();
        log.push(`-${name}`);
        running--;
      });
    await Promise.all([job("a", false), job("b", false), job("X", true), job("c", false), job("Y", true)]);
    expect(log).toEqual(["+a", "+b", "-a", "-b", "+X", "-X", "+c", "-c", "+Y", "-Y"]);
    expect(peak).toBe(2);
    expect(gate.busy).toBe(0);
  });

  it("lets the next work in when work fails", async () => {
    const gate = new WriteGate();
    await expect(gate.run(true, async () => Promise.reject(new Error("disk gone")))).rejects.toThrow("disk gone");
    await expect(gate.run(false, async () => 7)).resolves.toBe(7);
  });
});
