import { spawnSync } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useTempFolder } from "./data-plane/testing/temp-folder";
import { LabStateStore } from "./lab-state";

const folder = useTempFolder("strongroom-lab-state-");
const estate = { seed: 1, vmCount: 36 };

describe("lab-state.json shared by several processes", () => {
  it("keeps every process's changes when they write at the same time (no lost update)", async () => {
    const dir = folder();
    // Two stores on one folder stand in for two processes (the console and a worker).
    const a = new LabStateStore(dir, estate);
    const b = new LabStateStore(dir, estate);
    const vms = Array.from({ length: 20 }, (_, i) => `vm-${1000 + i}`);
    await Promise.all(vms.flatMap((vm, i) => [(i % 2 ? a : b).changed(vm, "poweredOn"), (i % 2 ? b : a).changed(vm)]));
    const file = JSON.parse(await readFile(path.join(dir, "lab-state.json"), "utf8"));
    for (const vm of vms) {
      expect(file.vmGenerations[vm], vm).toBe(2);
      expect(file.powerStates[vm], vm).toBe("poweredOn");
    }
    expect(file.generation).toBe(vms.length * 2);
  });

  it("takes over the lock of a process that died mid-write, and waits for a live one", async () => {
    const dir = folder();
    const store = new LabStateStore(dir, estate);
    await store.changed("vm-1001");
    const lock = path.join(dir, "lab-state.json.lock");
    const dead = spawnSync(process.execPath, ["-e", ""]).pid; // exited: its pid runs no more
    await writeFile(lock, String(dead));
    await store.changed("vm-1001");
    expect(JSON.parse(await readFile(path.join(dir, "lab-state.json"), "utf8")).vmGenerations["vm-1001"]).toBe(2);

    await writeFile(lock, String(process.ppid)); // a live process holds it
    let done = false;
    const waiting = store.changed("vm-1001").then(() => (done = true));
    await new Promise((r) => setTimeout(r, 200)); // a negative: it must still be waiting after a while
    expect(done).toBe(false);
    await rm(lock); // the holder is done
    await waiting;
    expect(JSON.parse(await readFile(path.join(dir, "lab-state.json"), "utf8")).vmGenerations["vm-1001"]).toBe(3);
  });
});
