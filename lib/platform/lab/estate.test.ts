import { describe, expect, it } from "vitest";
import type { InventorySnapshot, PlatformVm } from "../connector";
import { DEFAULT_SEED, DEFAULT_VM_COUNT, generateEstate } from "./estate";

const estate = generateEstate();

/** Lookup tables and a problem collector, so a broken invariant names the objects that break it. */
function index(e: InventorySnapshot) {
  const byId = <T extends { externalId: string }>(items: T[]) => new Map(items.map((i) => [i.externalId, i]));
  return {
    sites: byId(e.sites),
    tenants: byId(e.tenants),
    hosts: byId(e.hosts),
    policies: byId(e.storagePolicies),
    datastores: byId(e.datastores),
    keyProviders: byId(e.keyProviders),
  };
}

function problems<T>(items: T[], check: (item: T, report: (msg: string) => void) => void): string[] {
  const found: string[] = [];
  for (const item of items) check(item, (msg) => found.push(msg));
  return found.slice(0, 20);
}

const kindOf = (vm: PlatformVm) => `${vm.encrypted ? "encrypted" : "plain"}/${vm.vtpm ? "vtpm" : "no-vtpm"}/${vm.guestOsEncrypted ? "guest-encrypted" : "guest-plain"}`;

/** Every VM-level invariant of INV-2, INV-3, VME-2; used on the default, other seeds and a large estate. */
function vmProblems(e: InventorySnapshot): string[] {
  const ix = index(e);
  return problems(e.vms, (vm, report) => {
    const where = `${vm.name} (${vm.externalId})`;
    const host = ix.hosts.get(vm.hostExternalId);
    if (!ix.sites.has(vm.siteExternalId)) report(`${where}: unknown site`);
    if (host?.siteExternalId !== vm.siteExternalId) report(`${where}: host missing or on another site`);
    if (host && host.connectionState !== "connected") report(`${where}: runs on a host in ${host.connectionState}`);
    if (vm.tenantExternalId !== null && !ix.tenants.has(vm.tenantExternalId)) report(`${where}: unknown tenant`);
    if (vm.vtpm && !vm.encrypted) report(`${where}: vTPM without VM encryption`);
    if (vm.disks.length < 1 || vm.disks.length > 4) report(`${where}: ${vm.disks.length} disks`);

    const placements = [
      { what: "home", ds: vm.homeDatastoreExternalId, policy: vm.homeStoragePolicyExternalId },
      ...vm.disks.map((d) => ({ what: d.label, ds: d.datastoreExternalId, policy: d.storagePolicyExternalId })),
    ];
    for (const p of placements) {
      const ds = ix.datastores.get(p.ds);
      const policy = ix.policies.get(p.policy);
      if (ds?.siteExternalId !== vm.siteExternalId) report(`${where}: ${p.what} datastore missing or on another site`);
      if (policy?.siteExternalId !== vm.siteExternalId) report(`${where}: ${p.what} policy missing or on another site`);
      if (ds && !ds.compatiblePolicyExternalIds.includes(p.policy)) report(`${where}: ${p.what} on ${ds.name}, not compatible with its policy`);
      if (policy && policy.encryption !== vm.encrypted) report(`${where}: ${p.what} policy encryption=${policy.encryption}`);
    }

    vm.disks.forEach((d, i) => {
      if (d.deviceKey !== 2000 + i || d.externalId !== `${vm.externalId}:${d.deviceKey}`) report(`${where}: disk ${i} badly keyed`);
      if (d.capacityBytes < 16 * 2 ** 30 || d.capacityBytes > 2 * 2 ** 40) report(`${where}: ${d.label} of ${d.capacityBytes} bytes`);
      if (!d.fileName.startsWith(`[${ix.datastores.get(d.datastoreExternalId)?.name}] ${vm.name}/`)) report(`${where}: file name ${d.fileName}`);
      if (d.encrypted !== vm.encrypted) report(`${where}: ${d.label} encrypted=${d.encrypted}`);
      if ((d.keyId !== null) !== vm.encrypted) report(`${where}: ${d.label} keyId=${d.keyId}`);
    });

    if (vm.encrypted) {
      const kp = vm.keyProviderExternalId ? ix.keyProviders.get(vm.keyProviderExternalId) : undefined;
      if (!kp || kp.siteExternalId !== vm.siteExternalId) report(`${where}: key provider missing or on another site`);
      if (!vm.keyId || !vm.hasEncryptionBundle) report(`${where}: encrypted without keyId or encryption.bundle`);
      // Tenants bring their own KMS; provider VMs use the provider's KMS or the native provider.
      if (kp && kp.tenantExternalId !== vm.tenantExternalId) report(`${where}: encrypted by ${kp.name}`);
    } else if (vm.keyId !== null || vm.keyProviderExternalId !== null || vm.hasEncryptionBundle) {
      report(`${where}: unencrypted but carries key material`);
    }
  });
}

