import { describe, expect, it } from "vitest";
import type { PlacementSite } from "@/lib/restore/placement";
import { defaultReplicaPlacement, replicaDatastoreRefusal, replicaDiskEncrypted, replicaHomeEncrypted } from "./replica-placement";

const site: PlacementSite = {
  datastores: [
    { externalId: "ds-enc", name: "dr-vsan", freeBytes: 10e12, encryptionCompatible: true, compatiblePolicyExternalIds: ["pol-enc", "pol-plain"] },
    { externalId: "ds-plain", name: "dr-nfs", freeBytes: 20e12, encryptionCompatible: false, compatiblePolicyExternalIds: ["pol-plain"] },
  ],
  storagePolicies: [
    { externalId: "pol-enc", name: "VM Encryption Policy", encryption: true },
    { externalId: "pol-plain", name: "Datastore Default", encryption: false },
  ],
  vmEncryptionPolicyExternalId: "pol-enc",
};
const encVm = { encrypted: true, homeStoragePolicyExternalId: "x", disks: [{ deviceKey: 2000, encrypted: true, capacityBytes: 1e9, storagePolicyExternalId: "x" }, { deviceKey: 2001, encrypted: false, capacityBytes: 1e9, storagePolicyExternalId: "x" }] };

describe("replica encryption per key mode (REP-2, REP-4)", () => {
  it("re-key encrypts the home and the source's encrypted disks; an unencrypted source whole", () => {
    expect(replicaHomeEncrypted(encVm, "re-key")).toBe(true);
    expect(encVm.disks.map((d) => replicaDiskEncrypted(encVm, d, "re-key"))).toEqual([true, false]);
    expect(replicaDiskEncrypted({ encrypted: false }, { encrypted: false }, "re-key")).toBe(true);
  });
  it("shared keys follow the source; unencrypted encrypts nothing", () => {
    expect(replicaHomeEncrypted({ encrypted: false }, "shared")).toBe(false);
    expect(replicaDiskEncrypted(encVm, encVm.disks[0], "shared")).toBe(true);
    expect(replicaHomeEncrypted(encVm, "unencrypted")).toBe(false);
    expect(replicaDiskEncrypted(encVm, encVm.disks[0], "unencrypted")).toBe(false);
  });
});

describe("placement (REP-3)", () => {
  it("refuses a datastore outside the VM Encryption Policy node for an encrypted home or disk, with the reason", () => {
    expect(replicaDatastoreRefusal(site.datastores[1], "home", true, 0)).toMatch(/encrypted replica needs its home/);
    expect(replicaDatastoreRefusal(site.datastores[1], "disk", true, 0)).toMatch(/encrypted in the replica/);
    expect(replicaDatastoreRefusal(site.datastores[1], "disk", false, 0)).toBeNull();
    expect(replicaDatastoreRefusal(site.datastores[0], "disk", true, 0)).toBeNull();
    expect(replicaDatastoreRefusal(site.datastores[0], "disk", false, 1e15)).toMatch(/free space/);
  });
  it("defaults encrypted items to the policy node with the encryption policy, unencrypted ones anywhere with a plain policy", () => {
    const p = defaultReplicaPlacement(site, encVm, "re-key");
    expect(p.home).toEqual({ datastoreExternalId: "ds-enc", storagePolicyExternalId: "pol-enc" });
    expect(p.disks[0]).toEqual({ deviceKey: 2000, datastoreExternalId: "ds-enc", storagePolicyExternalId: "pol-enc" });
    expect(p.disks[1]).toEqual({ deviceKey: 2001, datastoreExternalId: "ds-plain", storagePolicyExternalId: "pol-plain" });
  });
});
