import { describe, expect, it } from "vitest";
import type { FailbackOptionsDto } from "@/lib/services/failback/get-failback-options";
import { destinationInput, failbackStepProblem, initialFailbackForm, keyPlanWords } from "./failback-wizard-form";

const options = (over: Partial<FailbackOptionsDto> = {}): FailbackOptionsDto => ({
  replica: { id: "r1", replicaVmName: "web_replica", sourceVmName: "web", sourceVmExternalId: "vm-web", state: "Failover", keyMode: "re-key", keyId: "k-dr", encrypted: true, drSiteName: "DR", drKeyProviderName: "DR native", disks: [{ deviceKey: 2000, label: "Hard disk 1", capacityBytes: 1000, encrypted: true }] },
  original: { externalId: "vm-web", name: "web", siteName: "Prod", keyProviderExternalId: "kp-prod", keyProviderName: "Prod native" },
  vms: [{ externalId: "vm-restored", name: "web-restored", siteName: "Prod", encrypted: true }],
  sites: [
    {
      externalId: "prod",
      name: "Prod",
      hosts: [{ externalId: "h1", name: "esx-1", usable: true }],
      datastores: [
        { externalId: "ds-enc", name: "enc-ds", type: "VMFS", capacityBytes: 10_000, freeBytes: 10_000, encryptionCompatible: true, compatiblePolicyExternalIds: ["p-enc", "p-plain"] },
        { externalId: "ds-plain", name: "plain-ds", type: "NFS", capacityBytes: 10_000, freeBytes: 10_000, encryptionCompatible: false, compatiblePolicyExternalIds: ["p-plain"] },
      ],
      storagePolicies: [{ externalId: "p-enc", name: "VM Encryption Policy", encryption: true }, { externalId: "p-plain", name: "Default", encryption: false }],
      keyProviders: [{ externalId: "kp-prod", name: "Prod native", isDefault: true, tenant: false }],
    },
  ],
  ...over,
});

describe("failback wizard form", () => {
  it("defaults to the original VM, and to a new location when the original is gone", () => {
    expect(initialFailbackForm(options()).kind).toBe("original");
    expect(initialFailbackForm(options({ original: null })).kind).toBe("new-vm");
    const f = { ...initialFailbackForm(options({ original: null })), kind: "original" as const };
    expect(failbackStepProblem(0, f, options({ original: null }))).toMatch(/not at the production site any more/);
  });

  it("a restored VM must be chosen", () => {
    const f = { ...initialFailbackForm(options()), kind: "restored-vm" as const };
    expect(failbackStepProblem(0, f, options())).toBe("Choose the production VM the original was restored to.");
    expect(destinationInput({ ...f, vmExternalId: "vm-restored" }, options())).toEqual({ kind: "restored-vm", vmExternalId: "vm-restored" });
  });

  it("a new location: an encrypted VM outside the VM Encryption Policy node is refused with the reason", () => {
    const o = options();
    const f = { ...initialFailbackForm(o), kind: "new-vm" as const, homeDatastore: "ds-plain", disks: { 2000: "ds-enc" } };
    expect(failbackStepProblem(0, f, o)).toMatch(/^VM home on plain-ds: Not under the VM Encryption Policy/);
    const ok = { ...f, homeDatastore: "ds-enc" };
    expect(failbackStepProblem(0, ok, o)).toBeUndefined();
    expect(destinationInput(ok, o)).toEqual({
      kind: "new-vm",
      hostExternalId: "h1",
      name: "web-failback",
      home: { datastoreExternalId: "ds-enc", storagePolicyExternalId: "p-enc" },
      disks: [{ deviceKey: 2000, datastoreExternalId: "ds-enc", storagePolicyExternalId: "p-enc" }],
    });
  });

  it("says the key plan in words: re-key under production's provider, shared keeps the source's key id", () => {
    const o = options();
    expect(keyPlanWords(initialFailbackForm(o), o)).toBe("Re-key: The original VM web keeps its own key, under the production site's key provider Prod native — never the DR site's (DR native): the replica's key stays at the DR site.");
    const newVm = { ...initialFailbackForm(o), kind: "new-vm" as const };
    expect(keyPlanWords(newVm, o)).toBe("Re-key: the new VM web-failback gets a new key from the production site's key provider Prod native, never from the DR site's (DR native): the replica's key stays at the DR site.");
    const plainOriginal = options({ original: { ...o.original!, keyProviderExternalId: null, keyProviderName: null } });
    expect(keyPlanWords(initialFailbackForm(plainOriginal), plainOriginal)).toMatch(/^The original VM web is not encrypted and stays so/);
    const shared = options({ replica: { ...o.replica, keyMode: "shared", keyId: "k-src" } });
    expect(keyPlanWords(initialFailbackForm(shared), shared)).toContain("keeps the source's key, k-src");
  });

  it("wants a reason", () => {
    expect(failbackStepProblem(2, initialFailbackForm(options()), options())).toMatch(/Say why/);
  });
});