function uniqueness(e: InventorySnapshot): string[] {
  const dupes = (label: string, values: string[]) => {
    const seen = new Set<string>();
    return values.filter((v) => seen.has(v) || !seen.add(v)).map((v) => `${label}: duplicate ${v}`);
  };
  return [
    ...dupes("site", e.sites.map((s) => s.externalId)),
    ...dupes("tenant", e.tenants.map((t) => t.externalId)),
    // One namespace for the rest: ids are unique platform-wide, not only per site.
    ...dupes("object", [
      ...e.hosts, ...e.storagePolicies, ...e.datastores, ...e.keyProviders, ...e.vms, ...e.proxies,
    ].map((o) => o.externalId)),
    ...dupes("disk", e.vms.flatMap((vm) => vm.disks.map((d) => d.externalId))),
    ...dupes("key id", e.vms.flatMap((vm) => [vm.keyId, ...vm.disks.map((d) => d.keyId)]).filter((k): k is string => k !== null)),
    ...dupes("VM name", [...e.vms, ...e.proxies].map((vm) => vm.name)),
    ...dupes("host name", e.hosts.map((h) => h.name)),
    ...dupes("datastore name", e.datastores.map((d) => `${d.siteExternalId}/${d.name}`)),
  ].slice(0, 20);
}

describe("generateEstate: determinism and options", () => {
  it("gives the same estate for the same seed and a different one for another seed", () => {
    expect(generateEstate({ seed: DEFAULT_SEED, vmCount: DEFAULT_VM_COUNT })).toEqual(estate);
    expect(generateEstate({ seed: 7 })).toEqual(generateEstate({ seed: 7 }));
    const other = generateEstate({ seed: 8 });
    expect(other).not.toEqual(generateEstate({ seed: 7 }));
    expect(other.vms.map((vm) => vm.keyId)).not.toEqual(generateEstate({ seed: 7 }).vms.map((vm) => vm.keyId));
  });

  it("honours vmCount, including tiny labs, and rejects nonsense", () => {
    expect(estate.vms).toHaveLength(36);
    for (const vmCount of [0, 1, 10, 37, 120]) expect(generateEstate({ vmCount }).vms).toHaveLength(vmCount);
    for (const vmCount of [-1, 1.5, Number.NaN, 1_000_000]) expect(() => generateEstate({ vmCount })).toThrow(RangeError);
    expect(() => generateEstate({ seed: 0.5 })).toThrow(RangeError);
  });
});

describe("generateEstate: sites, tenants and key providers (INV-1, VME-4)", () => {
  it("has a production and a DR site, each with hosts in clusters", () => {
    expect(estate.sites.length).toBeGreaterThanOrEqual(2);
    expect(estate.sites.filter((s) => s.role === "production")).toHaveLength(1);
    expect(estate.sites.filter((s) => s.role === "dr")).toHaveLength(1);
    for (const site of estate.sites) {
      const hosts = estate.hosts.filter((h) => h.siteExternalId === site.externalId);
      expect(hosts.filter((h) => h.connectionState === "connected").length, site.name).toBeGreaterThanOrEqual(2);
      expect(hosts.every((h) => h.cluster && h.cpuCores > 0 && h.memoryGiB > 0), site.name).toBe(true);
    }
    expect(estate.hosts.every((h) => estate.sites.some((s) => s.externalId === h.siteExternalId))).toBe(true);
  });

  it("gives each of two tenants its own standard KMS, registered on every site", () => {
    expect(estate.tenants).toHaveLength(2);
    const serversOf = new Map<string, string>();
    for (const tenant of estate.tenants) {
      for (const site of estate.sites) {
        const kps = estate.keyProviders.filter((k) => k.tenantExternalId === tenant.externalId && k.siteExternalId === site.externalId);
        expect(kps, `${tenant.name} at ${site.name}`).toHaveLength(1);
        expect(kps[0].kind).toBe("standard");
        expect(kps[0].servers.length).toBeGreaterThan(0);
        const servers = kps[0].servers.map((s) => `${s.host}:${s.port}`).join(",");
        // Same KMS cluster on both sites, so DR can open the tenant's VMs.
        expect(serversOf.get(tenant.externalId) ?? servers).toBe(servers);
        serversOf.set(tenant.externalId, servers);
      }
    }
    expect(new Set(serversOf.values()).size).toBe(2);
  });

  it("has one default key provider per site, a native one per site, and consistent provider records", () => {
    const ix = index(estate);
    for (const site of estate.sites) {
      const kps = estate.keyProviders.filter((k) => k.siteExternalId === site.externalId);
      expect(kps.filter((k) => k.isDefault), site.name).toHaveLength(1);
      expect(kps.filter((k) => k.kind === "native" && k.tenantExternalId === null), site.name).toHaveLength(1);
      expect(kps.filter((k) => k.kind === "standard" && k.tenantExternalId === null).length, site.name).toBeGreaterThanOrEqual(1);
    }
    for (const kp of estate.keyProviders) {
      expect(ix.sites.has(kp.siteExternalId)).toBe(true);
      expect(kp.kind === "native" ? kp.servers.length === 0 : kp.servers.every((s) => s.port === 5696)).toBe(true);
      if (kp.tenantExternalId) expect(ix.tenants.has(kp.tenantExternalId)).toBe(true);
    }
  });
});

