import { describe, expect, it } from "vitest";
import type { ReplicationWizardOptionsDto, ReplicationWizardVm } from "@/lib/services/replication/get-replication-wizard-options";
import { allowedKeyProviders, initialForm, normalize, S, sharedKeys, toInput, wizardErrors } from "./wizard-form";

const kp = (externalId: string, tenantName: string | null) => ({ externalId, name: externalId, kind: "native" as const, tenantName, isDefault: false, reachable: true, why: null });
const vm = (externalId: string, tenant: string | null, encrypted: boolean, shared: string[] = []): ReplicationWizardVm => ({
  externalId,
  name: externalId,
  siteExternalId: "prod",
  siteName: "Production",
  tenantExternalId: tenant,
  tenantName: tenant,
  folder: "/Apps",
  encrypted,
  vtpm: false,
  keyProviderName: encrypted ? "kms" : null,
  disks: [{ deviceKey: 2000, label: "Hard disk 1", capacityBytes: 1e9, encrypted, storagePolicyExternalId: "p-src" }],
  homeStoragePolicyExternalId: "p-src",
  nics: [{ deviceKey: 4000, label: "Network adapter 1", adapterType: "vmxnet3", macAddress: "00:50:56:00:00:01", networkName: "Prod-LAN", connected: true }],
  targets: { dr: { keyProviders: [kp("kp-site", null), ...(tenant ? [kp(`kp-${tenant}`, tenant)] : [])], sharedKeyProviders: shared, sharedWhy: encrypted && shared.length === 0 ? `DR does not reach the key of ${externalId}` : null } },
});

const options: ReplicationWizardOptionsDto = {
  vms: [vm("a-app", "acme", true), vm("g-app", "globex", true), vm("plain", null, false), vm("shared-vm", "acme", true, ["kp-acme"])],
  vmTotal: 4,
  sites: [
    {
      externalId: "dr",
      name: "DR",
      role: "dr",
      hosts: [{ externalId: "h1", name: "esx-dr-01", cluster: "c", usable: true, why: null }],
      datastores: [
        { externalId: "ds-enc", name: "dr-vsan", type: "vSAN", capacityBytes: 1e13, freeBytes: 1e12, encryptionCompatible: true, compatiblePolicyExternalIds: ["p-enc", "p-plain"] },
        { externalId: "ds-nfs", name: "dr-nfs", type: "NFS", capacityBytes: 1e13, freeBytes: 5e12, encryptionCompatible: false, compatiblePolicyExternalIds: ["p-plain"] },
      ],
      storagePolicies: [
        { externalId: "p-enc", name: "VM Encryption Policy", encryption: true },
        { externalId: "p-plain", name: "Datastore Default", encryption: false },
      ],
      networks: [{ externalId: "n1", name: "DR-LAN", vlanId: 10, hostExternalIds: ["h1"] }],
      vmEncryptionPolicyExternalId: "p-enc",
      hasKeyProvider: true,
      vmNames: [],
    },
  ],
  tenants: [],
  proxies: [],
  existingJobNames: ["taken"],
  seedRepositories: [{ id: "repo-1", name: "DR repository", vmExternalIds: ["a-app"] }],
};

const withVms = (ids: string[], extra: Record<string, unknown> = {}) => normalize(options, { ...initialForm(options), name: "job", ...extra, vmIds: ids }, initialForm(options));

describe("key providers and shared keys (REP-2)", () => {
  it("offers VMs of two tenants only the site's own provider, never one tenant's to the other", () => {
    expect(allowedKeyProviders([options.vms[0]], "dr").map((k) => k.externalId)).toEqual(["kp-site", "kp-acme"]);
    expect(allowedKeyProviders([options.vms[0], options.vms[1]], "dr").map((k) => k.externalId)).toEqual(["kp-site"]);
  });
  it("says why shared keys are not possible", () => {
    expect(sharedKeys([options.vms[2]], "dr").why).toMatch(/None of the chosen VMs is encrypted/);
    expect(sharedKeys([options.vms[3], options.vms[0]], "dr").why).toMatch(/does not reach the key of a-app/);
    expect(sharedKeys([options.vms[3]], "dr")).toEqual({ providers: ["kp-acme"], why: null });
  });
});

