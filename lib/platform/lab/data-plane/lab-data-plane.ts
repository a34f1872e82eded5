// The lab's data plane as one object: which VMs have real files, where their .vmx is, and one open
// LabVm per VM (two objects on the same disk files would keep two CBT states and race on writes).
// This is what the lab connector and the transport layer hold.
//
// Layout under `root`:
//   <root>/datastores/<datastore>/<vm>/…   VM homes and disks (datastore-path.ts)
//   <root>/vm-inventory.json               { format, version, vms: { <vmId>: "<[ds] vm/vm.vmx>" } }
// The inventory is vCenter's "registered VMs": written atomically, one writer at a time.

import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "./atomic-file";
import { FORMAT_VERSION } from "./formats";
import { LabVm, type CreateVmSpec } from "./lab-vm";
import { HostError } from "./types";

const INVENTORY_FORMAT = "strongroom-lab-vm-inventory";

export class LabDataPlane {
  private readonly open = new Map<string, Promise<LabVm>>();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(readonly root: string) {}

  get datastoresRoot(): string {
    return path.join(this.root, "datastores");
  }

  /** Creates a VM's files and registers it (InvalidState if the id is taken). */
  async createVm(spec: CreateVmSpec): Promise<LabVm> {
    return this.serial(async () => {
      const vms = await this.readInventory();
      if (vms[spec.vmId]) throw new HostError("InvalidState", `VM ${spec.vmId} already exists`);
      const vm = await LabVm.create(this.datastoresRoot, spec);
      await this.writeInventory({ ...vms, [spec.vmId]: vm.vmxFileName });
      this.open.set(spec.vmId, Promise.resolve(vm));
      return vm;
    });
  }

  /** The VM, opened once and shared; HostError NotFound when it has no files in the lab. */
  async vm(vmId: string): Promise<LabVm> {
    let pending = this.open.get(vmId);
    if (!pending) {
      pending = this.readInventory().then((vms) => {
        const vmx = vms[vmId];
        if (!vmx) throw new HostError("NotFound", `VM ${vmId} has no files in the lab`);
        return LabVm.open(this.datastoresRoot, vmx);
      });
      this.open.set(vmId, pending);
      pending.catch(() => this.open.delete(vmId));
    }
    return pending;
  }

  /**
   * Closes one VM's open files and wipes its keys; the next vm() reads its .vmx and disks again.
   * For callers that rewrote the VM's files (the lab connector re-encrypting a VM).
   */
  async closeVm(vmId: string): Promise<void> {
    const pending = this.open.get(vmId);
    this.open.delete(vmId);
    const vm = await pending?.catch(() => undefined);
    await vm?.close();
  }

  async vmIds(): Promise<string[]> {
    return Object.keys(await this.readInventory()).sort();
  }

  /** Deletes the VM's files and unregisters it. */
  async removeVm(vmId: string): Promise<void> {
    const vm = await this.vm(vmId);
    await this.serial(async () => {
      await vm.destroy();
      this.open.delete(vmId);
      const { [vmId]: _removed, ...rest } = await this.readInventory();
      await this.writeInventory(rest);
    });
  }

  /** Closes every open VM (their keys are wiped). */
  async close(): Promise<void> {
    const vms = await Promise.allSettled([...this.open.values()]);
    this.open.clear();
    for (const r of vms) if (r.status === "fulfilled") await r.value.close();
  }

  private get inventoryPath(): string {
    return path.join(this.root, "vm-inventory.json");
  }

  private async readInventory(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.inventoryPath, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw err;
    }
    const file = JSON.parse(text) as { format?: string; version?: number; vms?: Record<string, string> };
    if (file.format !== INVENTORY_FORMAT || file.version !== FORMAT_VERSION.vmInventory || typeof file.vms !== "object" || !file.vms) {
      throw new HostError("FileFault", `${this.inventoryPath} is not a lab VM inventory (version ${String(file.version)})`);
    }
    return file.vms;
  }

  private async writeInventory(vms: Record<string, string>): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await writeFileAtomic(this.inventoryPath, JSON.stringify({ format: INVENTORY_FORMAT, version: FORMAT_VERSION.vmInventory, vms }, null, 2) + "\n");
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(() => work());
    this.writes = run.catch(() => undefined);
    return run;
  }
}
