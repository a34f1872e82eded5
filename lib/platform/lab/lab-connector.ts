// The built-in lab connector: a simulated vSphere (INV-1…3). For now it serves a generated
// inventory; a later step gives the lab real disk files and state that changes over time.

import type { InventorySnapshot, PlatformConnector, PlatformDescription } from "../connector";
import { generateEstate, type EstateOptions } from "./estate";

export class LabConnector implements PlatformConnector {
  private estate: InventorySnapshot | null = null;

  constructor(private readonly options: EstateOptions = {}) {}

  async describe(): Promise<PlatformDescription> {
    return { kind: "lab", simulated: true, name: "Strongroom lab (simulated vSphere)", version: "8.0.3 (simulated)" };
  }

  async inventory(): Promise<InventorySnapshot> {
    // Generated once: the estate is deterministic, and a 10 000-VM lab should not be rebuilt per call.
    this.estate ??= generateEstate(this.options);
    // A copy, so a caller that edits its snapshot cannot change what the platform reports next.
    return structuredClone(this.estate);
  }
}