describe("the steps' problems", () => {
  it("defaults an encrypted VM's replica under the policy node with re-key, its adapter disconnected (no network of the same name)", () => {
    const f = withVms(["a-app"]);
    expect(f.keyMode).toBe("re-key");
    expect(f.targetKeyProviderExternalId).toBe("kp-site");
    expect(f.placements["a-app"].home).toEqual({ datastoreExternalId: "ds-enc", storagePolicyExternalId: "p-enc" });
    expect(f.placements["a-app"].networks).toEqual([{ nicDeviceKey: 4000, networkExternalId: null }]);
    expect(wizardErrors(options, f, null).every((e) => Object.keys(e).length === 0)).toBe(true);
    expect(toInput(options, f).vms[0]).toMatchObject({ name: "a-app_replica", folder: "/Apps" });
  });
  it("refuses the encrypted replica's home outside the policy node; unencrypted replicas may go there, unless refused", () => {
    const f = withVms(["a-app"]);
    const moved = { ...f, placements: { "a-app": { ...f.placements["a-app"], home: { datastoreExternalId: "ds-nfs", storagePolicyExternalId: "p-plain" } } } };
    const e = wizardErrors(options, moved, null);
    expect(e[S.destination]["a-app.home"]).toMatch(/encrypted replica needs its home/);
    expect(e[S.keys]._placement).toMatch(/Go back to Destination/);
    const plain = normalize(options, { ...moved, keyMode: "unencrypted" }, moved);
    expect(plain.placements["a-app"].home.datastoreExternalId).toBe("ds-nfs");
    expect(Object.keys(wizardErrors(options, plain, null)[S.destination])).toEqual([]);
    expect(wizardErrors(options, { ...plain, refuseUnencrypted: true }, null)[S.keys].refuseUnencrypted).toMatch(/refuses unencrypted replicas/);
  });
  it("changing the key mode keeps the datastore and picks the policy it needs there", () => {
    const f = withVms(["a-app"]);
    const plain = normalize(options, { ...f, keyMode: "unencrypted" }, f);
    expect(plain.placements["a-app"].disks[0]).toEqual({ deviceKey: 2000, datastoreExternalId: "ds-enc", storagePolicyExternalId: "p-plain" });
    const back = normalize(options, { ...plain, keyMode: "re-key" }, plain);
    expect(back.placements["a-app"].disks[0].storagePolicyExternalId).toBe("p-enc");
  });
  it("blocks a name in use, no VM, shared keys where impossible, and puts the server's problem on its step", () => {
    const e = wizardErrors(options, { ...withVms([]), name: "Taken", keyMode: "shared" }, { field: "vms.0.home", message: "The replica cannot be created as chosen" });
    expect(e[S.name].name).toMatch(/exists/);
    expect(e[S.vms].vms).toMatch(/Choose at least one VM/);
    expect(e[S.destination]["server:vms.0.home"]).toMatch(/cannot be created/);
    expect(wizardErrors(options, withVms(["g-app"], { keyMode: "shared" }), null)[S.keys].keyMode).toMatch(/Shared keys are not possible/);
  });
});

describe("the target site", () => {
  it("moves off the VM's own site when the first VM chosen runs on the default target", () => {
    const two = { ...options, sites: [{ ...options.sites[0] }, { ...options.sites[0], externalId: "prod", name: "Production", role: "production" }] };
    const vmAtDr = { ...options.vms[0], siteExternalId: "dr", targets: { ...options.vms[0].targets, prod: options.vms[0].targets.dr } };
    const opts = { ...two, vms: [vmAtDr] };
    const f0 = initialForm(opts);
    expect(f0.targetSiteExternalId).toBe("dr");
    const f1 = normalize(opts, { ...f0, vmIds: [vmAtDr.externalId] }, f0);
    expect(f1.targetSiteExternalId).toBe("prod");
    expect(f1.placements[vmAtDr.externalId].home.datastoreExternalId).toBe("ds-enc");
  });
});

describe("seeding the first run (REP-1)", () => {
  it("sends the chosen repository, and blocks Data transfer when it holds no point of a chosen VM", () => {
    const one = withVms(["a-app"], { seedFromRepositoryId: "repo-1" });
    expect(toInput(options, one).seedFromRepositoryId).toBe("repo-1");
    expect(wizardErrors(options, one, null)[S.transfer].seedFromRepositoryId).toBeUndefined();
    const two = withVms(["a-app", "plain"], { seedFromRepositoryId: "repo-1" });
    expect(wizardErrors(options, two, null)[S.transfer].seedFromRepositoryId).toMatch(/DR repository holds no restore point of plain/);
    expect(toInput(options, withVms(["a-app"])).seedFromRepositoryId).toBeNull();
  });
});