describe("generateEstate: storage (INV-2, INV-3)", () => {
  it("gives each site encryption and non-encryption policies, and a mix of datastores", () => {
    for (const site of estate.sites) {
      const policies = estate.storagePolicies.filter((p) => p.siteExternalId === site.externalId);
      expect(policies.find((p) => p.name === "VM Encryption Policy")?.encryption, site.name).toBe(true);
      const plainDefault = policies.find((p) => p.name === "Datastore Default");
      expect(plainDefault?.encryption).toBe(false);
      const encryptionIds = new Set(policies.filter((p) => p.encryption).map((p) => p.externalId));
      const datastores = estate.datastores.filter((d) => d.siteExternalId === site.externalId);
      expect(new Set(datastores.map((d) => d.type)).size, site.name).toBeGreaterThanOrEqual(3);
      const compatible = datastores.filter((d) => d.compatiblePolicyExternalIds.some((id) => encryptionIds.has(id)));
      expect(compatible.length, site.name).toBeGreaterThan(0);
      expect(compatible.length, site.name).toBeLessThan(datastores.length);
      expect(datastores.some((d) => d.type === "NFS" && !compatible.includes(d))).toBe(true);
      expect(datastores.every((d) => d.compatiblePolicyExternalIds.includes(plainDefault!.externalId))).toBe(true);
    }
  });

  it("only references policies of the datastore's own site", () => {
    const ix = index(estate);
    for (const ds of estate.datastores) {
      for (const id of ds.compatiblePolicyExternalIds) expect(ix.policies.get(id)?.siteExternalId, ds.name).toBe(ds.siteExternalId);
    }
  });

  it("keeps free space consistent with the disks placed on each datastore", () => {
    const placed = new Map<string, number>();
    for (const disk of estate.vms.flatMap((vm) => vm.disks)) placed.set(disk.datastoreExternalId, (placed.get(disk.datastoreExternalId) ?? 0) + disk.capacityBytes);
    for (const ds of estate.datastores) {
      expect(ds.freeBytes, ds.name).toBeGreaterThan(0);
      expect(ds.capacityBytes - ds.freeBytes, ds.name).toBeGreaterThanOrEqual(placed.get(ds.externalId) ?? 0);
    }
  });
});

