// The infrastructure of one lab site: hosts in clusters, storage policies, datastores and key
// providers. VMs and proxies are placed on it afterwards (estate-vms.ts, estate-proxies.ts).

import type {
  PlatformDatastore,
  PlatformHost,
  PlatformKeyProvider,
  PlatformSite,
  PlatformStoragePolicy,
} from "../connector";
import { OWNERS, SITES, type SiteKey } from "./estate-catalogue";
import type { MorefAllocator, Rng } from "./random";

/** Key providers of a site, by who owns them. */
export type KeyProviderOwner = "acme" | "globex" | "provider" | "native";

export interface SiteLayout {
  key: SiteKey;
  site: PlatformSite;
  hosts: PlatformHost[];
  /** Hosts that may run VMs: connected ones (a host in maintenance mode has been evacuated). */
  runnableHosts: PlatformHost[];
  policies: {
    encryption: PlatformStoragePolicy;
    managementEncryption: PlatformStoragePolicy;
    vsanDefault: PlatformStoragePolicy;
    vvolDefault: PlatformStoragePolicy;
    datastoreDefault: PlatformStoragePolicy;
  };
  /** Capacity and free space are still zero here; they are sized once the VMs are placed. */
  datastores: PlatformDatastore[];
  /** vSAN datastores belong to one cluster; every other datastore is mounted on all of the site's hosts. */
  vsanCluster: Map<string, string>;
  keyProviders: Record<KeyProviderOwner, PlatformKeyProvider>;
}

const HOSTS_PER_CLUSTER = 16;
const VMS_PER_HOST = 40;
const HOST_LIMITS: Record<SiteKey, { min: number; max: number }> = {
  prod: { min: 4, max: 96 },
  dr: { min: 3, max: 48 },
};
const KMIP_PORT = 5696;

const pad = (n: number) => String(n).padStart(2, "0");
const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

export function buildSiteLayout(key: SiteKey, vmCount: number, ids: MorefAllocator, rng: Rng): SiteLayout {
  const def = SITES[key];
  const site: PlatformSite = {
    externalId: def.externalId,
    name: def.name,
    role: def.role,
    vcenterHost: def.vcenterHost,
    location: def.location,
  };
  const hosts = buildHosts(key, vmCount, ids, rng);
  const policies = buildPolicies(site.externalId, rng);
  const { datastores, vsanCluster } = buildDatastores(key, vmCount, hosts, policies, ids);
  return {
    key,
    site,
    hosts,
    runnableHosts: hosts.filter((h) => h.connectionState === "connected"),
    policies,
    datastores,
    vsanCluster,
    keyProviders: buildKeyProviders(key),
  };
}

function buildHosts(key: SiteKey, vmCount: number, ids: MorefAllocator, rng: Rng): PlatformHost[] {
  const def = SITES[key];
  const limits = HOST_LIMITS[key];
  const count = clamp(Math.ceil(vmCount / VMS_PER_HOST), limits.min, limits.max);
  const hosts: PlatformHost[] = [];
  let hardware = { cpuCores: 0, memoryGiB: 0 };
  for (let i = 0; i < count; i++) {
    const clusterIndex = Math.floor(i / HOSTS_PER_CLUSTER);
    // Clusters are bought as a batch, so hosts inside one cluster share their hardware.
    if (i % HOSTS_PER_CLUSTER === 0) hardware = { cpuCores: rng.pick([32, 48, 64]), memoryGiB: rng.pick([512, 768, 1024]) };
    hosts.push({
      externalId: ids.next("host"),
      siteExternalId: def.externalId,
      name: `esx${pad(i + 1)}.${def.domain}`,
      cluster: `${def.short.toUpperCase()}-Cluster-${pad(clusterIndex + 1)}`,
      esxiVersion: def.esxiVersion,
      ...hardware,
      connectionState: "connected",
    });
  }
  // DR's last host is being patched: it stays in the inventory but runs nothing.
  if (key === "dr") hosts[hosts.length - 1].connectionState = "maintenance";
  return hosts;
}

function buildPolicies(siteExternalId: string, rng: Rng): SiteLayout["policies"] {
  // vSphere storage policy ids are UUIDs (profile ids), not morefs.
  const policy = (name: string, encryption: boolean, description: string): PlatformStoragePolicy => ({
    externalId: rng.uuid(),
    siteExternalId,
    name,
    encryption,
    description,
  });
  return {
    encryption: policy("VM Encryption Policy", true, "Sample storage policy: encrypts the VM home and its virtual disks with the host-based VM encryption rule."),
    managementEncryption: policy("Management Storage Policy - Encryption", true, "Management policy with the host-based VM encryption rule, for infrastructure VMs."),
    vsanDefault: policy("vSAN Default Storage Policy", false, "vSAN default: RAID-1, one failure to tolerate, no encryption rule."),
    vvolDefault: policy("VVol No Requirements Policy", false, "Virtual Volumes with no storage requirements."),
    datastoreDefault: policy("Datastore Default", false, "No requirements: the datastore's own defaults, no encryption rule."),
  };
}

