// The lab's backup proxies (TRN-1, TRN-3, TRN-6). Each site gets the mix an administrator of a
// service provider would run, plus one proxy that is wrong on purpose, so that proxy selection and
// the compliance analyzer (SEC-5) have something real to catch.

import type { CryptoPrivilege, PlatformHost, PlatformProxy, TransportMode } from "../connector";
import { OWNERS, SITES } from "./estate-catalogue";
import type { KeyProviderOwner, SiteLayout } from "./estate-infra";
import type { MorefAllocator, Rng } from "./random";

const BOTH: CryptoPrivilege[] = ["Cryptographer.Access", "Cryptographer.AddDisk"];
const ACCESS_ONLY: CryptoPrivilege[] = ["Cryptographer.Access"];

interface VmProxyDef {
  name: string;
  modes: TransportMode[];
  maxTasks: readonly number[];
  keyProvider: KeyProviderOwner | null;
  tenant: "acme" | "globex" | null;
  privileges: CryptoPrivilege[];
  cluster?: string;
}

export function buildProxies(layout: SiteLayout, ids: MorefAllocator, rng: Rng): PlatformProxy[] {
  const short = SITES[layout.key].short;
  const siteExternalId = layout.site.externalId;
  const proxies: PlatformProxy[] = [
    // A physical server zoned into the SAN. Shared by everyone; useless for encrypted disks in SAN
    // mode (TRN-2), so it also speaks NBD/NBDSSL.
    {
      externalId: `proxy-${short}-phys-01`,
      siteExternalId,
      name: `${short}-proxy-phys-01`,
      kind: "physical",
      hostExternalId: null,
      transportModes: ["san", "nbd", "nbdssl"],
      maxTasks: 8,
      keyProviderExternalId: null,
      tenantExternalId: null,
      privileges: ACCESS_ONLY,
    },
  ];

  const defs: VmProxyDef[] = [];
  // One shared, unencrypted HotAdd proxy per cluster: HotAdd needs the proxy next to the disks.
  const clusters = [...new Set(layout.runnableHosts.map((h) => h.cluster))];
  clusters.forEach((cluster, i) =>
    defs.push({
      name: `${short}-proxy-hotadd-${String(i + 1).padStart(2, "0")}`,
      modes: ["hotadd", "nbd", "nbdssl"],
      maxTasks: [4, 6],
      keyProvider: null,
      tenant: null,
      privileges: BOTH,
      cluster,
    }),
  );
  // Distributed NBD: a small appliance that only streams over the management network.
  defs.push({ name: `${short}-proxy-nbd-01`, modes: ["nbd"], maxTasks: [2, 4], keyProvider: null, tenant: null, privileges: ACCESS_ONLY });
  // Dedicated HotAdd per tenant: encrypted with the tenant's own KMS, so it may hot-add that
  // tenant's encrypted disks (TRN-3), with NBDSSL as the fallback.
  for (const tenant of ["acme", "globex"] as const) {
    defs.push({ name: `${short}-proxy-${tenant}-01`, modes: ["hotadd", "nbdssl"], maxTasks: [4], keyProvider: tenant, tenant, privileges: BOTH });
  }
  defs.push(misconfiguredProxy(layout.key, short));

  for (const def of defs) {
    const hosts = def.cluster ? layout.runnableHosts.filter((h) => h.cluster === def.cluster) : layout.runnableHosts;
    const host: PlatformHost = rng.pick(hosts);
    proxies.push({
      externalId: ids.next("vm"), // a VM proxy is a VM in vCenter and gets a VM moref
      siteExternalId,
      name: def.name,
      kind: "vm",
      hostExternalId: host.externalId,
      transportModes: def.modes,
      maxTasks: rng.pick(def.maxTasks),
      keyProviderExternalId: def.keyProvider ? layout.keyProviders[def.keyProvider].externalId : null,
      tenantExternalId: def.tenant ? OWNERS[def.tenant].tenant!.externalId : null,
      privileges: def.privileges,
    });
  }
  return proxies;
}

/**
 * Deliberate mistakes, one per site:
 * - production: a second Globex proxy cloned from the Acme template, so it is encrypted with Acme's
 *   KMS. HotAdd of Globex's encrypted disks fails on it (TRN-3, TRN-5).
 * - DR: a second Acme proxy whose role lacks Cryptographer.AddDisk, so HotAdd of encrypted disks is
 *   refused even though the key provider matches.
 */
function misconfiguredProxy(key: SiteLayout["key"], short: string): VmProxyDef {
  return key === "prod"
    ? { name: `${short}-proxy-globex-02`, modes: ["hotadd", "nbdssl"], maxTasks: [4], keyProvider: "acme", tenant: "globex", privileges: BOTH }
    : { name: `${short}-proxy-acme-02`, modes: ["hotadd", "nbdssl"], maxTasks: [2], keyProvider: "acme", tenant: "acme", privileges: ACCESS_ONLY };
}