describe("generateEstate: VMs (INV-2, VME-2, VME-5)", () => {
  it("has at least 30 VMs on both sites, several per tenant", () => {
    expect(estate.vms.length).toBeGreaterThanOrEqual(30);
    for (const site of estate.sites) expect(estate.vms.some((vm) => vm.siteExternalId === site.externalId), site.name).toBe(true);
    for (const tenant of estate.tenants) {
      const vms = estate.vms.filter((vm) => vm.tenantExternalId === tenant.externalId);
      expect(vms.length, tenant.name).toBeGreaterThanOrEqual(5);
      expect(vms.some((vm) => vm.encrypted) && vms.some((vm) => !vm.encrypted), tenant.name).toBe(true);
    }
    expect(estate.vms.filter((vm) => vm.tenantExternalId === null).length).toBeGreaterThanOrEqual(5);
  });

  it("covers every combination of VM encryption, vTPM and guest-OS encryption", () => {
    expect(new Set(estate.vms.map(kindOf))).toEqual(
      new Set(["plain", "encrypted"].flatMap((e) => (e === "plain" ? ["no-vtpm"] : ["no-vtpm", "vtpm"]).flatMap((t) =>
        ["guest-plain", "guest-encrypted"].map((g) => `${e}/${t}/${g}`)))),
    );
  });

  it("encrypts with native and standard providers, with and without vTPM, and at DR", () => {
    const kinds = new Map(estate.keyProviders.map((k) => [k.externalId, k.kind]));
    const seen = new Set(estate.vms.filter((vm) => vm.encrypted).map((vm) => `${kinds.get(vm.keyProviderExternalId!)}/${vm.vtpm}`));
    expect(seen).toEqual(new Set(["native/true", "native/false", "standard/true", "standard/false"]));
    const dr = estate.sites.find((s) => s.role === "dr")!;
    const drVms = estate.vms.filter((vm) => vm.siteExternalId === dr.externalId);
    expect(drVms.some((vm) => vm.encrypted && vm.tenantExternalId !== null)).toBe(true);
  });

  it("keeps every VM consistent: placement, policies, keys, references", () => {
    expect(vmProblems(estate)).toEqual([]);
    for (const seed of [1, 2, 3, 99]) expect(vmProblems(generateEstate({ seed, vmCount: 200 })), `seed ${seed}`).toEqual([]);
  });

  it("looks like vSphere: morefs, folders, names, guest OS, sizes", () => {
    for (const vm of estate.vms) {
      expect(vm.externalId).toMatch(/^vm-\d+$/);
      expect(vm.name).toMatch(/^(acme|globex|prov)-[a-z0-9]+-\d{2,}$/);
      expect(vm.folder).toMatch(vm.tenantExternalId ? /^\/Tenants\/[^/]+\/\w+/ : /^\/Provider\//);
      expect(vm.guestOs).toMatch(/\(64-bit\)$/);
      expect(vm.cpuCount).toBeGreaterThan(0);
      expect(vm.memoryMiB % 1024).toBe(0);
      if (vm.keyId) expect(vm.keyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(estate.hosts.every((h) => /^host-\d+$/.test(h.externalId))).toBe(true);
    expect(estate.datastores.every((d) => /^datastore-\d+$/.test(d.externalId))).toBe(true);
  });

  it("uses unique ids, names and key ids", () => {
    expect(uniqueness(estate)).toEqual([]);
  });
});

describe("generateEstate: proxies (TRN-1, TRN-3, TRN-6)", () => {
  const ix = index(estate);

  it("references hosts and key providers of the proxy's own site", () => {
    for (const p of estate.proxies) {
      expect(p.maxTasks, p.name).toBeGreaterThanOrEqual(2);
      expect(p.maxTasks, p.name).toBeLessThanOrEqual(8);
      expect(p.transportModes.length, p.name).toBeGreaterThan(0);
      if (p.kind === "physical") expect(p.hostExternalId === null && p.keyProviderExternalId === null, p.name).toBe(true);
      else expect(ix.hosts.get(p.hostExternalId!)?.siteExternalId, p.name).toBe(p.siteExternalId);
      if (p.keyProviderExternalId) expect(ix.keyProviders.get(p.keyProviderExternalId)?.siteExternalId, p.name).toBe(p.siteExternalId);
      if (p.tenantExternalId) expect(ix.tenants.has(p.tenantExternalId), p.name).toBe(true);
    }
  });

  it("gives every site a SAN proxy, a shared HotAdd proxy and an NBD-only proxy", () => {
    for (const site of estate.sites) {
      const proxies = estate.proxies.filter((p) => p.siteExternalId === site.externalId);
      expect(proxies.some((p) => p.kind === "physical" && p.transportModes.includes("san")), site.name).toBe(true);
      expect(proxies.some((p) => p.kind === "vm" && p.tenantExternalId === null && p.keyProviderExternalId === null && p.transportModes.includes("hotadd")), site.name).toBe(true);
      expect(proxies.some((p) => p.transportModes.join() === "nbd"), site.name).toBe(true);
    }
  });

  it("gives each tenant, on every site, a dedicated HotAdd proxy encrypted with its own KMS", () => {
    for (const site of estate.sites) {
      for (const tenant of estate.tenants) {
        const good = estate.proxies.filter(
          (p) =>
            p.siteExternalId === site.externalId &&
            p.kind === "vm" &&
            p.tenantExternalId === tenant.externalId &&
            p.transportModes.includes("hotadd") &&
            ix.keyProviders.get(p.keyProviderExternalId ?? "")?.tenantExternalId === tenant.externalId &&
            p.privileges.includes("Cryptographer.Access") &&
            p.privileges.includes("Cryptographer.AddDisk"),
        );
        expect(good.length, `${tenant.name} at ${site.name}`).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it("includes misconfigured HotAdd proxies for the compliance checks to find", () => {
    const wrongKms = estate.proxies.filter(
      (p) => p.tenantExternalId && p.keyProviderExternalId && ix.keyProviders.get(p.keyProviderExternalId)?.tenantExternalId !== p.tenantExternalId,
    );
    const missingAddDisk = estate.proxies.filter((p) => p.keyProviderExternalId && p.transportModes.includes("hotadd") && !p.privileges.includes("Cryptographer.AddDisk"));
    expect(wrongKms.map((p) => p.name)).toEqual(["ams-proxy-globex-02"]);
    expect(missingAddDisk.map((p) => p.name)).toEqual(["rtm-proxy-acme-02"]);
  });
});

describe("generateEstate: scale", () => {
  it("builds 10 000 consistent, uniquely named VMs in well under a second", () => {
    const started = performance.now();
    const big = generateEstate({ vmCount: 10_000 });
    const elapsed = performance.now() - started;
    expect(big.vms).toHaveLength(10_000);
    expect(elapsed).toBeLessThan(1000);
    expect(uniqueness(big)).toEqual([]);
    expect(vmProblems(big)).toEqual([]);
    // Hosts and datastores grow with the estate, but within sane limits.
    expect(big.hosts.length).toBeGreaterThan(estate.hosts.length);
    expect(big.hosts.length).toBeLessThanOrEqual(150);
    const vmfs = big.datastores.filter((d) => d.type === "VMFS");
    expect(vmfs.every((d) => d.capacityBytes <= 64 * 2 ** 40 && d.freeBytes >= 0)).toBe(true);
  });
});

describe("generateEstate: networks and network adapters", () => {
  it("gives every site port groups, with VLANs and the hosts that have them; DR names its own besides VM Network", () => {
    for (const site of estate.sites) {
      const nets = estate.networks.filter((n) => n.siteExternalId === site.externalId);
      const hostIds = new Set(estate.hosts.filter((h) => h.siteExternalId === site.externalId).map((h) => h.externalId));
      expect(nets.length, site.name).toBeGreaterThanOrEqual(5);
      expect(nets.some((n) => n.name === "VM Network" && n.vlanId === 0 && n.hostExternalIds.length === hostIds.size), site.name).toBe(true);
      for (const n of nets) {
        expect(n.hostExternalIds.length, n.name).toBeGreaterThan(0);
        expect(n.hostExternalIds.every((h) => hostIds.has(h)), n.name).toBe(true);
        expect(Number.isInteger(n.vlanId) && n.vlanId >= 0 && n.vlanId <= 4094, n.name).toBe(true);
      }
      // Some port group is missing on some host: "not on this host" is a case the wizard meets.
      expect(nets.some((n) => n.hostExternalIds.length < hostIds.size), site.name).toBe(true);
    }
    expect(new Set(estate.networks.map((n) => n.externalId)).size).toBe(estate.networks.length);
    const names = (role: string) => new Set(estate.networks.filter((n) => estate.sites.find((s) => s.externalId === n.siteExternalId)!.role === role).map((n) => n.name));
    const shared = [...names("production")].filter((n) => names("dr").has(n));
    expect(shared).toEqual(["VM Network"]);
  });

  it("gives every VM one or two adapters on port groups of its own host, with unique vCenter MACs", () => {
    const macs = new Set<string>();
    for (const vm of estate.vms) {
      expect(vm.nics.length, vm.name).toBeGreaterThanOrEqual(1);
      expect(vm.nics.length, vm.name).toBeLessThanOrEqual(2);
      vm.nics.forEach((n, i) => {
        expect(n).toMatchObject({ deviceKey: 4000 + i, label: `Network adapter ${i + 1}` });
        expect(["vmxnet3", "e1000e"]).toContain(n.adapterType);
        const net = estate.networks.find((x) => x.externalId === n.networkExternalId)!;
        expect(net, `${vm.name} ${n.label}`).toBeDefined();
        expect(net.siteExternalId).toBe(vm.siteExternalId);
        expect(net.hostExternalIds).toContain(vm.hostExternalId);
        expect(n.networkName).toBe(net.name);
        expect(n.macAddress).toMatch(/^00:50:56:[89ab][0-9a-f](:[0-9a-f]{2}){2}$/);
        macs.add(n.macAddress);
      });
    }
    expect(macs.size).toBe(estate.vms.reduce((sum, vm) => sum + vm.nics.length, 0));
    // Tenants' VMs sit on their own tenant's network.
    const acme = estate.vms.find((v) => v.tenantExternalId === "tenant-acme" && v.siteExternalId === "vc-prod-ams")!;
    expect(acme.nics[0].networkName).toBe("Acme-Prod VLAN 310");
  });
});