function buildDatastores(
  key: SiteKey,
  vmCount: number,
  hosts: PlatformHost[],
  policies: SiteLayout["policies"],
  ids: MorefAllocator,
): { datastores: PlatformDatastore[]; vsanCluster: Map<string, string> } {
  const siteExternalId = SITES[key].externalId;
  const datastores: PlatformDatastore[] = [];
  const vsanCluster = new Map<string, string>();
  const encryptionIds = [policies.encryption.externalId, policies.managementEncryption.externalId];
  const add = (name: string, type: PlatformDatastore["type"], compatible: string[]) => {
    const ds: PlatformDatastore = {
      externalId: ids.next("datastore"),
      siteExternalId,
      name,
      type,
      capacityBytes: 0,
      freeBytes: 0,
      // Every datastore meets "Datastore Default": it asks for nothing.
      compatiblePolicyExternalIds: [policies.datastoreDefault.externalId, ...compatible],
    };
    datastores.push(ds);
    return ds;
  };

  const clusters = [...new Set(hosts.map((h) => h.cluster))];
  clusters.forEach((cluster, i) => {
    const ds = add(`ds-${key}-vsan-${pad(i + 1)}`, "vSAN", [policies.vsanDefault.externalId, ...encryptionIds]);
    vsanCluster.set(ds.externalId, cluster);
  });

  // One VMFS datastore in three sits on an older array whose profile excludes the encryption rule,
  // so datastore pickers always have compatible and incompatible VMFS datastores to tell apart.
  const vmfsCount = Math.max(key === "prod" ? 3 : 2, Math.ceil(vmCount / 40));
  let modern = 0;
  let legacy = 0;
  for (let i = 0; i < vmfsCount; i++) {
    if (i % 3 === 1) add(`ds-${key}-legacy-${pad(++legacy)}`, "VMFS", []);
    else add(`ds-${key}-vmfs-${pad(++modern)}`, "VMFS", encryptionIds);
  }

  // NFS exports hold templates, test VMs and file shares; the lab's NFS is never encryption-compatible.
  const nfsCount = Math.max(1, Math.ceil(vmCount / 300));
  for (let i = 0; i < nfsCount; i++) add(`ds-${key}-nfs-${pad(i + 1)}`, "NFS", []);

  if (key === "prod") add("ds-prod-vvol-01", "vVol", [policies.vvolDefault.externalId, ...encryptionIds]);
  return { datastores, vsanCluster };
}

function buildKeyProviders(key: SiteKey): Record<KeyProviderOwner, PlatformKeyProvider> {
  const def = SITES[key];
  // A standard provider has the same name and servers on both sites: in vSphere the provider name
  // is part of a VM's keyId, so DR must register the tenant's KMS under the same name to open its VMs.
  const standard = (owner: "acme" | "globex" | "provider", name: string, domain: string): PlatformKeyProvider => ({
    externalId: `kp-${def.short}-${owner}`,
    siteExternalId: def.externalId,
    name,
    kind: "standard",
    servers: [1, 2].map((n) => ({ host: `kms${n}.${domain}`, port: KMIP_PORT })),
    tenantExternalId: OWNERS[owner].tenant?.externalId ?? null,
    isDefault: false,
  });
  const acme = OWNERS.acme.tenant!;
  const globex = OWNERS.globex.tenant!;
  const providers: Record<KeyProviderOwner, PlatformKeyProvider> = {
    acme: standard("acme", `${acme.name} KMS`, acme.kmsDomain),
    globex: standard("globex", `${globex.name} KMS`, globex.kmsDomain),
    provider: standard("provider", "Provider KMS", "provider.example"),
    native: {
      externalId: `kp-${def.short}-native`,
      siteExternalId: def.externalId,
      name: `Native Key Provider (${def.location.split(",")[0]})`,
      kind: "native",
      servers: [],
      tenantExternalId: null,
      isDefault: false,
    },
  };
  // Production defaults to the provider's KMS; DR was built later and defaults to its native provider.
  providers[key === "prod" ? "provider" : "native"].isDefault = true;
  return providers;
}
