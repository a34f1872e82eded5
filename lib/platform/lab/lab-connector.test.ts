import { describe, expect, it } from "vitest";
import type { PlatformConnector } from "../connector";
import { generateEstate } from "./estate";
import { LabConnector } from "./lab-connector";

describe("LabConnector", () => {
  it("says it is a simulated vSphere", async () => {
    const connector: PlatformConnector = new LabConnector();
    expect(await connector.describe()).toEqual({
      kind: "lab",
      simulated: true,
      name: "Strongroom lab (simulated vSphere)",
      version: "8.0.3 (simulated)",
    });
  });

  it("serves the estate generated from its options", async () => {
    expect(await new LabConnector({ vmCount: 12, seed: 5 }).inventory()).toEqual(generateEstate({ vmCount: 12, seed: 5 }));
    expect(await new LabConnector().inventory()).toEqual(generateEstate());
  });

  it("keeps its inventory stable when a caller edits the snapshot it was given", async () => {
    const connector = new LabConnector({ vmCount: 5 });
    const first = await connector.inventory();
    first.vms[0].name = "tampered";
    first.vms.pop();
    const second = await connector.inventory();
    expect(second).toEqual(generateEstate({ vmCount: 5 }));
  });
});
